package gate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testStore opens the store in state (a directory or a PostgreSQL URL),
// closed when the test ends.
func testStore(t *testing.T, dir string) *sqlStore {
	t.Helper()
	st, err := openStore(context.Background(), dir)
	if err != nil {
		t.Fatalf("opening the store in %s: %v", dir, err)
	}
	t.Cleanup(func() { st.close() })
	return st
}

func testJob(id string, received time.Time) *job {
	return &job{ID: id, Repository: "team/app", Digest: "sha256:" + strings.Repeat("a", 64), Tag: "v1", Received: received}
}

func settle(t *testing.T, st store, repo, digest, state string, at time.Time) {
	t.Helper()
	if _, err := st.update(context.Background(), repo, digest, func(r *Record) {
		r.Pushed, r.Updated, r.State, r.Checks = at, at, state, r.Checks+1
	}); err != nil {
		t.Fatalf("recording %s@%s: %v", repo, digest, err)
	}
}

func digestN(i int) string { return fmt.Sprintf("sha256:%064x", i) }

// TestStoreRestartKeepsVerdictsAndQueue: what was committed before a close
// is there after the database is opened again, the queue in its order.
func testRestartKeepsVerdictsAndQueue(t *testing.T, newState func(*testing.T) string) {
	ctx, dir := context.Background(), newState(t)
	st, err := openStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var jobs []*job
	for i := range 3 {
		j := testJob(fmt.Sprintf("ev-%d", i), t0.Add(time.Duration(i)*time.Second))
		if ok, err := st.accept(ctx, j, 10); !ok || err != nil {
			t.Fatalf("accepting %s: %v %v, want true <nil>", j.ID, ok, err)
		}
		jobs = append(jobs, j)
	}
	if err := st.done(ctx, jobs[1]); err != nil {
		t.Fatal(err)
	}
	settle(t, st, "team/app", digestN(1), StatePassed, t0)
	if _, err := st.update(ctx, "team/app", digestN(1), func(r *Record) { r.Tags, r.VSA = []string{"v1"}, "sha256:vsa" }); err != nil {
		t.Fatal(err)
	}
	if err := st.close(); err != nil {
		t.Fatal(err)
	}

	st = testStore(t, dir)
	got, err := st.pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "ev-0" || got[1].ID != "ev-2" || !got[1].Received.Equal(t0.Add(2*time.Second)) || got[1].Tag != "v1" {
		t.Fatalf("after a restart the queue is %+v, want ev-0 then ev-2 as accepted", got)
	}
	r, ok, err := st.get(ctx, "team/app", digestN(1))
	if err != nil || !ok {
		t.Fatalf("after a restart the verdict is gone: %v %v", ok, err)
	}
	if r.State != StatePassed || r.Checks != 1 || r.VSA != "sha256:vsa" || len(r.Tags) != 1 || !r.Pushed.Equal(t0) {
		t.Fatalf("after a restart the verdict is %+v, want passed, 1 check, tag v1, its VSA", r)
	}
	if n, err := st.queueDepth(ctx); n != 2 || err != nil {
		t.Fatalf("queue depth %d %v, want 2", n, err)
	}
}

// TestStoreSameEventOnce: an event id sent twice (the registry retries) is
// one job, also across a restart; a full queue takes nothing.
func testSameEventOnce(t *testing.T, newState func(*testing.T) string) {
	ctx, dir := context.Background(), newState(t)
	st := testStore(t, dir)
	now := time.Now()
	if ok, err := st.accept(ctx, testJob("ev-1", now), 2); !ok || err != nil {
		t.Fatalf("first accept: %v %v, want true <nil>", ok, err)
	}
	if ok, err := st.accept(ctx, testJob("ev-1", now), 2); ok || err != nil {
		t.Fatalf("second accept of the same id: %v %v, want false <nil>", ok, err)
	}
	st.close()
	st = testStore(t, dir)
	if ok, err := st.accept(ctx, testJob("ev-1", now), 2); ok || err != nil {
		t.Fatalf("the same id after a restart: %v %v, want false <nil>", ok, err)
	}
	if ok, err := st.accept(ctx, testJob("ev-2", now), 2); !ok || err != nil {
		t.Fatalf("a second event: %v %v, want true <nil>", ok, err)
	}
	if _, err := st.accept(ctx, testJob("ev-3", now), 2); !errors.Is(err, errQueueFull) {
		t.Fatalf("a third event on a queue of 2: %v, want errQueueFull", err)
	}
	// Refused for a full queue is not seen: sent again later, it is taken.
	js, _ := st.pending(ctx)
	st.done(ctx, js[0])
	if ok, err := st.accept(ctx, testJob("ev-3", now), 2); !ok || err != nil {
		t.Fatalf("the refused event sent again: %v %v, want true <nil>", ok, err)
	}
	if js, _ := st.pending(ctx); len(js) != 2 || js[0].ID != "ev-2" || js[1].ID != "ev-3" {
		t.Fatalf("queue %v, want ev-2, ev-3", js)
	}
}

// TestStoreKeepsEveryRecord: the file store dropped records beyond 5,000;
// the database keeps them all.
func testKeepsEveryRecord(t *testing.T, newState func(*testing.T) string) {
	ctx := context.Background()
	st := testStore(t, newState(t))
	const n = 6000
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// In batches, as many workers' verdicts would land: one transaction
	// each keeps the test fast; update is tested on its own elsewhere.
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Second)
		if _, err := tx.ExecContext(ctx, st.q(`INSERT INTO records (repository, digest, tags, pushed, deadline, state, checks, updated) VALUES (?, ?, '[]', ?, ?, ?, 1, ?)`),
			"team/app", digestN(i), nanos(at), nanos(at), StatePassed, nanos(at)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	settle(t, st, "team/app", digestN(n), StateFailed, t0.Add(n*time.Second))
	c, err := st.counts(ctx)
	if err != nil || c[StatePassed] != n || c[StateFailed] != 1 {
		t.Fatalf("counts %v %v, want %d passed and 1 failed", c, err, n)
	}
	if _, ok, _ := st.get(ctx, "team/app", digestN(0)); !ok {
		t.Fatalf("the oldest of %d records is gone", n+1)
	}
}

// testGate is a Gate on st that only serves: no registry, no workers.
func testGate(st store) *Gate {
	return &Gate{cfg: Config{Secret: "s3cret", StatusToken: "s3cret", MaxQueue: 100, Now: time.Now, Log: slog.New(slog.DiscardHandler)},
		store: st, wake: make(chan struct{}, 1)}
}

func getStatus(t *testing.T, h http.Handler, query string) (int, Status) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/status?"+query, nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var st Status
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
			t.Fatalf("GET /status?%s: %v", query, err)
		}
	}
	return rec.Code, st
}

// TestStatusPaged: GET /status pages through the records newest first,
// filtered by state and repository, with the counts of all of them.
func testStatusPaged(t *testing.T, newState func(*testing.T) string) {
	st := testStore(t, newState(t))
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range 25 {
		state := StatePassed
		if i%5 == 0 {
			state = StateUnverified
		}
		settle(t, st, fmt.Sprintf("team/app%d", i%2), digestN(i), state, t0.Add(time.Duration(i)*time.Minute))
	}
	h := testGate(st).Handler()
	tests := []struct {
		query string
		want  []int // the records' digests, by number
		next  int
	}{
		{"limit=10", []int{24, 23, 22, 21, 20, 19, 18, 17, 16, 15}, 10},
		{"limit=10&offset=20", []int{4, 3, 2, 1, 0}, 0},
		{"state=unverified", []int{20, 15, 10, 5, 0}, 0},
		{"state=unverified&repository=team/app0&limit=2", []int{20, 10}, 2},
		{"state=unverified&repository=team/app0&limit=2&offset=2", []int{0}, 0},
		{"repository=team/none", []int{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			code, got := getStatus(t, h, tt.query)
			if code != http.StatusOK {
				t.Fatalf("GET /status?%s: %d, want 200", tt.query, code)
			}
			var digests []string
			for _, r := range got.Records {
				digests = append(digests, r.Digest)
			}
			var want []string
			for _, i := range tt.want {
				want = append(want, digestN(i))
			}
			if strings.Join(digests, " ") != strings.Join(want, " ") || got.Next != tt.next {
				t.Fatalf("GET /status?%s: %d records (next %d), want %v (next %d)", tt.query, len(digests), got.Next, tt.want, tt.next)
			}
			if got.Counts[StatePassed] != 20 || got.Counts[StateUnverified] != 5 {
				t.Fatalf("counts %v, want 20 passed and 5 unverified", got.Counts)
			}
		})
	}
	if code, _ := getStatus(t, h, "limit=-1"); code != http.StatusBadRequest {
		t.Fatalf("GET /status?limit=-1: %d, want 400", code)
	}
}

// TestStoreCrashLeavesJobPending: a job accepted but never done (the gate
// died in between) is pending when the database is opened again, by a
// process that never saw the first one close it.
func TestStoreCrashLeavesJobPending(t *testing.T) {
	t.Parallel()
	ctx, dir := context.Background(), t.TempDir()
	crashed, err := openStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer crashed.close() // only after the second has read
	if ok, err := crashed.accept(ctx, testJob("ev-crash", time.Now()), 10); !ok || err != nil {
		t.Fatalf("accept: %v %v", ok, err)
	}
	// Copy the database as the crash left it (main file and WAL, as they
	// are on disk, with no checkpoint) and open the copy.
	copyDir := t.TempDir()
	for _, name := range []string{dbFile, dbFile + "-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(copyDir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	js, err := testStore(t, copyDir).pending(ctx)
	if err != nil || len(js) != 1 || js[0].ID != "ev-crash" {
		t.Fatalf("after the crash the queue is %v %v, want ev-crash", js, err)
	}
}

// TestStorePruneDeletesOnlyOldRows: retention deletes settled verdicts
// last updated before the cut, never a newer one or a pending one, nor the
// id of an event whose job is still queued.
func testPruneDeletesOnlyOldRows(t *testing.T, newState func(*testing.T) string) {
	ctx := context.Background()
	st := testStore(t, newState(t))
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	cut := now.Add(-90 * 24 * time.Hour)
	settle(t, st, "team/app", digestN(1), StatePassed, cut.Add(-time.Hour))     // old: deleted
	settle(t, st, "team/app", digestN(2), StateFailed, cut.Add(-time.Second))   // old: deleted
	settle(t, st, "team/app", digestN(3), StatePassed, cut.Add(time.Second))    // new: kept
	settle(t, st, "team/app", digestN(4), StatePending, cut.Add(-48*time.Hour)) // pending: kept
	st.accept(ctx, testJob("ev-old-done", cut.Add(-time.Hour)), 10)
	st.accept(ctx, testJob("ev-old-queued", cut.Add(-time.Hour)), 10)
	js, _ := st.pending(ctx)
	st.done(ctx, js[0])

	n, err := st.prune(ctx, cut)
	if err != nil || n != 2 {
		t.Fatalf("prune: %d %v, want 2 records deleted", n, err)
	}
	for i, want := range map[int]bool{1: false, 2: false, 3: true, 4: true} {
		if _, ok, _ := st.get(ctx, "team/app", digestN(i)); ok != want {
			t.Errorf("record %d kept: %v, want %v", i, ok, want)
		}
	}
	// The event still queued stays seen; the done one may come again.
	if ok, _ := st.accept(ctx, testJob("ev-old-queued", now), 10); ok {
		t.Error("an event whose job is queued was accepted again after prune")
	}
	if ok, _ := st.accept(ctx, testJob("ev-old-done", now), 10); !ok {
		t.Error("an old, done event's id was not deleted by prune")
	}
}

// TestCorruptDatabaseFailsClosed: a gate.db that is not a database, or a
// symlink where the database goes, is refused with ErrState and the path.
func TestCorruptDatabaseFailsClosed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		plant func(t *testing.T, dir string)
	}{
		{"garbage", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, dbFile), []byte(strings.Repeat("not a database\n", 500)), 0o600)
		}},
		{"symlink", func(t *testing.T, dir string) {
			victim := filepath.Join(t.TempDir(), "victim")
			os.WriteFile(victim, []byte("precious"), 0o600)
			os.Symlink(victim, filepath.Join(dir, dbFile+"-wal"))
		}},
		{"newer schema", func(t *testing.T, dir string) {
			st := testStore(t, dir)
			st.db.Exec(`INSERT INTO schema_version (version) VALUES (?)`, len(sqliteMigrations)+1)
			st.close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tt.plant(t, dir)
			st, err := openStore(context.Background(), dir)
			if err == nil {
				st.close()
				t.Fatalf("opened a %s database, want ErrState", tt.name)
			}
			if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), filepath.Join(dir, dbFile)) {
				t.Fatalf("opening a %s database: %v, want ErrState naming the file", tt.name, err)
			}
		})
	}
}

// TestUnwritableStateAnswers503: when the database cannot be written the
// registry is answered 503 (it sends again) and nothing is half-recorded:
// once the database is back, the same event is accepted as new.
func testUnwritableStateAnswers503(t *testing.T, newState func(*testing.T) string) {
	ctx, dir := context.Background(), newState(t)
	st := testStore(t, dir)
	g := testGate(st)
	h := g.Handler()
	body, _ := json.Marshal(map[string]any{"events": []any{map[string]any{"id": "ev-lost?", "timestamp": time.Now(), "action": "push",
		"target": map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digestN(1), "size": 100, "repository": "team/app", "tag": "v1"}}}})
	post := func() int {
		req := httptest.NewRequest(http.MethodPost, "/events", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer s3cret")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	st.close() // the database goes away
	if code := post(); code != http.StatusServiceUnavailable {
		t.Fatalf("POST /events with the database gone: %d, want 503", code)
	}
	if code, _ := getStatus(t, h, ""); code != http.StatusServiceUnavailable {
		t.Fatalf("GET /status with the database gone: %d, want 503", code)
	}
	g.store = testStore(t, dir) // back (a new connection, for PostgreSQL)
	if js, _ := g.store.pending(ctx); len(js) != 0 {
		t.Fatalf("a refused event was queued: %v", js)
	}
	if code := post(); code != http.StatusOK {
		t.Fatalf("POST /events again: %d, want 200", code)
	}
	if js, _ := g.store.pending(ctx); len(js) != 1 || js[0].ID != "ev-lost?" {
		t.Fatalf("queue %v, want the event sent again", js)
	}
}

// TestImportFileState: the state directory of an older signet (records.json,
// seen.log, queue/) is imported once, its files renamed NAME.imported; a
// second import of the same files (a crash before the renames) changes
// nothing.
func TestImportFileState(t *testing.T) {
	t.Parallel()
	ctx, dir := context.Background(), t.TempDir()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	recs, _ := json.Marshal([]Record{
		{Repository: "team/app", Digest: digestN(1), Tags: []string{"v1"}, Pushed: t0, State: StatePassed, Checks: 2, Updated: t0, VSAResult: "PASSED"},
		{Repository: "team/app", Digest: digestN(2), Pushed: t0.Add(time.Minute), State: StatePending, Deadline: t0.Add(3 * time.Minute), Updated: t0},
	})
	os.WriteFile(filepath.Join(dir, legacyRecords), recs, 0o600)
	os.WriteFile(filepath.Join(dir, legacySeen), []byte("ev-done\nev-queued\n"), 0o600)
	os.MkdirAll(filepath.Join(dir, legacyQueue), 0o700)
	queued, _ := json.Marshal(testJob("ev-queued", t0))
	os.WriteFile(filepath.Join(dir, legacyQueue, "00000000000000000001-ab.json"), queued, 0o600)
	os.WriteFile(filepath.Join(dir, legacyQueue, "00000000000000000002-cd.json"), []byte(`{"id":"torn`), 0o600)
	saved := map[string][]byte{}
	for _, name := range []string{legacyRecords, legacySeen} {
		saved[name], _ = os.ReadFile(filepath.Join(dir, name))
	}

	check := func(st store) {
		t.Helper()
		js, err := st.pending(ctx)
		if err != nil || len(js) != 1 || js[0].ID != "ev-queued" || !js[0].Received.Equal(t0) {
			t.Fatalf("imported queue %v %v, want ev-queued", js, err)
		}
		for _, id := range []string{"ev-done", "ev-queued"} {
			if ok, _ := st.accept(ctx, testJob(id, t0), 10); ok {
				t.Fatalf("%s, seen before the import, was accepted again", id)
			}
		}
		r, ok, err := st.get(ctx, "team/app", digestN(1))
		if err != nil || !ok || r.State != StatePassed || r.Checks != 2 || r.VSAResult != "PASSED" || len(r.Tags) != 1 {
			t.Fatalf("imported record %+v %v %v, want passed with 2 checks", r, ok, err)
		}
		if c, _ := st.counts(ctx); c[StatePassed] != 1 || c[StatePending] != 1 {
			t.Fatalf("imported counts %v, want 1 passed, 1 pending", c)
		}
	}
	st := testStore(t, dir)
	check(st)
	for _, name := range []string{legacyRecords, legacySeen, legacyQueue} {
		if _, err := os.Stat(filepath.Join(dir, name+importedExt)); err != nil {
			t.Fatalf("%s was not renamed %s: %v", name, name+importedExt, err)
		}
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Fatalf("%s is still there after the import", name)
		}
	}
	// A crash before the renames: the files are read again.
	settle(t, st, "team/app", digestN(1), StateFailed, t0.Add(time.Hour))
	st.close()
	for name, b := range saved {
		os.WriteFile(filepath.Join(dir, name), b, 0o600)
	}
	st = testStore(t, dir)
	if r, _, _ := st.get(ctx, "team/app", digestN(1)); r.State != StateFailed {
		t.Fatalf("a second import overwrote a newer verdict: %+v", r)
	}
}

// TestMigrationsApplyOnce: a new database is at the last version, and
// opening it again applies nothing twice.
func testMigrationsApplyOnce(t *testing.T, newState func(*testing.T) string) {
	dir := newState(t)
	for range 2 {
		st := testStore(t, dir)
		migrations := st.d.migrations
		var n, v int
		if err := st.db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_version`).Scan(&n, &v); err != nil {
			t.Fatal(err)
		}
		if n != len(migrations) || v != len(migrations) {
			t.Fatalf("schema_version has %d rows up to %d, want %d", n, v, len(migrations))
		}
		st.close()
	}
}

// TestPostgresURLRedacted: a PostgreSQL state is named user@host:port/db in
// messages, never with its password — also when the database cannot be
// reached, or the URL does not parse.
func TestPostgresURLRedacted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, want string }{
		{"postgres://gate:hunter2pw@127.0.0.1:1/gatedb?sslmode=disable&connect_timeout=2", "gate@127.0.0.1:1/gatedb"},
		{"postgresql://gate:hunter2pw@127.0.0.1:1/gatedb?connect_timeout=2", "gate@127.0.0.1:1/gatedb"},
		{"postgres://gate:hunter2pw@127.0.0.1:1/gatedb?sslmode=bogus", "gate@127.0.0.1:1/gatedb"},
	} {
		_, err := openStore(context.Background(), tc.url)
		if err == nil || !errors.Is(err, ErrState) {
			t.Fatalf("opening %s: %v, want ErrState", tc.want, err)
		}
		if strings.Contains(err.Error(), "hunter2pw") || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("opening %s: %q, want the database named %s and no password", tc.want, err, tc.want)
		}
	}
	if got := RedactURL("postgres://gate:hunter2pw@db.example.com/gate"); got != "gate@db.example.com:5432/gate" {
		t.Fatalf("RedactURL = %q, want gate@db.example.com:5432/gate", got)
	}
}

// TestMigrateFromVersion2: a gate.db of the schema before the shared queue
// (version 2) is migrated on open, its queued job claimable and its verdict
// readable.
func TestMigrateFromVersion2(t *testing.T) {
	t.Parallel()
	ctx, dir := context.Background(), t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE schema_version (version INTEGER NOT NULL)`, sqliteMigrations[0], sqliteMigrations[1],
		`INSERT INTO schema_version (version) VALUES (1), (2)`,
		`INSERT INTO events (id, received) VALUES ('ev-old', 1)`,
		`INSERT INTO jobs (event_id, repository, digest, tag, received) VALUES ('ev-old', 'team/app', '` + digestN(1) + `', 'v1', 1)`,
		`INSERT INTO records (repository, digest, pushed, deadline, state, updated, vsa_result) VALUES ('team/app', '` + digestN(2) + `', 1, 1, 'passed', 1, 'PASSED')`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("building a version 2 database: %v", err)
		}
	}
	db.Close()
	st := testStore(t, dir)
	js, err := st.claim(ctx, hold{"a", time.Now().Add(time.Minute)}, 10, time.Now())
	if err != nil || len(js) != 1 || js[0].ID != "ev-old" || js[0].Recheck {
		t.Fatalf("claiming after the migration: %v %v, want ev-old", ids(js), err)
	}
	if r, ok, err := st.get(ctx, "team/app", digestN(2)); !ok || err != nil || r.State != StatePassed || r.VSAResult != "PASSED" {
		t.Fatalf("the old verdict after the migration: %+v %v %v", r, ok, err)
	}
}
