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
	generateKey(t, key)
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
	// A signature by the release key refused for another reason counted for
	// no signer: said so, not "unknown signer" (the key is known).
	strict := filepath.Join(dir, "strict.yaml")
	os.WriteFile(strict, []byte(`apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "`+reg.Host+`/team/**"
    transparencyLog: required
    signers: [{name: release, key: release.pub}]
`), 0o644)
	out, _, code = signet(t, "verify", "--policy", strict, "--explain", good.String())
	if code != exitPolicyDenied || !strings.Contains(out, "no signer established") || strings.Contains(out, "unknown signer") {
		t.Fatalf("unlogged under transparencyLog required: %d\n%s", code, out)
	}
	out, _, code = signet(t, "verify", "--policy", pol, "-o", "json", good.String(), bad.String())
	var ds []map[string]any
	if code != exitPolicyDenied || json.Unmarshal([]byte(out), &ds) != nil || ds[0]["allowed"] != true || ds[1]["class"] != "policy-denied" {
		t.Fatalf("json: %d\n%s", code, out)
	}
	if out, _, code = signet(t, "policy", "validate", pol); code != exitOK || !strings.Contains(out, "valid, 1 rule,") || !strings.Contains(out, "policy digest ") {
		t.Fatalf("validate: %d %s", code, out)
	}
	if out, _, code = signet(t, "policy", "explain", pol, reg.Host+"/team/app:v9"); code != exitOK || !strings.Contains(out, "→ applies") {
		t.Fatalf("explain: %d %s", code, out)
	}
	os.WriteFile(pol, []byte("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: x\n    colour: red\n"), 0o644)
	if _, stderr, code := signet(t, "policy", "validate", pol); code != exitError || !strings.Contains(stderr, "line 5") {
		t.Fatalf("invalid: %d %s", code, stderr)
	}
	lock := filepath.Join(dir, "signet.lock")
	if out, _, code := signet(t, "lock", "--file", lock, reg.Host+"/team/app:v1"); code != exitOK || !strings.Contains(out, good.DigestStr()) {
		t.Fatalf("lock: %d %s", code, out)
	}
}

// TestPolicyCommandsShowNormalizedPatterns: validate and explain show the
// spelling a pattern is matched in when it differs from the document's, and
// explain refuses a reference that has no canonical spelling.
func TestPolicyCommandsShowNormalizedPatterns(t *testing.T) {
	t.Setenv("SIGNET_HOME", t.TempDir())
	dir := t.TempDir()
	pub, err := os.ReadFile("../../keys/testdata/cosign.pub")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "release.pub"), pub, 0o644)
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte(`apiVersion: signet.dev/v1alpha1
kind: Policy
defaultAction: allow
images:
  - pattern: "REGISTRY.EXAMPLE.COM:443/prod/**"
    signers: [{name: release, key: release.pub}]
  - pattern: "nginx:*"
    signers: [{name: release, key: release.pub}]
  - pattern: "registry.example.com:5000/**"
    signers: [{name: release, key: release.pub}]
`), 0o644)
	out, stderr, code := signet(t, "policy", "validate", pol)
	for _, want := range []string{
		`images[0] "REGISTRY.EXAMPLE.COM:443/prod/**" is matched as "registry.example.com/prod/**"`,
		`images[1] "nginx:*" is matched as "docker.io/library/nginx:*"`,
	} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("validate: exit %d, output lacks %q:\n%s%s", code, want, out, stderr)
		}
	}
	if strings.Contains(out, "images[2]") {
		t.Errorf("validate lists images[2], whose pattern is already canonical:\n%s", out)
	}
	for _, tc := range []struct{ image, want string }{
		{"registry.example.com.:443/prod/app:1", `registry.example.com.:443/prod/app:1 is matched as registry.example.com/prod/app:1`},
		{"registry.example.com/prod/app:1", `→ applies     images[0] "REGISTRY.EXAMPLE.COM:443/prod/**" (matched as "registry.example.com/prod/**") (mode enforce)`},
		{"index.docker.io/library/nginx:1", `→ applies     images[1] "nginx:*" (matched as "docker.io/library/nginx:*")`},
		{"registry.example.com:5000/x:1", `→ applies     images[2] "registry.example.com:5000/**" (mode enforce)`},
		{"registry.example.com:5001/prod/app:1", "no rule matches: defaultAction allow"},
	} {
		out, stderr, code := signet(t, "policy", "explain", pol, tc.image)
		if code != exitOK || !strings.Contains(out, tc.want) {
			t.Errorf("explain %s: exit %d, output lacks %q:\n%s%s", tc.image, code, tc.want, out, stderr)
		}
	}
	_, stderr, code = signet(t, "policy", "explain", pol, "registry.example.com/prod/../evil:1")
	if code != exitUsage || !strings.Contains(stderr, "cannot be matched to a policy rule") || !strings.Contains(stderr, `".."`) {
		t.Errorf("explain of a path with ..: exit %d, want %d and the refusal:\n%s", code, exitUsage, stderr)
	}
}

// TestVerifyPolicyThresholdShortfall: under a policy every denial exits 6,
// and the class of the failed check tells them apart: a valid signature
// from too few of the required signers is policy-denied, not "no valid
// signature" (invalid); no valid signature at all is invalid, none at all
// not-found.
func TestVerifyPolicyThresholdShortfall(t *testing.T) {
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("SIGNET_HOME", t.TempDir())
	dir := t.TempDir()
	reg := registrytest.New(t, true)
	for _, k := range []string{"release", "qa", "stranger"} {
		if _, stderr, code := signet(t, "keys", "generate", "--output-prefix", filepath.Join(dir, k)); code != exitOK {
			t.Fatal(stderr)
		}
	}
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte(`apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "`+reg.Host+`/team/**"
    threshold: 2
    signers: [{name: release, key: release.pub}, {name: qa, key: qa.pub}]
`), 0o644)
	for _, tc := range []struct {
		name    string
		signers []string
		want    int
		reason  string
	}{
		{"one of two signers", []string{"release"}, exitPolicyDenied, "signatures [policy-denied]: 1 of 2 required signers: release; the rule needs 2 different signers"},
		{"one of two signers and a stranger", []string{"release", "stranger"}, exitPolicyDenied, "1 of 2 required signers: release; the rule needs 2 different signers; no valid signature by qa; refused: "},
		{"both signers", []string{"release", "qa"}, exitOK, ""},
		{"a stranger only", []string{"stranger"}, exitPolicyDenied, "signatures [invalid]: 0 of 2 required signers: none; refused: "},
		{"nobody", nil, exitPolicyDenied, "signatures [not-found]: 0 of 2 required signers: none; no signatures found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := reg.PushImage(t, "team/app:"+strings.ReplaceAll(tc.name, " ", "-"))
			for _, k := range tc.signers {
				if _, stderr, code := signet(t, "sign", "--no-tlog", "--key", filepath.Join(dir, k+".key"), img.String()); code != exitOK {
					t.Fatal(stderr)
				}
			}
			out, stderr, code := signet(t, "verify", "--policy", pol, img.String())
			if code != tc.want || !strings.Contains(out+stderr, tc.reason) {
				t.Fatalf("exit %d, want %d with %q:\n%s%s", code, tc.want, tc.reason, out, stderr)
			}
		})
	}
}
