package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyErrorsForPeople: an invalid policy is reported in the
// document's terms — the field, its line and the nearest valid field, one
// problem per line, no Go type names — by `policy validate` and by every
// command that loads a policy; one missing key file is one problem.
func TestPolicyErrorsForPeople(t *testing.T) {
	t.Setenv("SIGNET_HOME", t.TempDir())
	dir := t.TempDir()
	pub, err := os.ReadFile("../../keys/testdata/cosign.pub")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "release.pub"), pub, 0o644)
	typo := filepath.Join(dir, "typo.yaml")
	os.WriteFile(typo, []byte(`apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "127.0.0.1:5077/**"
    transparencyLogs: required
    signers: [{name: release, key: release.pub}]
`), 0o644)
	_, stderr, code := signet(t, "policy", "validate", typo)
	want := "Error: " + typo + ": invalid policy: line 5: images[0]: unknown field transparencyLogs; did you mean transparencyLog?\n"
	if code == exitOK || stderr != want {
		t.Errorf("validate typo.yaml: exit %d, stderr:\n%s\nwant:\n%s", code, stderr, want)
	}

	several := filepath.Join(dir, "several.yaml")
	os.WriteFile(several, []byte(`apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "https://registry.example.com/team/**"
    signers:
      - {name: release, key: release.pub}
      - {name: qa, key: qa.pub}
    attestations: [{predicateType: vuln, signers: [qa]}]
`), 0o644)
	wantLines := []string{
		"Error: " + several + ": invalid policy (2 problems):",
		`  line 4: images[0].pattern: the pattern can never match an image reference: "https://" is a URL scheme; image references have none: write registry.example.com/team/**`,
		"  line 7: images[0].signers[1].key: ",
	}
	for _, args := range [][]string{
		{"policy", "validate", several},
		{"policy", "explain", several, "registry.example.com/team/app:v1"},
		{"verify", "--policy", several, "registry.example.com/team/app:v1"},
	} {
		_, stderr, code := signet(t, args...)
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		ok := code != exitOK && len(lines) == len(wantLines)
		for i := 0; ok && i < len(lines); i++ {
			ok = strings.HasPrefix(lines[i], wantLines[i])
		}
		if !ok || strings.Contains(stderr, "no signer named") || strings.Contains(stderr, "policy.") {
			t.Errorf("%s: exit %d, stderr:\n%s\nwant lines starting:\n%s", strings.Join(args[:2], " "), code, stderr, strings.Join(wantLines, "\n"))
		}
	}
}
