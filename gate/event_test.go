package gate

import (
	"strings"
	"testing"
	"time"
)

// TestEventRepository: a push event naming a repository the distribution
// grammar refuses — an empty, "." or ".." segment, upper case, a port —
// makes no job, and the reason names the offending segment.
func TestEventRepository(t *testing.T) {
	t.Parallel()
	digest := "sha256:" + strings.Repeat("a", 64)
	for _, tc := range []struct {
		repo, why string // why is "" for a repository that is accepted
	}{
		{"team/app", ""},
		{"app", ""},
		{"team/sub/app", ""},
		{"a.b/c_d/e__f/g-h/i---j", ""},
		{"evil.example.com/app", ""}, // a segment like a host is still a path under the registry
		{"team/../app", `segment ".."`},
		{"..", `segment ".."`},
		{"team/..", `segment ".."`},
		{"team/./app", `segment "."`},
		{".", `segment "."`},
		{"team//app", `segment ""`},
		{"/team/app", `segment ""`},
		{"team/app/", `segment ""`},
		{"", "empty"},
		{"Team/app", `segment "Team"`},
		{"localhost:5000/app", `segment "localhost:5000"`},
		{"team/-app", `segment "-app"`},
		{"team/app-", `segment "app-"`},
		{"team/a___b", `segment "a___b"`},
		{"team/a.-b", `segment "a.-b"`},
		{"team/.app", `segment ".app"`},
		{"team/app..x", `segment "app..x"`},
		{strings.Repeat("a", 256), "more than 255"},
	} {
		t.Run(tc.repo, func(t *testing.T) {
			var e Event
			e.ID, e.Action = "1", "push"
			e.Target.MediaType, e.Target.Digest, e.Target.Repository, e.Target.Tag = "application/vnd.oci.image.manifest.v1+json", digest, tc.repo, "v1"
			j, why := e.job(time.Unix(0, 0))
			switch {
			case tc.why == "" && (j == nil || why != ""):
				t.Fatalf("refused: %s", why)
			case tc.why != "" && j != nil:
				t.Fatalf("accepted %q as a repository", tc.repo)
			case tc.why != "" && !strings.Contains(why, tc.why):
				t.Fatalf("reason %q does not say %q", why, tc.why)
			}
		})
	}
}

// TestEventMediaTypes: a push of any manifest a runtime could pull makes a
// job (Docker's schema 1 too); blobs and unknown types make none.
func TestEventMediaTypes(t *testing.T) {
	t.Parallel()
	for mt, want := range map[string]bool{
		"application/vnd.oci.image.manifest.v1+json":                true,
		"application/vnd.oci.image.index.v1+json":                   true,
		"application/vnd.docker.distribution.manifest.v2+json":      true,
		"application/vnd.docker.distribution.manifest.list.v2+json": true,
		"application/vnd.docker.distribution.manifest.v1+json":      true,
		"application/vnd.docker.distribution.manifest.v1+prettyjws": true,
		"application/octet-stream":                                  false,
	} {
		var e Event
		e.Action, e.Target.MediaType, e.Target.Digest, e.Target.Repository, e.Target.Tag = "push", mt, "sha256:"+strings.Repeat("a", 64), "team/app", "v1"
		if j, _ := e.job(time.Now()); (j != nil) != want {
			t.Errorf("%s: job made = %v, want %v", mt, j != nil, want)
		}
	}
}
