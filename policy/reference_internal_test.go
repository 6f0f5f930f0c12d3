package policy

import "testing"

// TestPatternAndReferenceNormalizersAgree: a pattern written as a full
// reference (no wildcards) is normalized to what the reference is.
func TestPatternAndReferenceNormalizersAgree(t *testing.T) {
	t.Parallel()
	for _, ref := range []string{
		"registry.example.com/prod/app:1",
		"REGISTRY.EXAMPLE.COM.:0443/prod/app:1",
		"registry.example.com:/prod/app:1",
		"registry.example.com:05000/prod/app:1",
		"nginx:1",
		"library/nginx:1",
		"team/app:1",
		"docker.io/nginx:1",
		"INDEX.DOCKER.IO./nginx:1",
		"registry-1.docker.io:443/team/app:1",
		"docker.io:5000/nginx:1",
		"localhost/app:1",
		"LOCALHOST.:443/app:1",
		"registry./app:1",
		"registry:443/app:1",
		"127.0.0.1:5000/app:1",
	} {
		want, err := NormalizeReference(ref)
		if err != nil {
			t.Fatalf("NormalizeReference(%q): %v", ref, err)
		}
		if got, err := normalizePattern(ref); err != nil || got != want {
			t.Errorf("pattern %q is normalized to %q, %v; the reference to %q", ref, got, err, want)
		}
	}
}
