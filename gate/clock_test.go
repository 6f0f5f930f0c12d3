package gate_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/gate"
	"github.com/signet-dev/signet/internal/dbtest"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// TestReplicaClockAhead: a replica whose clock is a minute ahead (more
// than the lease, 2s) takes a job a live replica holds (its lease looks
// over); the live replica then finds its lease lost and leaves the job, so
// the image still gets one verdict and one summary. (What else a fast clock changes is in the
// example's README.)
func TestReplicaClockAhead(t *testing.T) {
	t.Parallel()
	srv := dbtest.Postgres(t)
	e := newEnvSetup(t, time.Minute, func(e *env) { e.state, e.lease = srv.NewDatabase(t, "clock"), 2*time.Second })
	e.stop()
	slow := &blockingDecider{release: make(chan struct{}), inner: e.eng}
	started := make(chan struct{}, 1)
	e.startWith(deciderFunc(func(ctx context.Context, image string) {
		select {
		case started <- struct{}{}:
		default:
		}
	}, slow))

	d := e.reg.PushImage(t, "clock/app:v1")
	if _, err := e.release.SignImage(context.Background(), d.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	if code := e.post(envelope(ev{"clock/app", d.DigestStr(), "v1", ""}), "Bearer "+secret); code != http.StatusOK {
		t.Fatalf("notifying: %d", code)
	}
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the live replica never began its verification")
	}
	cfg := e.config(e.eng)
	cfg.Now = func() time.Time { return time.Now().Add(time.Minute) }
	fast, err := gate.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fast.Run(ctx) }()
	defer func() { cancel(); <-done }()

	t.Cleanup(func() {
		if t.Failed() {
			t.Log(e.logs.String())
		}
	})
	r := e.waitState(d, gate.StatePassed)
	close(slow.release)
	e.drained()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(e.logs.String(), "leaving a job to the replica that holds it now") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(e.logs.String(), "leaving a job to the replica that holds it now") {
		t.Errorf("the live replica did not leave the job it lost:\n%s", e.logs.String())
	}
	r, _ = e.record(d)
	if r.Checks != 1 || r.State != gate.StatePassed {
		t.Errorf("after both replicas: %s verified %d times, want passed once (the live replica's verdict not recorded)", r.State, r.Checks)
	}
	if n := e.summaries(t, d); n != 1 {
		t.Errorf("%d summaries, want 1", n)
	}
}

// deciderFunc calls before, then decides with inner.
func deciderFunc(before func(ctx context.Context, image string), inner gate.Decider) gate.Decider {
	return decideBefore{before, inner}
}

type decideBefore struct {
	before func(ctx context.Context, image string)
	inner  gate.Decider
}

func (d decideBefore) Decide(ctx context.Context, image string) *verify.Decision {
	d.before(ctx, image)
	return d.inner.Decide(ctx, image)
}
