package policy_test

import (
	"strings"
	"testing"

	"github.com/signet-dev/signet/policy"
)

func mirrorDoc(mirrors string) string {
	return `apiVersion: signet.dev/v1alpha1
kind: Policy
mirrors:
` + mirrors + `
images:
  - pattern: "registry.example.com/**"
    mode: audit
`
}

func TestMirrorsCompile(t *testing.T) {
	cases := []struct {
		name, mirrors, err string
	}{
		{"repository prefix", "  - {mirror: mirror.internal/acme, origin: registry.example.com/acme}", ""},
		{"registry", "  - {mirror: MIRROR.internal:443, origin: registry.example.com}", ""},
		{"wildcard", "  - {mirror: mirror.internal/*, origin: registry.example.com}", "is not a prefix"},
		{"tag", "  - {mirror: mirror.internal/acme@sha256:00, origin: registry.example.com}", "is not a prefix"},
		{"empty origin", "  - {mirror: mirror.internal}", "is empty"},
		{"no registry", "  - {mirror: acme/app, origin: registry.example.com}", "does not start with a registry host"},
		{"onto itself", "  - {mirror: registry.example.com/acme/m, origin: registry.example.com/acme}", "overlap"},
		{"twice", "  - {mirror: mirror.internal, origin: a.example.com}\n  - {mirror: mirror.internal, origin: b.example.com}", "copies one origin"},
		{"a mirror of a mirror", "  - {mirror: m2.internal, origin: mirror.internal/acme}\n  - {mirror: mirror.internal, origin: registry.example.com}", "itself under the mirror"},
		{"layout pseudo-registry", "  - {mirror: oci-layout.invalid, origin: registry.example.com}", "pseudo-registry"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compile(t, mirrorDoc(tc.mirrors))
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("err = %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestMirrorOrigin(t *testing.T) {
	c, err := compile(t, mirrorDoc(`  - {mirror: mirror.internal, origin: registry.example.com}
  - {mirror: mirror.internal/acme, origin: other.example.com/acme-prod}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"mirror.internal/acme/app:v1", "other.example.com/acme-prod/app:v1"}, // the longest prefix wins
		{"mirror.internal/acme-evil/app:v1", "registry.example.com/acme-evil/app:v1"},
		{"mirror.internal/team/app@sha256:" + strings.Repeat("a", 64), "registry.example.com/team/app@sha256:" + strings.Repeat("a", 64)},
		{"mirror.internal:5000/team/app:v1", ""}, // another registry
		{"registry.example.com/team/app:v1", ""},
	} {
		got, ok := c.OriginReference(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("OriginReference(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

// FuzzOriginReference: a mapped reference keeps everything after the
// mirror prefix, lands in the origin, and is never under a mirror again.
// OriginReference takes what NormalizeReference writes, as the engine
// gives it, so the fuzzer's input goes through NormalizeReference first.
func FuzzOriginReference(f *testing.F) {
	f.Add("mirror.internal/acme/app:v1")
	f.Add("mirror.internal/acme-evil/app@sha256:" + strings.Repeat("a", 64))
	f.Add("mirror.internal:5000/x:y")
	f.Fuzz(func(t *testing.T, ref string) {
		c, err := compile(t, mirrorDoc(`  - {mirror: mirror.internal, origin: registry.example.com}
  - {mirror: mirror.internal/acme, origin: other.example.com/acme-prod}`))
		if err != nil {
			t.Fatal(err)
		}
		ref, err = policy.NormalizeReference(ref)
		if err != nil {
			return
		}
		got, ok := c.OriginReference(ref)
		if !ok {
			return
		}
		if _, again := c.OriginReference(got); again {
			t.Fatalf("%q maps to %q, which is under a mirror too", ref, got)
		}
		var prefix, origin string
		switch {
		// The repository-level prefix covers the repository itself, with or
		// without a tag or digest, and everything under it.
		case ref == "mirror.internal/acme", strings.HasPrefix(ref, "mirror.internal/acme/"), strings.HasPrefix(ref, "mirror.internal/acme:"), strings.HasPrefix(ref, "mirror.internal/acme@"):
			prefix, origin = "mirror.internal/acme", "other.example.com/acme-prod"
		case strings.HasPrefix(ref, "mirror.internal/"):
			prefix, origin = "mirror.internal", "registry.example.com"
		default:
			t.Fatalf("%q mapped (to %q) but is under no mirror prefix", ref, got)
		}
		if got != origin+strings.TrimPrefix(ref, prefix) {
			t.Fatalf("%q mapped to %q, want the origin %s with the rest kept", ref, got, origin)
		}
	})
}
