package gate_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/gate"
	"github.com/signet-dev/signet/internal/dbtest"
	"github.com/signet-dev/signet/sign"
)

// TestReadOnlyDatabase: the gate's PostgreSQL database turns read-only
// (default_transaction_read_only, as a standby promoted wrongly or an
// operator's mistake) under a running gate: every notification is answered
// 503 — never 200 for an event it cannot keep — /readyz says it is not
// ready, and a gate starting on it refuses to start; once writable again
// the events sent again are judged and /readyz says it is ready.
func TestReadOnlyDatabase(t *testing.T) {
	t.Parallel()
	srv := dbtest.Postgres(t)
	e := newEnvSetup(t, time.Minute, func(e *env) { e.state = srv.NewDatabase(t, "ro") })
	signed := func(tag string) []byte {
		d := e.reg.PushImage(t, "ro/app:"+tag)
		if _, err := e.release.SignImage(context.Background(), d.String(), sign.Request{}); err != nil {
			t.Fatal(err)
		}
		return envelope(ev{"ro/app", d.DigestStr(), tag, ""})
	}
	readOnly := func(on bool) {
		setting := map[bool]string{true: "on", false: "off"}[on]
		srv.Exec(t, "", "ALTER DATABASE ro SET default_transaction_read_only = "+setting)
		// Sessions read the setting as they begin: end the gate's.
		srv.Exec(t, "", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'ro'")
	}
	if code := e.post(signed("v1"), "Bearer "+secret); code != http.StatusOK {
		t.Fatalf("before: %d", code)
	}
	e.drained()

	readOnly(true)
	late := signed("v2")
	for i := range 5 {
		if code := e.post(late, "Bearer "+secret); code != http.StatusServiceUnavailable {
			t.Fatalf("notification %d with the database read-only: %d, want 503", i, code)
		}
	}
	// Asked twice, a probe apart, so that a connection ended by readOnly
	// cannot be the reason.
	for i := range 2 {
		if i > 0 {
			time.Sleep(1100 * time.Millisecond)
		}
		if code := e.get("/readyz", ""); code != http.StatusServiceUnavailable {
			t.Errorf("GET /readyz %d with the database read-only: %d, want 503", i+1, code)
		}
	}
	if _, err := gate.New(e.config(e.eng)); err == nil || !errors.Is(err, gate.ErrState) || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("a gate starting on the read-only database: %v, want ErrState saying it is read-only", err)
	}

	readOnly(false)
	code := 0
	for try := 0; try < 50 && code != http.StatusOK; try++ {
		if code = e.post(late, "Bearer "+secret); code != http.StatusOK {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if code != http.StatusOK {
		t.Fatalf("sent again once writable: %d", code)
	}
	ready := 0
	for try := 0; try < 50 && ready != http.StatusOK; try++ {
		if ready = e.get("/readyz", ""); ready != http.StatusOK {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if ready != http.StatusOK {
		t.Errorf("GET /readyz once the database is writable again: %d, want 200", ready)
	}
	e.drained()
	if st := mustStatus(e.g, gate.StatePassed); st.Counts[gate.StatePassed] != 2 {
		t.Fatalf("after the database was writable again: %v, want both images passed", st.Counts)
	}
}
