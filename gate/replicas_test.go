package gate_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/gate"
	"github.com/signet-dev/signet/internal/dbtest"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// replica runs another gate on e's state (its PostgreSQL database) and
// returns its address; it stops when the test ends.
func (e *env) replica() string {
	e.t.Helper()
	return e.replicaWith(e.eng)
}

// replicaWith is replica deciding with dec.
func (e *env) replicaWith(dec gate.Decider) string {
	e.t.Helper()
	cfg := e.config(dec)
	cfg.Log = slog.New(slog.NewTextHandler(&e.logs, nil))
	g, err := gate.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	srv := httptest.NewServer(g.Handler())
	e.t.Cleanup(func() { srv.Close(); cancel(); <-done })
	return srv.URL
}

// summaries counts the verification summaries attached to d.
func (e *env) summaries(t *testing.T, d name.Digest) int {
	t.Helper()
	found, err := attest.Statements(context.Background(), e.client, d.String(), policy.VSAPredicateType)
	if err != nil {
		t.Fatalf("listing the summaries of %s: %v", d, err)
	}
	return len(found)
}

// TestReplicas: two gates on one PostgreSQL database, the same events sent
// to both and others to one each: every accepted event ends in one verdict
// (a signed image is verified once), every settled image has exactly one
// summary, and the queue is empty.
func TestReplicas(t *testing.T) {
	t.Parallel()
	srv := dbtest.Postgres(t)
	e := newEnvSetup(t, 2*time.Second, func(e *env) { e.state = srv.NewDatabase(t, "replicas") })
	urls := []string{e.srv.URL, e.replica()}
	type image struct {
		d      name.Digest
		signed bool
	}
	var images []image
	for i := range 24 {
		d := e.reg.PushImage(t, fmt.Sprintf("rep/app%d:v1", i%4))
		signed := i%3 != 2
		if signed {
			if _, err := e.release.SignImage(context.Background(), d.String(), sign.Request{}); err != nil {
				t.Fatal(err)
			}
		}
		images = append(images, image{d, signed})
	}
	// Image i%3 == 0: one event sent to both gates (the registry's retry
	// after a timeout); 1: two events (two tags pushed) one to each, at
	// once, so both gates verify the image together; 2: one event to one.
	events := make([]int, len(images)) // accepted events per image
	var accepted int
	for i, im := range images {
		repo := fmt.Sprintf("rep/app%d", i%4)
		first, second := envelope(ev{repo, im.d.DigestStr(), "v1", ""}), envelope(ev{repo, im.d.DigestStr(), "latest", ""})
		sends := map[int][]struct {
			url  string
			body []byte
		}{0: {{urls[0], first}, {urls[1], first}}, 1: {{urls[0], first}, {urls[1], second}}, 2: {{urls[i%2], first}}}[i%3]
		codes := make(chan int, len(sends))
		for _, snd := range sends {
			go func() { codes <- postTo(t, snd.url, snd.body, "Bearer "+secret) }()
		}
		for range sends {
			if code := <-codes; code != http.StatusOK {
				t.Fatalf("notifying image %d: %d", i, code)
			}
			accepted++
		}
		events[i] = map[int]int{0: 1, 1: 2, 2: 1}[i%3]
	}
	var verdicts, summaries int
	for i, im := range images {
		want := gate.StateUnverified
		if im.signed {
			want = gate.StatePassed
		}
		r := e.waitState(im.d, want)
		verdicts++
		if im.signed && r.Checks != events[i] {
			t.Errorf("image %d (signed, %d events) verified %d times, want %d: once per event", i, events[i], r.Checks, events[i])
		}
		// A duplicate may land a moment after the first: look again once
		// the queue is empty.
		e.drained()
		if n := e.summaries(t, im.d); n != 1 {
			t.Errorf("image %d (%s) has %d summaries, want 1", i, r.State, n)
		}
		summaries += e.summaries(t, im.d)
	}
	t.Logf("replicas: accepted=%d verdicts=%d summaries=%d duplicates=%d", accepted, verdicts, summaries, summaries-verdicts)
}

// TestSummaryAfterCrash: a replica that died after claiming an image's
// summary — before attaching it, or after attaching it and before
// recording it — leaves its job claimed; once the lease ends another
// replica re-runs the job and the image has exactly one summary, the one
// recorded.
func TestSummaryAfterCrash(t *testing.T) {
	t.Parallel()
	for _, attached := range []bool{false, true} {
		t.Run(fmt.Sprintf("attached=%v", attached), func(t *testing.T) {
			t.Parallel()
			e := newEnvSetup(t, time.Minute, func(e *env) { e.lease = time.Second })
			e.stop()
			d := e.reg.PushImage(t, "crash/app:v1")
			if _, err := e.release.SignImage(context.Background(), d.String(), sign.Request{}); err != nil {
				t.Fatal(err)
			}
			at := time.Now()
			if err := gate.CrashBeforeRecording(e.stateOrDir(), "ev-crash", "crash/app", d.DigestStr(), "v1", at, at.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			want := ""
			if attached {
				cfg := gate.Config{Registry: e.reg.Host, VerifierID: "https://signet.dev/gate", PolicyName: e.policy.Source.Metadata.Name, PolicyHash: e.policy.Hash}
				stmt, err := gate.Summary(cfg, gate.Record{Repository: "crash/app", Digest: d.DigestStr()}, &verify.Decision{}, "PASSED", at)
				if err != nil {
					t.Fatal(err)
				}
				gs, _ := sign.New(e.gateKey, e.client)
				out, err := attest.New(gs, e.client).AttestImage(context.Background(), d.String(), attest.Request{Statement: stmt})
				if err != nil {
					t.Fatal(err)
				}
				want = out[0].Attached.Digest.String()
			}
			e.start()
			r := e.waitState(d, gate.StatePassed)
			e.drained()
			if n := e.summaries(t, d); n != 1 {
				t.Fatalf("%d summaries on the image after the re-run, want 1", n)
			}
			if want != "" && r.VSA != want {
				t.Fatalf("recorded summary %s, want the one the dead replica attached, %s", r.VSA, want)
			}
		})
	}
}

// TestDatabaseGoesAway: PostgreSQL stops (by its PID) while notifications
// arrive: the registry is answered 503 for what could not be committed —
// never 200 for an event then lost — and /status answers 503; once the
// database is back, the events sent again are accepted, and every image is
// judged and has one summary.
func TestDatabaseGoesAway(t *testing.T) {
	t.Parallel()
	srv := dbtest.Postgres(t)
	e := newEnvSetup(t, time.Minute, func(e *env) { e.state, e.lease = srv.NewDatabase(t, "away"), 2*time.Second })
	const n = 30
	var images []name.Digest
	for i := range n {
		d := e.reg.PushImage(t, fmt.Sprintf("away/app%d:v1", i%3))
		if _, err := e.release.SignImage(context.Background(), d.String(), sign.Request{}); err != nil {
			t.Fatal(err)
		}
		images = append(images, d)
	}
	body := func(i int) []byte {
		return envelope(ev{fmt.Sprintf("away/app%d", i%3), images[i].DigestStr(), "v1", ""})
	}
	var refused []int
	var refusedStatus bool
	for i := range n {
		if i == n/3 {
			srv.Stop(t)
			if _, code := e.statusOver("Bearer " + secret); code != http.StatusServiceUnavailable {
				t.Errorf("GET /status with the database stopped: %d, want 503", code)
			}
			refusedStatus = true
		}
		if i == 2*n/3 {
			srv.Start(t)
		}
		switch code := e.post(body(i), "Bearer "+secret); code {
		case http.StatusOK:
		case http.StatusServiceUnavailable:
			refused = append(refused, i)
		default:
			t.Fatalf("event %d: %d, want 200 or 503", i, code)
		}
	}
	if len(refused) == 0 || !refusedStatus {
		t.Fatalf("no event was refused while the database was stopped")
	}
	// The registry sends the refused ones again (bounded, as its retries).
	for _, i := range refused {
		code := 0
		for try := 0; try < 50 && code != http.StatusOK; try++ {
			if code = e.post(body(i), "Bearer "+secret); code != http.StatusOK {
				time.Sleep(100 * time.Millisecond)
			}
		}
		if code != http.StatusOK {
			t.Fatalf("event %d sent again after the database returned: %d", i, code)
		}
	}
	// A job whose verdict or summary could not be recorded while the
	// database was away is run again: verified twice, summarized once.
	again := 0
	for _, d := range images {
		if r := e.waitState(d, gate.StatePassed); r.Checks > 1 {
			again++
		}
	}
	e.drained()
	for i, d := range images {
		if k := e.summaries(t, d); k != 1 {
			t.Errorf("image %d has %d summaries, want 1", i, k)
		}
	}
	t.Logf("database away: %d of %d events refused with 503 while it was stopped, all judged once it returned (%d verified again), one summary each", len(refused), n, again)
}
