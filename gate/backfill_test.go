package gate

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
)

// backfillRegistry is a registry paging two names at a time with
// team/app:v1 and :v2 (one image, tagged twice, signed: its signature tag
// must be left out), team/app:v3, team/lib:v1 and other/x:v1. It returns
// the registry and the digests by repo:tag.
func backfillRegistry(t *testing.T) (*registrytest.Registry, map[string]string) {
	t.Helper()
	reg := registrytest.NewWrapped(t, false, registrytest.Paged(2))
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	d := map[string]string{}
	for _, tag := range []string{"v1", "v2"} {
		d["team/app:"+tag] = reg.Push(t, "team/app:"+tag, img).DigestStr()
	}
	for _, rt := range []string{"team/app:v3", "team/lib:v1", "other/x:v1"} {
		d[rt] = reg.PushImage(t, rt).DigestStr()
	}
	k, _ := keys.Generate(keys.ECDSAP256)
	sv, _ := keys.SignerVerifier(k)
	s, err := sign.New(sv, oci.New())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignImage(context.Background(), reg.Host+"/team/app@"+d["team/app:v1"], sign.Request{}); err != nil {
		t.Fatal(err)
	}
	return reg, d
}

func queued(t *testing.T, st store) []string {
	t.Helper()
	js, err := st.pending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range js {
		got = append(got, j.Repository+"@"+j.Digest)
	}
	slices.Sort(got)
	return got
}

func TestBackfill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg, d := backfillRegistry(t)
	st := testStore(t, t.TempDir())
	// other/x was judged already.
	if _, err := st.update(ctx, "other/x", d["other/x:v1"], func(r *Record) { r.State = StatePassed }); err != nil {
		t.Fatal(err)
	}
	// team/lib's image was notified and is queued, not judged yet.
	notified := &job{ID: "notification-1", Repository: "team/lib", Digest: d["team/lib:v1"], Tag: "v1"}
	if fresh, err := st.accept(ctx, notified, 100); !fresh || err != nil {
		t.Fatal(fresh, err)
	}
	var mu sync.Mutex
	var last BackfillProgress
	cfg := BackfillConfig{Registry: reg.Host, Client: oci.New(), Workers: 3, PageSize: 2,
		Progress: func(p BackfillProgress) { mu.Lock(); last = p; mu.Unlock() }}
	res, err := backfill(ctx, st, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Repositories != 3 || res.Tags != 5 || res.SkippedTags < 1 || res.Images != 4 || res.Queued != 2 || res.Known != 2 {
		t.Errorf("first backfill = %+v; want 3 repositories, 5 tags, the signature tag skipped, 4 images, 2 queued, 2 known", res)
	}
	want := []string{"team/app@" + d["team/app:v1"], "team/app@" + d["team/app:v3"], "team/lib@" + d["team/lib:v1"]}
	slices.Sort(want)
	if got := queued(t, st); !slices.Equal(got, want) {
		t.Errorf("queued %v, want exactly %v (one job for the tag pushed twice, one for the notified image, none for the judged image or the signature)", got, want)
	}
	if (last != BackfillProgress{Repositories: 3, RepositoriesDone: 3, Tags: 5, TagsDone: 5}) {
		t.Errorf("last progress %+v, want every repository and tag done", last)
	}
	// Running again (after a crash, say) queues nothing new.
	res, err = backfill(ctx, st, cfg, nil)
	if err != nil || res.Queued != 0 || res.Known != 4 {
		t.Errorf("second backfill = %+v, %v; want nothing queued, 4 known", res, err)
	}
	if got := queued(t, st); !slices.Equal(got, want) {
		t.Errorf("after the second backfill queued %v, want %v", got, want)
	}
}

func TestBackfillFilter(t *testing.T) {
	t.Parallel()
	reg, d := backfillRegistry(t)
	st := testStore(t, t.TempDir())
	res, err := backfill(context.Background(), st, BackfillConfig{Registry: reg.Host, Client: oci.New(), Repositories: []string{"team/l*", "other/*"}}, nil)
	if err != nil || res.Repositories != 2 || res.Queued != 2 {
		t.Errorf("backfill of team/l* and other/* = %+v, %v; want 2 repositories, 2 queued", res, err)
	}
	want := []string{"other/x@" + d["other/x:v1"], "team/lib@" + d["team/lib:v1"]}
	if got := queued(t, st); !slices.Equal(got, want) {
		t.Errorf("queued %v, want %v", got, want)
	}
	if _, err := backfill(context.Background(), st, BackfillConfig{Registry: reg.Host, Client: oci.New(), Repositories: []string{"["}}, nil); err == nil {
		t.Error("a malformed pattern was accepted")
	}
}

func TestBackfillErrors(t *testing.T) {
	t.Parallel()
	deny := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/team/lib/tags/list") {
				http.Error(w, `{"errors":[{"code":"DENIED","message":"no"}]}`, http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	reg := registrytest.NewWrapped(t, false, deny)
	reg.PushImage(t, "team/app:v1")
	reg.PushImage(t, "team/lib:v1")
	st := testStore(t, t.TempDir())
	_, err := backfill(context.Background(), st, BackfillConfig{Registry: reg.Host, Client: oci.New()}, nil)
	if !errors.Is(err, oci.ErrRegistry) || !strings.Contains(err.Error(), "team/lib") {
		t.Errorf("backfill with a repository the registry refuses: %v, want ErrRegistry naming team/lib", err)
	}
	// A full queue stops the backfill; what it queued stays queued.
	reg2 := registrytest.New(t, false)
	for _, r := range []string{"a:v1", "b:v1", "c:v1"} {
		reg2.PushImage(t, r)
	}
	st2 := testStore(t, t.TempDir())
	res, err := backfill(context.Background(), st2, BackfillConfig{Registry: reg2.Host, Client: oci.New(), Workers: 1, MaxQueue: 2}, nil)
	if !errors.Is(err, ErrQueueFull) || res.Queued != 2 || len(queued(t, st2)) != 2 {
		t.Errorf("backfill into a queue of 2 = %+v, %v; want ErrQueueFull after 2 queued", res, err)
	}
}
