package fleet_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/signet-dev/signet/fleet"
	"github.com/signet-dev/signet/oci"
)

// peakTransport records, at each registry request, the most answers the
// memo held at once.
type peakTransport struct {
	base http.RoundTripper
	memo *fleet.MemoTransport
	mu   sync.Mutex
	peak int
}

func (p *peakTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if n, _ := p.memo.Held(); n > 0 {
		p.mu.Lock()
		p.peak = max(p.peak, n)
		p.mu.Unlock()
	}
	return p.base.RoundTrip(r)
}

// A fleet check keeps nothing of an image past its decision: the memo
// holds the answers of the images being decided (at most a few per
// worker), never the fleet's, and nothing once the check is done. The old
// memo, which kept every answer for the run, held five per image.
func TestCheckKeepsNothingPerImage(t *testing.T) {
	w := newWorld(t)
	const images, workers = 24, 2
	var refs []string
	for i := range images {
		tag := fmt.Sprintf("team/fleet:%d", i)
		w.push(t, "release", tag)
		refs = append(refs, w.image(tag))
	}
	peak := &peakTransport{base: http.DefaultTransport}
	memo := fleet.NewMemoTransport(peak)
	peak.memo = memo
	c := oci.New(oci.WithTransport(memo), oci.WithRetries(1))
	w.requests.reset()
	r := fleet.Check(context.Background(), fleet.Images(refs), w.engine(t, c, nextPolicy),
		fleet.WithCurrent(w.engine(t, c, currentPolicy)), fleet.WithWorkers(workers))
	if r.Summary.Images != images || r.Summary.Unchanged != images {
		t.Fatalf("summary %+v, want all %d images unchanged (signed by release, admitted by both policies)", r.Summary, images)
	}
	if n, size := memo.Held(); n != 0 || size != 0 {
		t.Errorf("after the check the memo holds %d answers (%d bytes), want none", n, size)
	}
	// An image's decisions read at most 8 answers (tag, referrers, a
	// bundle's manifest and blob, the legacy tag, and slack); a worker
	// holds one image's at a time.
	if bound := workers * 8; peak.peak > bound {
		t.Errorf("the memo held up to %d answers at once, want at most %d (%d workers): it keeps answers past their image", peak.peak, bound, workers)
	}
	if peak.peak == 0 {
		t.Error("the memo never held an answer: both policies no longer share an image's registry answers")
	}
	// Both policies judged each image on one set of answers.
	for req, n := range w.requests.snapshot() {
		if n > 1 && req != "GET /v2/" {
			t.Errorf("%s: %d requests, want 1 (both policies share an image's answers)", req, n)
		}
	}
}

// What one image read is not reused for the next: a second reference to
// the same digest asks for its referrers again (a signature added or
// removed in between is seen), while both policies of one reference share
// one answer.
func TestMemoEndsWithTheImage(t *testing.T) {
	w := newWorld(t)
	digest := w.push(t, "release", "team/twice:v1")
	refs := []string{w.image("team/twice:v1"), w.image("team/twice@" + digest)}
	c := client(true)
	w.requests.reset()
	r := fleet.Check(context.Background(), fleet.Images(refs), w.engine(t, c, nextPolicy),
		fleet.WithCurrent(w.engine(t, c, currentPolicy)), fleet.WithWorkers(1))
	if r.Summary.Unchanged != 2 {
		t.Fatalf("summary %+v, want both references unchanged", r.Summary)
	}
	referrers := "GET /v2/team/twice/referrers/" + digest
	if got := w.requests.snapshot()[referrers]; got != 2 {
		t.Errorf("%s: %d requests, want 2: one per reference, shared by its two policies", referrers, got)
	}
}

// Outside a memo scope the transport keeps nothing.
func TestMemoOutsideScope(t *testing.T) {
	w := newWorld(t)
	memo := fleet.NewMemoTransport(http.DefaultTransport)
	c := oci.New(oci.WithTransport(memo), oci.WithRetries(1))
	for range 2 {
		if _, err := c.Resolve(context.Background(), w.image("team/app:v1")); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := memo.Held(); n != 0 {
		t.Errorf("the memo holds %d answers of requests made outside any scope, want none", n)
	}
	if got := w.requests.snapshot()["HEAD /v2/team/app/manifests/v1"]; got != 2 {
		t.Errorf("resolving twice outside a scope asked the registry %d times, want 2", got)
	}
}
