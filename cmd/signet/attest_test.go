package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/registrytest"
)

func TestAttestCommands(t *testing.T) {
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("SIGNET_HOME", t.TempDir())
	reg := registrytest.New(t, true)
	img := reg.PushImage(t, "team/app:v1").String()
	key := filepath.Join(t.TempDir(), "k")
	generateKey(t, key)
	td := "../../attest/testdata/"
	for _, c := range [][]string{{"cyclonedx", "sbom.cdx.json"}, {"vuln", "trivy.json"}} {
		out, stderr, code := signet(t, "attest", "--no-tlog", "--key", key+".key", "--type", c[0], "--predicate", td+c[1], img)
		if code != exitOK || !strings.Contains(out, "Attested") {
			t.Fatalf("attest %s: %d\n%s\n%s", c[0], code, out, stderr)
		}
	}
	cases := []struct {
		args []string
		code int
		text string
	}{
		{[]string{"verify-attestation", "--key", key + ".pub", "--type", "cyclonedx", "--condition", "size(predicate.components) == 2", img}, exitOK, "verified"},
		{[]string{"verify-attestation", "--key", key + ".pub", "--type", "vuln", "--condition", "predicate.scanner.result.summary.fixable.critical == 0", img}, exitInvalid, "condition is false"},
		{[]string{"verify-attestation", "--key", key + ".pub", "--type", "vuln", "--condition", "predicate.(", img}, exitUsage, "invalid condition"},
		{[]string{"verify-attestation", "--key", key + ".pub", "--type", "cyclonedx", "--condition", "size(predicate.components) == 2", img}, exitOK, "✓ condition size(predicate.components) == 2"},
		{[]string{"verify-attestation", "--key", key + ".pub", "--type", "cyclonedx", img}, exitOK, "(1 other attached artifacts are not cyclonedx attestations)"},
		{[]string{"verify-attestation", "--key", key + ".pub", "--type", "spdxjson", img}, exitNoSignatures, "no attestations of type spdxjson (https://spdx.dev/Document) found"},
		{[]string{"verify-attestation", "--key", key + ".pub", "--type", "spdxjson", "-o", "json", img}, exitNoSignatures, `"error": "` + img + " (sha256:"},
		{[]string{"attest", "--no-tlog", "--key", key + ".key", "--type", "cyclonedx", "--predicate", td + "trivy.json", img}, exitError, "a Trivy report (use --type vuln)"},
		{[]string{"attest", "--key", key + ".key", "--predicate", td + "trivy.json", img}, exitUsage, "--type is required"},
	}
	for _, tc := range cases {
		out, stderr, code := signet(t, tc.args...)
		if code != tc.code || !strings.Contains(out+stderr, tc.text) {
			t.Errorf("%v: exit %d (want %d), output lacks %q:\n%s\n%s", tc.args, code, tc.code, tc.text, out, stderr)
		}
	}
	out, _, code := signet(t, "verify-attestation", "--key", key+".pub", "--type", "cyclonedx", "--condition", "size(predicate.components) == 2", "-o", "json", img)
	var reps []attestationReport
	if err := json.Unmarshal([]byte(out), &reps); err != nil || code != exitOK || len(reps) != 1 {
		t.Fatalf("verify-attestation -o json: exit %d, %v\n%s", code, err, out)
	}
	if r := reps[0]; r.PredicateType != "https://cyclonedx.org/bom" || r.Condition != "size(predicate.components) == 2" ||
		r.Result == nil || !r.Result.Verified || len(r.Result.Attestations) != 1 || r.Result.Ignored != 1 || !strings.Contains(out, `"attestations": [`) {
		t.Fatalf("verify-attestation -o json: %s", out)
	}
	out, _, code = signet(t, "download", "attestation", "--type", "vuln", img)
	var st map[string]any
	if code != exitOK || json.Unmarshal([]byte(strings.TrimSpace(out)), &st) != nil || st["predicateType"] != "https://cosign.sigstore.dev/attestation/vuln/v1" {
		t.Fatalf("download: %d %s", code, out)
	}
	t.Setenv("GITHUB_ACTIONS", "")
	t.Setenv("GITLAB_CI", "")
	out, _, code = signet(t, "provenance", "generate", "--builder-id", "https://ci.example.com", "--param", "target=release")
	if code != exitOK || !strings.Contains(out, `"id": "https://ci.example.com"`) {
		t.Fatalf("provenance: %d %s", code, out)
	}
}
