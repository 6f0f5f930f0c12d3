package oci_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/oci"
)

// TestParseReferenceSaysWhy holds each way a reference can be malformed to
// a reason that names the wrong part and how to write it, said once.
func TestParseReferenceSaysWhy(t *testing.T) {
	t.Parallel()
	sha := strings.Repeat("ab", 32)
	cases := []struct {
		name, ref, want string
	}{
		{"upper-case repository", "127.0.0.1:5077/Team/App:v1", "repository names must be lower case: Team/App (write team/app)"},
		{"upper-case Docker Hub name", "Nginx", "repository names must be lower case: Nginx (write nginx)"},
		{"short digest", "registry.example.com/app@sha256:abc123", "the digest has 6 hex digits; a sha256 digest has 64 (was it cut short?)"},
		{"digest without algorithm", "registry.example.com/app@" + sha, "names no algorithm; write sha256: followed by 64 hex digits"},
		{"unknown digest algorithm", "registry.example.com/app@md5:" + sha[:32], "the digest algorithm md5 is not sha256, sha384 or sha512"},
		{"upper-case digest", "registry.example.com/app@sha256:" + strings.ToUpper(sha), "is not lower-case hexadecimal"},
		{"empty digest", "registry.example.com/app@", "the digest after '@' is empty"},
		{"two digests", "registry.example.com/app@sha256:" + sha + "@sha256:" + sha, "more than one '@'"},
		{"empty tag", "registry.example.com/team/app:", "the tag after ':' is empty; write REPOSITORY:TAG, or leave out the ':' for the tag latest"},
		{"bad tag character", "registry.example.com/team/app:v1+build", `the tag v1+build has the character '+'`},
		{"long tag", "registry.example.com/team/app:" + strings.Repeat("v", 129), "the tag is 129 characters long; at most 128"},
		{"space", "registry.example.com/team app:v1", "it has ' ' at position 26; a reference has no spaces or control characters"},
		{"control character", "registry.example.com/team/app:v1\x1b[2J", `it has '\x1b' at position 33`},
		{"bad repository character", "registry.example.com/team/app$:v1", `the repository team/app$ has the character '$'`},
		{"no repository", "registry.example.com/", "it names no repository"},
		{"bad registry", "registry.example.com:port:x/app@sha256:" + sha, "the registry registry.example.com:port:x is not a host name or address with an optional :port"},
		{"empty", "", "the reference is empty; write REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST"},
		{"http scheme", "http://127.0.0.1:5077/team/app:v1", `drop the scheme "http://" (write 127.0.0.1:5077/team/app:v1); for a plain-HTTP registry use --allow-insecure-registry`},
		{"https scheme", "HTTPS://registry.example.com/team/app:v1", `drop the scheme "HTTPS://" (write registry.example.com/team/app:v1)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := oci.New().ParseReference(tc.ref)
			var rerr *oci.ReferenceError
			if !errors.Is(err, oci.ErrInvalidReference) || !errors.As(err, &rerr) || !name.IsErrBadName(err) {
				t.Fatalf("got %v, want an *oci.ReferenceError matching ErrInvalidReference and name.ErrBadName", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "invalid image reference: ") || !strings.Contains(msg, tc.want) {
				t.Fatalf("got %q, want it to say %q", msg, tc.want)
			}
			for _, bad := range []string{"could not parse", "name.Insecure", "\n", "\x1b"} {
				if strings.Contains(msg, bad) {
					t.Errorf("message carries %q: %s", bad, msg)
				}
			}
			if tc.ref != "" && strings.Count(msg, tc.ref) > 1 {
				t.Errorf("message repeats the reference: %s", msg)
			}
			if rerr.Ref != tc.ref {
				t.Errorf("Ref %q, want %q", rerr.Ref, tc.ref)
			}
		})
	}
	for _, ok := range []string{"nginx", "registry.example.com/team/app:v1", "localhost:5000/app@sha256:" + sha, "registry.example.com/app:v1@sha256:" + sha} {
		if _, err := oci.ParseReference(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func TestParseRepositorySaysWhy(t *testing.T) {
	t.Parallel()
	for ref, want := range map[string]string{
		"registry.example.com/Team/App":  "repository names must be lower case: Team/App",
		"https://registry.example.com/a": `drop the scheme "https://"`,
		"":                               "it names no repository",
	} {
		_, err := oci.ParseRepository(ref)
		if !errors.Is(err, oci.ErrInvalidReference) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", ref, err, want)
		}
	}
}
