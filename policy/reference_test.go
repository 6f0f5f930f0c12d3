package policy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/signet-dev/signet/policy"
)

const digest = "sha256:ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"

func TestNormalizeReference(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ ref, want string }{
		// Every spelling of one registry is one name.
		{"registry.example.com/prod/app:1", "registry.example.com/prod/app:1"},
		{"REGISTRY.EXAMPLE.COM/prod/app:1", "registry.example.com/prod/app:1"},
		{"registry.example.com:443/prod/app:1", "registry.example.com/prod/app:1"},
		{"registry.example.com:0443/prod/app:1", "registry.example.com/prod/app:1"},
		{"registry.example.com:/prod/app:1", "registry.example.com/prod/app:1"},
		{"registry.example.com./prod/app:1", "registry.example.com/prod/app:1"},
		{"Registry.Example.Com.:443/prod/app:1", "registry.example.com/prod/app:1"},
		// Docker Hub under all its names, and short names.
		{"nginx", "docker.io/library/nginx:latest"},
		{"nginx:1", "docker.io/library/nginx:1"},
		{"library/nginx:1", "docker.io/library/nginx:1"},
		{"team/app", "docker.io/team/app:latest"},
		{"docker.io/nginx:1", "docker.io/library/nginx:1"},
		{"index.docker.io/nginx:1", "docker.io/library/nginx:1"},
		{"index.docker.io/library/nginx:1", "docker.io/library/nginx:1"},
		{"registry-1.docker.io/nginx:1", "docker.io/library/nginx:1"},
		{"registry.hub.docker.com/library/nginx:1", "docker.io/library/nginx:1"},
		{"DOCKER.IO.:443/team/app:1", "docker.io/team/app:1"},
		// Other ports are other registries, also for Docker Hub's names.
		{"registry.example.com:5000/prod/app:1", "registry.example.com:5000/prod/app:1"},
		{"registry.example.com:05000/prod/app:1", "registry.example.com:5000/prod/app:1"},
		{"registry.example.com:80/prod/app:1", "registry.example.com:80/prod/app:1"},
		{"docker.io:5000/nginx:1", "docker.io:5000/nginx:1"},
		// Local registries and IP addresses.
		{"localhost/app", "localhost/app:latest"},
		{"LOCALHOST:5000/app:1", "localhost:5000/app:1"},
		{"LOCALHOST./app", "localhost/app:latest"},
		{"localhost:443/app", "localhost/app:latest"},
		{"registry./app:1", "registry:443/app:1"},
		{"registry:443/app:1", "registry:443/app:1"},
		{"Registry.:0443/app:1", "registry:443/app:1"},
		{"registry:5000/app:1", "registry:5000/app:1"},
		{"127.0.0.1:5000/app:1", "127.0.0.1:5000/app:1"},
		{"[::1]:5000/app:1", "[::1]:5000/app:1"},
		{"[0:0:0:0:0:0:0:1]:5000/app:1", "[::1]:5000/app:1"},
		{"[2001:DB8::1]/app:1", "[2001:db8::1]/app:1"},
		{"[::ffff:127.0.0.1]:5000/app:1", "127.0.0.1:5000/app:1"},
		// Tags keep their case; a tag and a digest together are the digest.
		{"registry.example.com/prod/app:RC1", "registry.example.com/prod/app:RC1"},
		{"registry.example.com/prod/app@" + digest, "registry.example.com/prod/app@" + digest},
		{"registry.example.com/prod/app:1@" + digest, "registry.example.com/prod/app@" + digest},
		{"nginx:1@" + digest, "docker.io/library/nginx@" + digest},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			got, err := policy.NormalizeReference(tc.ref)
			if err != nil || got != tc.want {
				t.Fatalf("NormalizeReference(%q) = %q, %v; want %q", tc.ref, got, err, tc.want)
			}
			again, err := policy.NormalizeReference(got)
			if err != nil || again != got {
				t.Fatalf("not idempotent: NormalizeReference(%q) = %q, %v", got, again, err)
			}
		})
	}
}

func TestNormalizeReferenceRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, ref, want string }{
		{"empty", "", "the reference is empty"},
		{"upper-case path", "registry.example.com/Prod/app:1", "repository names must be lower case: Prod/app"},
		{"percent-encoded path", "registry.example.com/prod/%61pp:1", "the repository prod/%61pp has the character '%'"},
		{"percent-encoded host", "registry%2eexample.com/prod/app:1", "the registry registry%2eexample.com is not a host name"},
		{"URL", "https://registry.example.com/prod/app:1", `drop the scheme "https://"`},
		{"dot-dot segment", "registry.example.com/prod/../evil:1", `component ".."`},
		{"dot segment", "registry.example.com/prod/./app:1", `component "."`},
		{"empty segment", "registry.example.com/prod//app:1", `component ""`},
		{"trailing slash", "registry.example.com/prod/app/:1", `component ""`},
		{"leading dash", "registry.example.com/prod/-app:1", `component "-app"`},
		{"triple underscore", "registry.example.com/prod/a___b:1", `component "a___b"`},
		{"underscore in host", "registry_example.com/prod/app:1", "not a DNS name"},
		{"empty label", "registry..example.com/prod/app:1", "not a DNS name"},
		{"two trailing dots", "registry.example.com../prod/app:1", "not a DNS name"},
		{"label ends in dash", "registry-.example.com/prod/app:1", "not a DNS name"},
		{"non-ASCII host", "registry.examp\u217Ce.com/prod/app:1", "outside ASCII"},
		{"Kelvin sign, which lower-cases to k", "registry.example.\u212Aom/prod/app:1", "outside ASCII"},
		{"short IPv4", "127.1:5000/app:1", "dotted-quad"},
		{"IPv4 with leading zeros", "127.000.0.1:5000/app:1", "dotted-quad"},
		{"IPv4 as one number", "2130706433:5000/app:1", "dotted-quad"},
		{"IPv4 in hex", "0x7f000001:5000/app:1", "dotted-quad"},
		{"numeric last label", "registry.example.123/app:1", "dotted-quad"},
		{"port 0", "registry.example.com:0/app:1", "port"},
		{"port out of range", "registry.example.com:99999/app:1", "port"},
		{"signed port", "registry.example.com:+443/app:1", "the registry registry.example.com:+443 is not a host name"},
		{"IPv6 zone", "[fe80::1%25eth0]:5000/app:1", "is not a host name"},
		{"upper-case digest", "registry.example.com/prod/app@sha256:AB12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12", "is not lower-case hexadecimal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := policy.NormalizeReference(tc.ref)
			if !errors.Is(err, policy.ErrReference) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NormalizeReference(%q) = %q, %v; want ErrReference saying %q", tc.ref, got, err, tc.want)
			}
		})
	}
}

func TestNormalizeRepository(t *testing.T) {
	t.Parallel()
	for repo, want := range map[string]string{
		"nginx":                               "docker.io/library/nginx",
		"index.docker.io/team/app":            "docker.io/team/app",
		"REGISTRY.EXAMPLE.COM.:443/team/app":  "registry.example.com/team/app",
		"registry.example.com:5000/team/app":  "registry.example.com:5000/team/app",
		"registry.example.com/team/../../app": "",
	} {
		got, err := policy.NormalizeRepository(repo)
		if want == "" {
			if !errors.Is(err, policy.ErrReference) {
				t.Errorf("NormalizeRepository(%q) = %q, %v; want ErrReference", repo, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("NormalizeRepository(%q) = %q, %v; want %q", repo, got, err, want)
		}
	}
}

// TestPatternsAreNormalized: a pattern's registry is spelled as references'
// are, the pattern as written stays what verdicts name.
func TestPatternsAreNormalized(t *testing.T) {
	t.Parallel()
	for pattern, want := range map[string]string{
		"registry.example.com/prod/**":         "registry.example.com/prod/**",
		"REGISTRY.EXAMPLE.COM:443/prod/**":     "registry.example.com/prod/**",
		"registry.example.com./prod/**":        "registry.example.com/prod/**",
		"registry.example.com:5000/prod/**":    "registry.example.com:5000/prod/**",
		"localhost:5000/**":                    "localhost:5000/**",
		"registry./**":                         "registry:443/**",
		"nginx":                                "docker.io/library/nginx",
		"nginx:*":                              "docker.io/library/nginx:*",
		"team/app:*":                           "docker.io/team/app:*",
		"team/**":                              "docker.io/team/**",
		"docker.io/nginx:*":                    "docker.io/library/nginx:*",
		"docker.io/*":                          "docker.io/library/*",
		"docker.io/{nginx,redis}:*":            "docker.io/library/{nginx,redis}:*",
		"docker.io/**":                         "docker.io/**",
		"index.docker.io/library/**":           "docker.io/library/**",
		"registry-1.docker.io/team/**":         "docker.io/team/**",
		"**":                                   "**",
		"*/team/**":                            "*/team/**",
		"Registry-*.Example.com/**":            "registry-*.example.com/**",
		"registry.example.com/prod/app:RC-*":   "registry.example.com/prod/app:RC-*",
		"registry.example.com/prod/app@sha*:*": "registry.example.com/prod/app@sha*:*",
	} {
		t.Run(pattern, func(t *testing.T) {
			c, err := compile(t, header+"images:\n  - pattern: \""+pattern+"\"\n    signers: [{name: a, key: release.pub}]\n")
			if err != nil {
				t.Fatal(err)
			}
			if r := c.Rules[0]; r.Pattern != pattern || r.Normalized != want {
				t.Fatalf("pattern %q compiled as %q (normalized %q); want normalized %q", pattern, r.Pattern, r.Normalized, want)
			}
		})
	}
}

func TestPatternErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, patterns string
		want           []string
	}{
		{"host not a DNS name", `["registry_example.com/**"]`, []string{"images[0].pattern", "not a DNS name"}},
		{"host outside ASCII", `["registry.examp` + "\u217C" + `e.com/**"]`, []string{"images[0].pattern", "outside ASCII"}},
		{"bad port", `["registry.example.com:99999/**"]`, []string{"images[0].pattern", "port"}},
		{"same pattern in two spellings", `["registry.example.com/prod/**", "REGISTRY.EXAMPLE.COM:443/prod/**"]`, []string{"images[1].pattern", "same pattern as images[0]", "would never apply"}},
		{"short and full name", `["nginx:*", "index.docker.io/library/nginx:*"]`, []string{"images[1].pattern", "docker.io/library/nginx:*"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := header + "images:\n"
			for _, p := range strings.Split(strings.Trim(tc.patterns, "[]"), ", ") {
				doc += "  - pattern: " + p + "\n    signers: [{name: a, key: release.pub}]\n"
			}
			_, err := compile(t, doc)
			if !errors.Is(err, policy.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestPatternsMatchTheWholeReference: a pattern is anchored at both ends
// and * stays within one path segment (the Portieris v0.14.2 advisory was
// an unanchored wildcard); every spelling of the registry matches.
func TestPatternsMatchTheWholeReference(t *testing.T) {
	t.Parallel()
	c, err := compile(t, header+`images:
  - pattern: "registry.example.com/prod/*"
    signers: [{name: a, key: release.pub}]
  - pattern: "docker.io/nginx:*"
    signers: [{name: a, key: release.pub}]
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ ref, want string }{
		{"registry.example.com/prod/app:1", "registry.example.com/prod/*"},
		{"registry.example.com/prod/app@" + digest, "registry.example.com/prod/*"},
		{"registry.example.com/prod/app:1@" + digest, "registry.example.com/prod/*"},
		{"REGISTRY.EXAMPLE.COM:443/prod/app:1", "registry.example.com/prod/*"},
		{"registry.example.com./prod/app:1", "registry.example.com/prod/*"},
		{"nginx:1", "docker.io/nginx:*"},
		{"index.docker.io/library/nginx:1", "docker.io/nginx:*"},
		{"evil.com/registry.example.com/prod/app:1", ""},
		{"registry.example.com.evil.io/prod/app:1", ""},
		{"xregistry.example.com/prod/app:1", ""},
		{"registry.example.com:5000/prod/app:1", ""},
		{"registry.example.com:80/prod/app:1", ""},
		{"registry.example.com/prod/app.evil.com/x:1", ""},
		{"registry.example.com/prod/app/x:1", ""},
		{"registry.example.com/production/app:1", ""},
		{"registry.example.com/x/prod/app:1", ""},
		{"evil.io/library/nginx:1", ""},
		{"docker.io/evil/nginx:1", ""},
		{"docker.io:5000/library/nginx:1", ""},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			r, err := c.Match(tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if r != nil {
				got = r.Pattern
			}
			if got != tc.want {
				t.Fatalf("%s: rule %q, want %q", tc.ref, got, tc.want)
			}
		})
	}
	for _, ref := range []string{"registry.example.com/prod/app/../evil:1", "registry.example.com/prod/../prod/app:1"} {
		if r, err := c.Match(ref); !errors.Is(err, policy.ErrReference) {
			t.Errorf("%s: rule %v, %v; want ErrReference", ref, r, err)
		}
		if rs, err := c.Matching(ref); !errors.Is(err, policy.ErrReference) || rs != nil {
			t.Errorf("Matching(%s): rules %v, %v; want ErrReference", ref, rs, err)
		}
	}
}

// TestTagAndDigestMatchAsTheDigest: name:tag@digest pulls the digest, so it
// meets the rule name@digest meets, never a rule for the tag alone.
func TestTagAndDigestMatchAsTheDigest(t *testing.T) {
	t.Parallel()
	c, err := compile(t, header+`images:
  - pattern: "registry.example.com/prod/app:v*"
    signers: [{name: a, key: release.pub}]
  - pattern: "registry.example.com/prod/**"
    signers: [{name: a, key: release.pub}]
`)
	if err != nil {
		t.Fatal(err)
	}
	both, err1 := c.Match("registry.example.com/prod/app:v1@" + digest)
	only, err2 := c.Match("registry.example.com/prod/app@" + digest)
	if err1 != nil || err2 != nil || both != only || both.Pattern != "registry.example.com/prod/**" {
		t.Fatalf("tag@digest matched %v (%v), digest %v (%v); want the same rule, registry.example.com/prod/**", both, err1, only, err2)
	}
}

// FuzzNormalizeReference: a canonical spelling is its own canonical
// spelling, and every refusal is an ErrReference.
func FuzzNormalizeReference(f *testing.F) {
	for _, s := range []string{"nginx", "REGISTRY.EXAMPLE.COM.:0443/prod/app:1", "index.docker.io/nginx:1@" + digest, "[::ffff:127.0.0.1]:5000/a:b", "127.1:5000/a", "registry.example.com/prod/../evil:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		got, err := policy.NormalizeReference(ref)
		if err != nil {
			if !errors.Is(err, policy.ErrReference) {
				t.Fatalf("NormalizeReference(%q): unclassified error %v", ref, err)
			}
			return
		}
		again, err := policy.NormalizeReference(got)
		if err != nil || again != got {
			t.Fatalf("NormalizeReference(%q) = %q, but that normalizes to %q, %v", ref, got, again, err)
		}
	})
}

// A locked tag is found under every spelling of its reference, so another
// spelling meets the lock's pin instead of "not in the lock file".
func TestLockFindsOtherSpellings(t *testing.T) {
	t.Parallel()
	l := &policy.LockFile{Images: []policy.LockEntry{{Ref: "registry.example.com/team/app:v1", Digest: "sha256:" + strings.Repeat("a", 64)}}}
	for _, ref := range []string{"registry.example.com/team/app:v1", "REGISTRY.example.com/team/app:v1", "registry.example.com:443/team/app:v1", "registry.example.com./team/app:v1"} {
		if d, ok := l.Digest(ref); !ok || d != l.Images[0].Digest {
			t.Errorf("Digest(%s) = %q, %v; want the locked digest", ref, d, ok)
		}
	}
	for _, ref := range []string{"registry.example.com:5000/team/app:v1", "registry.example.com/team/app:v2", "registry.example.com/team/../team/app:v1"} {
		if _, ok := l.Digest(ref); ok {
			t.Errorf("Digest(%s) found a pin; it names another image (or none)", ref)
		}
	}
}
