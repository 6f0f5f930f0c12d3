package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/registrytest"
)

// TestLayoutCommands: verify, verify --policy, inspect, attest and
// verify-attestation on images in an OCI layout directory, with the exit
// codes and reasons a user sees.
func TestLayoutCommands(t *testing.T) {
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("SIGNET_HOME", t.TempDir())
	dir := t.TempDir()
	reg := registrytest.New(t, true)
	signed := reg.PushImage(t, "team/app:v1")
	unsigned := reg.PushImage(t, "team/app:v2")
	key := filepath.Join(dir, "release")
	generateKey(t, key)
	if _, stderr, code := signet(t, "sign", "--no-tlog", "--key", key+".key", signed.String()); code != exitOK {
		t.Fatal(stderr)
	}
	lay := filepath.Join(dir, "layout")
	registrytest.CopyToLayout(t, lay, signed, registrytest.LayoutCopy{Tag: "v1"})
	registrytest.CopyToLayout(t, lay, unsigned, registrytest.LayoutCopy{Tag: "v2"})
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte(`apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "`+reg.Host+`/team/**"
    signers: [{name: release, key: release.pub}]
  - pattern: "**"
    mode: audit
`), 0o644)
	ref := "oci-layout:" + lay
	repo := "--layout-repository=" + reg.Host + "/team/app"

	cases := []struct {
		name string
		args []string
		code int
		text string
	}{
		{"verified", []string{"verify", "--key", key + ".pub", ref + ":v1"}, exitOK, "verified"},
		{"by digest", []string{"verify", "--key", key + ".pub", ref + "@" + signed.DigestStr()}, exitOK, "verified"},
		{"no signatures", []string{"verify", "--key", key + ".pub", ref + ":v2"}, exitNoSignatures, "no signatures found"},
		{"missing tag", []string{"verify", "--key", key + ".pub", ref + ":v3"}, exitRegistry, "its tags: v1, v2"},
		{"not a layout", []string{"verify", "--key", key + ".pub", "oci-layout:" + dir + ":v1"}, exitError, "no oci-layout file"},
		{"bad reference", []string{"verify", "--key", key + ".pub", ref + ":"}, exitUsage, "the tag after ':' is empty"},
		{"bare dir, two images", []string{"verify", "--key", key + ".pub", ref}, exitUsage, "holds 2 images, not one"},
		{"policy without a repository", []string{"verify", "--policy", pol, ref + ":v1"}, exitUsage, "--layout-repository"},
		{"policy with its repository", []string{"verify", "--policy", pol, repo, ref + ":v1"}, exitOK, "ALLOWED"},
		{"policy, unsigned", []string{"verify", "--policy", pol, repo, ref + ":v2"}, exitPolicyDenied, "DENIED"},
		{"inspect", []string{"inspect", ref + ":v1"}, exitOK, "oci-layout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := signet(t, tc.args...)
			if code != tc.code || !strings.Contains(out+stderr, tc.text) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s\n%s", code, tc.code, tc.text, out, stderr)
			}
		})
	}

	t.Run("attest into the layout, then verify the attestation there", func(t *testing.T) {
		td := "../../attest/testdata/"
		if out, stderr, code := signet(t, "attest", "--no-tlog", "--key", key+".key", "--type", "cyclonedx", "--predicate", td+"sbom.cdx.json", ref+":v1"); code != exitOK || !strings.Contains(out, "oci-layout") {
			t.Fatalf("attest: %d\n%s\n%s", code, out, stderr)
		}
		if out, stderr, code := signet(t, "verify-attestation", "--key", key+".pub", "--type", "cyclonedx", ref+":v1"); code != exitOK {
			t.Fatalf("verify-attestation: %d\n%s\n%s", code, out, stderr)
		}
		if _, _, code := signet(t, "verify-attestation", "--key", key+".pub", "--type", "cyclonedx", signed.String()); code != exitNoSignatures {
			t.Fatalf("the registry image got the layout's attestation: exit %d, want %d", code, exitNoSignatures)
		}
	})
}
