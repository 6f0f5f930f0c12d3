package gate_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/signet-dev/signet/gate"
	"github.com/signet-dev/signet/internal/dbtest"
	"github.com/signet-dev/signet/sign"
)

// TestPrunedWhileDeciding: another replica's retention (--keep) deletes an
// image's record while this one decides it again. The verdict is not
// lost, nor left as a hidden row: the image is decided again and recorded
// as new, with a summary of its own.
func TestPrunedWhileDeciding(t *testing.T) {
	t.Parallel()
	srv := dbtest.Postgres(t)
	e := newEnvSetup(t, time.Minute, func(e *env) { e.state = srv.NewDatabase(t, "pruned") })
	d := e.reg.PushImage(t, "pruned/app:v1")
	if _, err := e.release.SignImage(context.Background(), d.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	if code := e.notify(ev{"pruned/app", d.DigestStr(), "v1", ""}); code != http.StatusOK {
		t.Fatalf("notifying: %d", code)
	}
	e.waitState(d, gate.StatePassed)
	e.drained()
	e.stop()

	slow := &blockingDecider{release: make(chan struct{}), inner: e.eng}
	started := make(chan struct{}, 1)
	e.startWith(deciderFunc(func(context.Context, string) {
		select {
		case started <- struct{}{}:
		default:
		}
	}, slow))
	if code := e.notify(ev{"pruned/app", d.DigestStr(), "v2", ""}); code != http.StatusOK {
		t.Fatalf("notifying: %d", code)
	}
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the gate never began deciding")
	}
	srv.Exec(t, "pruned", "DELETE FROM records")
	close(slow.release)
	r := e.waitState(d, gate.StatePassed)
	e.drained()
	if r.Checks != 1 || !slices.Equal(r.Tags, []string{"v2"}) || r.VSA == "" {
		t.Errorf("record after the prune: %+v, want passed once as v2, with its summary", r)
	}
	if n := e.summaries(t, d); n != 2 {
		t.Errorf("%d summaries, want 2 (the first record's and the new one's)", n)
	}
}
