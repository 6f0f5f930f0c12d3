package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/registrytest"
)

func TestVerifyPolicyCommand(t *testing.T) {
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("SIGNET_HOME", t.TempDir())
	dir := t.TempDir()
	reg := registrytest.New(t, true)
	good := reg.PushImage(t, "team/app:v1")
	bad := reg.PushImage(t, "team/app:v2")
	key := filepath.Join(dir, "release")
	if _, stderr, code := signet(t, "keys", "generate", "--output-prefix", key); code != exitOK {
		t.Fatal(stderr)
	}
	for _, img := range []string{good.String(), bad.String()} {
		if _, stderr, code := signet(t, "sign", "--no-tlog", "--key", key+".key", img); code != exitOK {
			t.Fatal(stderr)
		}
	}
	td := "../../attest/testdata/"
	signet(t, "attest", "--no-tlog", "--key", key+".key", "--type", "vuln", "--predicate", td+"grype.json", good.String())
	signet(t, "attest", "--no-tlog", "--key", key+".key", "--type", "vuln", "--predicate", td+"trivy.json", bad.String())
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte(`apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "`+reg.Host+`/team/**"
    signers: [{name: release, key: release.pub}]
    attestations:
      - name: scan
        predicateType: vuln
        condition: predicate.scanner.result.summary.fixable.critical == 0
`), 0o644)

	out, _, code := signet(t, "verify", "--policy", pol, "--explain", good.String())
	if code != exitOK || !strings.Contains(out, "✓ ALLOWED") || !strings.Contains(out, "✓ signatures: 1 of 1 required signers: release") {
		t.Fatalf("good: %d\n%s", code, out)
	}
	out, _, code = signet(t, "verify", "--policy", pol, "--explain", bad.String())
	if code != exitPolicyDenied || !strings.Contains(out, "✗ DENIED") || !strings.Contains(out, "condition is false") {
		t.Fatalf("bad: %d\n%s", code, out)
	}
	out, _, code = signet(t, "verify", "--policy", pol, "-o", "json", good.String(), bad.String())
	var ds []map[string]any
	if code != exitPolicyDenied || json.Unmarshal([]byte(out), &ds) != nil || ds[0]["allowed"] != true || ds[1]["class"] != "policy-denied" {
		t.Fatalf("json: %d\n%s", code, out)
	}
	if out, _, code = signet(t, "policy", "validate", pol); code != exitOK || !strings.Contains(out, "valid, 1 rules") || !strings.Contains(out, "policy digest ") {
		t.Fatalf("validate: %d %s", code, out)
	}
	if out, _, code = signet(t, "policy", "explain", pol, reg.Host+"/team/app:v9"); code != exitOK || !strings.Contains(out, "→ applies") {
		t.Fatalf("explain: %d %s", code, out)
	}
	os.WriteFile(pol, []byte("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: x\n    colour: red\n"), 0o644)
	if _, stderr, code := signet(t, "policy", "validate", pol); code != exitUsage || !strings.Contains(stderr, "line 5") {
		t.Fatalf("invalid: %d %s", code, stderr)
	}
	lock := filepath.Join(dir, "signet.lock")
	if out, _, code := signet(t, "lock", "--file", lock, reg.Host+"/team/app:v1"); code != exitOK || !strings.Contains(out, good.DigestStr()) {
		t.Fatalf("lock: %d %s", code, out)
	}
}
