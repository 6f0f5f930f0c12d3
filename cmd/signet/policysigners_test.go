package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyExplainDescribesSigners: explain says what each signer of the
// applying rule trusts, in the document's terms.
func TestPolicyExplainDescribesSigners(t *testing.T) {
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
images:
  - pattern: "registry.example.com/**"
    threshold: 2
    signers:
      - {name: release, key: release.pub}
      - {name: build, github: {workflow: acme/app/.github/workflows/release.yml@refs/heads/main, runnerEnvironment: github-hosted}}
`), 0o644)
	out, stderr, code := signet(t, "policy", "explain", pol, "registry.example.com/app:1")
	for _, want := range []string{
		"requires: 2 of signers [release, build]",
		"  signer release: key ",
		"  signer build: GitHub workflow acme/app/.github/workflows/release.yml@refs/heads/main, built from https://github.com/acme/app on a github-hosted runner, issuer https://token.actions.githubusercontent.com\n",
	} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("explain: exit %d, output lacks %q:\n%s%s", code, want, out, stderr)
		}
	}
}
