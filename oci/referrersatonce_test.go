package oci_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
)

// tagWatch counts referrers-API requests and fallback-tag reads
// (GET manifests/sha256-...), and can hold each referrers-API request until
// the tag has been asked for, or 5 seconds pass.
type tagWatch struct {
	mu        sync.Mutex
	tagAsked  chan struct{} // closed at the first fallback-tag read since reset
	tagFirst  atomic.Bool   // the tag was asked while a referrers request was held
	hold      atomic.Bool   // hold referrers requests
	referrers atomic.Int32
	tags      atomic.Int32
}

func (w *tagWatch) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		asked := w.tagAsked
		w.mu.Unlock()
		switch {
		case r.Method != http.MethodGet:
		case strings.Contains(r.URL.Path, "/referrers/"):
			w.referrers.Add(1)
			if !w.hold.Load() {
				break
			}
			select {
			case <-asked:
				w.tagFirst.Store(true)
			case <-time.After(5 * time.Second):
			}
		case strings.Contains(r.URL.Path, "/manifests/sha256-") && !strings.HasSuffix(r.URL.Path, ".sig") && !strings.HasSuffix(r.URL.Path, ".att"):
			w.tags.Add(1)
			w.mu.Lock()
			select {
			case <-w.tagAsked:
			default:
				close(w.tagAsked)
			}
			w.mu.Unlock()
		}
		next.ServeHTTP(rw, r)
	})
}

// reset starts counting again, holding referrers requests or not.
func (w *tagWatch) reset(hold bool) {
	w.hold.Store(hold)
	w.mu.Lock()
	w.tagAsked = make(chan struct{})
	w.mu.Unlock()
	w.tagFirst.Store(false)
	w.referrers.Store(0)
	w.tags.Store(0)
}

// putFallbackIndex pushes an index listing one random manifest under d's
// fallback tag and returns that manifest's digest.
func putFallbackIndex(t *testing.T, d name.Digest) v1.Hash {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img}), types.OCIImageIndex)
	if err := remote.WriteIndex(oci.FallbackTag(d), idx); err != nil {
		t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func listed(im *v1.IndexManifest, h v1.Hash) bool {
	for _, m := range im.Manifests {
		if m.Digest == h {
			return true
		}
	}
	return false
}

// TestFallbackTagReadWithReferrersAPI: a client that does not know a
// registry yet reads the referrers fallback tag while its referrers-API
// request is unanswered — one round trip for both — and lists the tag's
// index only where the API is missing; where it answers, what the API
// lists, whatever the tag holds. A repository once known is asked one way.
func TestFallbackTagReadWithReferrersAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, api := range []bool{false, true} {
		t.Run(map[bool]string{false: "fallback tag", true: "referrers API"}[api], func(t *testing.T) {
			t.Parallel()
			w := &tagWatch{tagAsked: make(chan struct{})}
			reg := registrytest.NewWrapped(t, api, w.wrap)
			d := reg.PushImage(t, "team/app:v1")
			onTag := putFallbackIndex(t, d)
			w.reset(true)

			c := oci.New()
			im, layout, err := c.Referrers(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			if !w.tagFirst.Load() {
				t.Error("the fallback tag was not read while the referrers API request was unanswered: two round trips one after the other")
			}
			wantLayout := map[bool]oci.Layout{false: oci.LayoutFallbackTag, true: oci.LayoutReferrersAPI}[api]
			if layout != wantLayout {
				t.Errorf("layout %s, want %s", layout, wantLayout)
			}
			if got := listed(im, onTag); got != !api {
				t.Errorf("the fallback tag's entry listed: %v, want %v (%v)", got, !api, im.Manifests)
			}
			if r, tg := w.referrers.Load(), w.tags.Load(); r != 1 || tg != 1 {
				t.Errorf("first listing: %d referrers-API requests and %d fallback-tag reads, want 1 and 1", r, tg)
			}

			// The same client, the same repository: its way is known.
			w.reset(false)
			e := reg.PushImage(t, "team/app:v2")
			if _, _, err := c.Referrers(ctx, e); err != nil {
				t.Fatal(err)
			}
			wantR, wantT := map[bool]int32{false: 0, true: 1}[api], map[bool]int32{false: 1, true: 0}[api]
			if r, tg := w.referrers.Load(), w.tags.Load(); r != wantR || tg != wantT {
				t.Errorf("second listing: %d referrers-API requests and %d fallback-tag reads, want %d and %d", r, tg, wantR, wantT)
			}
			// Another repository is asked both ways again (what a client
			// learns is per repository): the API always; the tag too where
			// the API is missing (where it answers first, the tag's read
			// may be cancelled before the registry sees it).
			w.reset(false)
			o := reg.PushImage(t, "team/other:v1")
			if _, _, err := c.Referrers(ctx, o); err != nil {
				t.Fatal(err)
			}
			r, tg := w.referrers.Load(), w.tags.Load()
			if r != 1 || (!api && tg != 1) || tg > 1 {
				t.Errorf("another repository: %d referrers-API requests and %d fallback-tag reads, want 1 and %s", r, tg,
					map[bool]string{false: "1", true: "at most 1"}[api])
			}
		})
	}
}
