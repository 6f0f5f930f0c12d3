package verify_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
)

// sigWatch notes, per image (by digest hex), whether its legacy .sig tag
// was asked for before its referrers listing was answered: it holds each
// referrers listing (the API, and the fallback tag) of a held image until
// the image's .sig tag is asked for, or 2 seconds pass.
type sigWatch struct {
	mu      sync.Mutex
	held    map[string]chan struct{} // digest hex -> closed when its .sig is asked
	atOnce  map[string]bool
	sigGets atomic.Int32
}

func (w *sigWatch) hold(hex string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.held[hex] = make(chan struct{})
}

func (w *sigWatch) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			next.ServeHTTP(rw, r)
			return
		}
		path := r.URL.Path
		var wait chan struct{}
		var waitHex string
		w.mu.Lock()
		for hex, ch := range w.held {
			switch {
			case strings.HasSuffix(path, "/manifests/sha256-"+hex+".sig"):
				w.sigGets.Add(1)
				select {
				case <-ch:
				default:
					close(ch)
				}
			case strings.HasSuffix(path, "/referrers/sha256:"+hex) || strings.HasSuffix(path, "/manifests/sha256-"+hex):
				wait, waitHex = ch, hex
			}
		}
		w.mu.Unlock()
		if wait != nil {
			select {
			case <-wait:
				w.mu.Lock()
				w.atOnce[waitHex] = true
				w.mu.Unlock()
			case <-time.After(2 * time.Second):
			}
		}
		next.ServeHTTP(rw, r)
	})
}

// TestLegacyRepoReadAtOnce: under a rule of one signer the engine reads
// cosign's legacy .sig tag only after the referrers did not pass; once a
// signature was found there, the next image of that repository has its
// .sig tag read at once with its referrers (no round trip more), and an
// image of another repository does not.
func TestLegacyRepoReadAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	watch := &sigWatch{held: map[string]chan struct{}{}, atOnce: map[string]bool{}}
	w := newWorldAt(t, registrytest.NewWrapped(t, false, watch.wrap))
	legacy := func(repoTag string) string {
		d := w.reg.PushImage(t, repoTag)
		if _, err := w.signers["alice"].SignImage(ctx, d.String(), sign.Request{Layout: sign.LayoutLegacy}); err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	first, second, other := legacy("team/old:v1"), legacy("team/old:v2"), legacy("team/elsewhere:v1")
	doc := "apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: \"**\"\n    signers: [{name: alice, key: alice.pub}]\n"
	e := w.engineWith(t, oci.New(), doc)
	for _, c := range []struct {
		image  string
		atOnce bool
	}{{second, false}, {first, true}, {other, false}} {
		hex := c.image[strings.LastIndex(c.image, ":")+1:]
		watch.hold(hex)
		if d := e.Decide(ctx, c.image); !d.Allowed {
			t.Fatalf("%s: refused: %s", c.image, d.Reason)
		}
		watch.mu.Lock()
		got := watch.atOnce[hex]
		watch.mu.Unlock()
		if got != c.atOnce {
			t.Errorf("%s: .sig tag read with the referrers: %v, want %v", c.image, got, c.atOnce)
		}
	}
	if n := watch.sigGets.Load(); n != 3 {
		t.Errorf("the .sig tags were read %d times, want once per image (3)", n)
	}
}
