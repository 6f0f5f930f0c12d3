package policy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/policy"
)

// TestDigestCoversKeyMaterial: the policy digest (which caches and gate
// receipts are keyed by) changes when anything the document names
// changes — a key file, a gate key, the lock file, the signed-heads root —
// and not when the same material is loaded from another directory.
func TestDigestCoversKeyMaterial(t *testing.T) {
	t.Parallel()
	other, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	otherPEM, _ := keys.PublicKeyPEM(other.Public())
	doc := []byte(header + `images:
  - pattern: "registry.example.com/prod/**"
    signers: [{name: release, key: release.pub}]
    tags:
      lock: release.lock
      signedHeads: {required: true, root: root.json}
receipts:
  gates: [{name: push-gate, key: gate.pub}]
`)
	files := map[string]string{
		"release.pub":  pubPEM,
		"gate.pub":     pubPEM,
		"release.lock": `{"apiVersion":"signet.dev/v1alpha1","kind":"Lock","images":[{"ref":"registry.example.com/prod/app:v1","digest":"sha256:` + strings.Repeat("a", 64) + `"}]}`,
		"root.json":    `{"signed":{"_type":"root","version":1}}`,
	}
	digest := func(t *testing.T, change map[string]string) string {
		t.Helper()
		dir := t.TempDir()
		for f, content := range files {
			if c, ok := change[f]; ok {
				content = c
			}
			if err := os.WriteFile(filepath.Join(dir, f), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		c, err := policy.Compile(doc, dir, keys.Loader{})
		if err != nil {
			t.Fatal(err)
		}
		return c.Hash
	}
	base := digest(t, nil)
	if again := digest(t, nil); again != base {
		t.Fatalf("the same document and files in another directory: digest %s, then %s", base, again)
	}
	cases := []struct{ name, file, content string }{
		{"release key file replaced", "release.pub", string(otherPEM)},
		{"gate key file replaced", "gate.pub", string(otherPEM)},
		{"lock file changed", "release.lock", `{"apiVersion":"signet.dev/v1alpha1","kind":"Lock","images":[{"ref":"registry.example.com/prod/app:v1","digest":"sha256:` + strings.Repeat("b", 64) + `"}]}`},
		{"signed-heads root changed", "root.json", `{"signed":{"_type":"root","version":2}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := digest(t, map[string]string{tc.file: tc.content}); got == base {
				t.Fatalf("%s next to an unchanged policy, but the digest stayed %s", tc.file, got)
			}
		})
	}
}
