package gate_test

import (
	"context"
	"testing"
	"time"

	"github.com/signet-dev/signet/gate"
	"github.com/signet-dev/signet/sign"
)

// TestGateBackfill: images pushed before the gate started (no notification)
// are queued by Gate.Backfill and judged by the gate's own workers; a second
// backfill, once they are judged, queues nothing.
func TestGateBackfill(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second)
	signed := e.reg.PushImage(t, "team/app:v1")
	if _, err := e.release.SignImage(context.Background(), signed.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	unsigned := e.reg.PushImage(t, "team/lib:v1")
	res, err := e.g.Backfill(context.Background(), gate.BackfillConfig{Workers: 2})
	if err != nil || res.Repositories != 2 || res.Queued != 2 {
		t.Fatalf("backfill = %+v, %v; want 2 repositories, 2 queued", res, err)
	}
	if r := e.waitState(signed, gate.StatePassed); r.VSAResult != "PASSED" {
		t.Errorf("signed image after the backfill: %+v, want a PASSED summary", r)
	}
	e.waitState(unsigned, gate.StateUnverified)
	res, err = e.g.Backfill(context.Background(), gate.BackfillConfig{})
	if err != nil || res.Queued != 0 || res.Known != 2 {
		t.Errorf("backfill of judged images = %+v, %v; want nothing queued, 2 known", res, err)
	}
}

// TestBackfillFromOutside: images queued by a backfill run apart from the
// gate (signet gate backfill, another process on the same state) are
// claimed and judged by the running gate, without a restart.
func TestBackfillFromOutside(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second)
	signed := e.reg.PushImage(t, "team/app:v1")
	if _, err := e.release.SignImage(context.Background(), signed.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	res, err := gate.Backfill(context.Background(), e.stateOrDir(), gate.BackfillConfig{Registry: e.reg.Host, Client: e.client})
	if err != nil || res.Queued != 1 {
		t.Fatalf("backfill = %+v, %v; want 1 queued", res, err)
	}
	e.waitState(signed, gate.StatePassed)
}
