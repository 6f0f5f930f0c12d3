package gate

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// probeCounter counts the state probes /readyz makes.
type probeCounter struct {
	store
	n atomic.Int32
}

func (p *probeCounter) writable(ctx context.Context) error {
	p.n.Add(1)
	return p.store.writable(ctx)
}

// TestReadyz: /readyz answers 200 while the state can be written (also
// while another writer holds SQLite's lock) and 503 once it cannot — with
// the database's own words in the log, not in the open answer — probes at
// most once a second however often it is asked, and leaves nothing behind
// in the state.
func TestReadyz(t *testing.T) {
	st := testStore(t, t.TempDir())
	pc := &probeCounter{store: st}
	g := testGate(pc)
	var logs bytes.Buffer
	g.cfg.Log = slog.New(slog.NewTextHandler(&logs, nil))
	h := g.Handler()
	get := func() (int, string) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		body, _ := io.ReadAll(rec.Body)
		return rec.Code, string(body)
	}

	for i := range 5 {
		if code, body := get(); code != http.StatusOK || body != "ready\n" {
			t.Fatalf("request %d with the state writable: %d %q, want 200 ready", i, code, body)
		}
	}
	if n := pc.n.Load(); n != 1 {
		t.Errorf("5 requests within a second probed the state %d times, want 1", n)
	}
	var left int
	if err := st.db.QueryRow(`SELECT COUNT(*) FROM schema_version WHERE version = 0`).Scan(&left); err != nil || left != 0 {
		t.Errorf("rows the probe left in schema_version: %d (%v), want 0", left, err)
	}

	// Another writer holds SQLite's one write lock for longer than a probe
	// waits (a backfill, a long prune): the state is being written, and an
	// event would wait out the busy timeout, so the gate stays ready.
	other, err := sql.Open("sqlite", "file:"+st.where+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	held, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	g.readiness.timeout, g.readiness.at = 300*time.Millisecond, time.Time{}
	if code, body := get(); code != http.StatusOK {
		t.Errorf("with another writer holding the lock: %d %q, want 200", code, body)
	}
	held.Rollback()

	st.db.Close() // the database goes away
	time.Sleep(readyEvery)
	for i := range 3 {
		code, body := get()
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "cannot write its state") {
			t.Fatalf("request %d with the database closed: %d %q, want 503 saying the state cannot be written", i, code, body)
		}
		if strings.Contains(body, "sql") || strings.Contains(body, "closed") {
			t.Errorf("the open answer carries the database's words: %q", body)
		}
	}
	if n := strings.Count(logs.String(), "not ready"); n != 1 || !strings.Contains(logs.String(), "database is closed") {
		t.Errorf("log: %q, want one line saying the gate is not ready, with the database's error", logs.String())
	}
}
