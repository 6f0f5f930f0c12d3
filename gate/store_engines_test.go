package gate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-dev/signet/internal/dbtest"
)

// storeTests run against every engine: newState returns a fresh state (a
// directory, or a new PostgreSQL database) each time it is called.
var storeTests = []struct {
	name string
	run  func(t *testing.T, newState func(*testing.T) string)
}{
	{"RestartKeepsVerdictsAndQueue", testRestartKeepsVerdictsAndQueue},
	{"SameEventOnce", testSameEventOnce},
	{"KeepsEveryRecord", testKeepsEveryRecord},
	{"StatusPaged", testStatusPaged},
	{"PruneDeletesOnlyOldRows", testPruneDeletesOnlyOldRows},
	{"UnwritableStateAnswers503", testUnwritableStateAnswers503},
	{"MigrationsApplyOnce", testMigrationsApplyOnce},
	{"ClaimAndLease", testClaimAndLease},
	{"LeaseLost", testLeaseLost},
	{"ConcurrentClaims", testConcurrentClaims},
	{"SummaryClaimedOnce", testSummaryClaimedOnce},
	{"RecheckQueuedOnce", testRecheckQueuedOnce},
	{"ConcurrentOpen", testConcurrentOpen},
	{"FiltersAreData", testFiltersAreData},
}

func TestStoreSQLite(t *testing.T) {
	t.Parallel()
	for _, tt := range storeTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, func(t *testing.T) string { return t.TempDir() })
		})
	}
}

// TestStorePostgres runs the store's tests on a real PostgreSQL server,
// each on a database of its own.
func TestStorePostgres(t *testing.T) {
	t.Parallel()
	srv := dbtest.Postgres(t)
	var n atomic.Int64
	for _, tt := range storeTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, func(t *testing.T) string { return srv.NewDatabase(t, fmt.Sprintf("gate%d", n.Add(1))) })
		})
	}
}

func ids(js []*job) []string {
	var out []string
	for _, j := range js {
		out = append(out, j.ID)
	}
	return out
}

// testClaimAndLease: claims take the oldest jobs no one holds, in batches;
// a job held is not claimed again until its lease ends; a retry waits for
// its time; done removes the job.
func testClaimAndLease(t *testing.T, newState func(*testing.T) string) {
	ctx := context.Background()
	st := testStore(t, newState(t))
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		if ok, err := st.accept(ctx, testJob(fmt.Sprintf("ev-%d", i), t0), 10); !ok || err != nil {
			t.Fatalf("accept: %v %v", ok, err)
		}
	}
	a, b := hold{"a", t0.Add(time.Minute)}, hold{"b", t0.Add(time.Minute)}
	got, err := st.claim(ctx, a, 2, t0)
	if err != nil || slices.Compare(ids(got), []string{"ev-0", "ev-1"}) != 0 {
		t.Fatalf("a's claim of 2: %v %v, want ev-0 ev-1", ids(got), err)
	}
	got, err = st.claim(ctx, b, 10, t0)
	if err != nil || slices.Compare(ids(got), []string{"ev-2", "ev-3", "ev-4"}) != 0 {
		t.Fatalf("b's claim of 10: %v %v, want ev-2 ev-3 ev-4 (not a's)", ids(got), err)
	}
	if got, _ := st.claim(ctx, a, 10, t0.Add(59*time.Second)); len(got) != 0 {
		t.Fatalf("claimed %v while every job is held", ids(got))
	}
	// b puts ev-2 back for later; b dies holding ev-3 and ev-4.
	js, _ := st.pending(ctx)
	if err := st.retry(ctx, js[2], "b", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err = st.claim(ctx, hold{"a", t0.Add(10 * time.Minute)}, 10, t0.Add(time.Minute))
	if err != nil || slices.Compare(ids(got), []string{"ev-0", "ev-1", "ev-3", "ev-4"}) != 0 {
		t.Fatalf("a's claim once the leases ended: %v %v, want ev-0 ev-1 ev-3 ev-4 (ev-2 waits for its retry)", ids(got), err)
	}
	got, err = st.claim(ctx, hold{"c", t0.Add(time.Hour)}, 10, t0.Add(2*time.Minute))
	if err != nil || slices.Compare(ids(got), []string{"ev-2"}) != 0 || got[0].Attempts != 0 {
		t.Fatalf("claim at ev-2's retry time: %v %v, want ev-2", ids(got), err)
	}
	// a's heartbeat keeps ev-0 (and only what it names) from others.
	if err := st.renew(ctx, hold{"a", t0.Add(20 * time.Minute)}, []int64{js[0].seq}); err != nil {
		t.Fatal(err)
	}
	got, _ = st.claim(ctx, hold{"b", t0.Add(30 * time.Minute)}, 10, t0.Add(15*time.Minute))
	if slices.Compare(ids(got), []string{"ev-1", "ev-3", "ev-4"}) != 0 {
		t.Fatalf("claim after a renewed ev-0: %v, want ev-1 ev-3 ev-4", ids(got))
	}
	if err := st.release(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	got, _ = st.claim(ctx, hold{"d", t0.Add(40 * time.Minute)}, 10, t0.Add(16*time.Minute))
	if slices.Compare(ids(got), []string{"ev-1", "ev-3", "ev-4"}) != 0 {
		t.Fatalf("claim after b released its jobs: %v, want ev-1 ev-3 ev-4", ids(got))
	}
	for _, j := range got {
		if err := st.done(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := st.queueDepth(ctx); n != 2 {
		t.Fatalf("queue %d after 3 done, want 2", n)
	}
}

// testLeaseLost: a replica whose lease ended and whose job another replica
// claimed records nothing for it, and cannot put it back for a retry.
func testLeaseLost(t *testing.T, newState func(*testing.T) string) {
	ctx := context.Background()
	st := testStore(t, newState(t))
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	st.accept(ctx, testJob("ev-1", t0), 10)
	slow := hold{"slow", t0.Add(time.Minute)}
	js, _ := st.claim(ctx, slow, 1, t0)
	fast := hold{"fast", t0.Add(3 * time.Minute)}
	again, _ := st.claim(ctx, fast, 1, t0.Add(2*time.Minute))
	if len(js) != 1 || len(again) != 1 {
		t.Fatalf("claims %v then %v, want ev-1 twice (the lease ended)", ids(js), ids(again))
	}
	// The slow replica putting the job back for a retry leaves it to fast.
	if err := st.retry(ctx, js[0], slow.Owner, t0); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.claim(ctx, hold{"third", t0.Add(time.Hour)}, 1, t0.Add(2*time.Minute)); len(got) != 0 {
		t.Fatalf("a third replica claimed %v: the slow replica's retry released the job fast holds", ids(got))
	}
	_, err := st.updateHeld(ctx, js[0], slow, "team/app", digestN(1), func(r *Record) bool { r.State = StateFailed; return false })
	if !errors.Is(err, errLeaseLost) {
		t.Fatalf("the slow replica's verdict: %v, want errLeaseLost", err)
	}
	if _, ok, _ := st.get(ctx, "team/app", digestN(1)); ok {
		t.Fatal("the slow replica's verdict was recorded")
	}
	if _, err := st.updateHeld(ctx, again[0], fast, "team/app", digestN(1), func(r *Record) bool { r.State = StatePassed; return true }); err != nil {
		t.Fatalf("the holder's verdict: %v", err)
	}
	if r, _, _ := st.get(ctx, "team/app", digestN(1)); r.State != StatePassed {
		t.Fatalf("record %+v, want the holder's passed", r)
	}
	if n, _ := st.queueDepth(ctx); n != 0 {
		t.Fatalf("queue %d after the holder's verdict finished the job, want 0", n)
	}
}

// testConcurrentClaims: two stores on one database (two replicas), four
// claimers each, take 120 jobs in small batches; each job is claimed once.
func testConcurrentClaims(t *testing.T, newState func(*testing.T) string) {
	ctx := context.Background()
	state := newState(t)
	stores := []*sqlStore{testStore(t, state), testStore(t, state)}
	now := time.Now()
	const n = 120
	for i := range n {
		if ok, err := stores[0].accept(ctx, testJob(fmt.Sprintf("ev-%03d", i), now), n); !ok || err != nil {
			t.Fatalf("accept %d: %v %v", i, ok, err)
		}
	}
	var mu sync.Mutex
	claimed := map[string]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r, st := range stores {
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprintf("replica%d/worker%d", r, w)
				for range n { // bounded: at least one job per round until the queue is empty
					js, err := st.claim(ctx, hold{owner, now.Add(time.Hour)}, 3, now)
					if err != nil {
						errs <- err
						return
					}
					if len(js) == 0 {
						return
					}
					mu.Lock()
					for _, j := range js {
						if prev, dup := claimed[j.ID]; dup {
							errs <- fmt.Errorf("%s claimed by %s and %s", j.ID, prev, owner)
						}
						claimed[j.ID] = owner
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(claimed) != n {
		t.Fatalf("%d jobs claimed, want %d", len(claimed), n)
	}
}

// testSummaryClaimedOnce: of two jobs recording the same settled result,
// only the first claims its summary; a re-run of that job (it died) finds
// its claim; once written, no job claims the same result again, and a new
// result is claimed anew; a released claim is the next job's.
func testSummaryClaimedOnce(t *testing.T, newState func(*testing.T) string) {
	ctx := context.Background()
	st := testStore(t, newState(t))
	now := time.Now()
	verdict := func(id, state string) (mine, resumed bool) {
		t.Helper()
		if _, err := st.update(ctx, "team/app", digestN(1), func(r *Record) {
			r.State, r.Updated = state, now
			mine, resumed = r.claimSummary(id, vsaResult(state), now)
		}); err != nil {
			t.Fatal(err)
		}
		return mine, resumed
	}
	steps := []struct {
		id, state     string
		mine, resumed bool
	}{
		{"job-a", StatePassed, true, false},
		{"job-b", StatePassed, false, false}, // a's claim stands
		{"job-a", StatePassed, true, true},   // a's re-run
		{"job-c", StatePending, false, false},
	}
	for _, s := range steps {
		if mine, resumed := verdict(s.id, s.state); mine != s.mine || resumed != s.resumed {
			t.Fatalf("%s records %s: mine %v resumed %v, want %v %v", s.id, s.state, mine, resumed, s.mine, s.resumed)
		}
	}
	// a writes it.
	st.update(ctx, "team/app", digestN(1), func(r *Record) { r.VSAResult, r.VSA, r.summary = "PASSED", "sha256:vsa", summaryClaim{} })
	if mine, _ := verdict("job-d", StatePassed); mine {
		t.Fatal("a job claimed a summary already written")
	}
	if mine, resumed := verdict("job-e", StateFailed); !mine || resumed {
		t.Fatal("a new result's summary was not claimed")
	}
	if err := st.releaseSummary(ctx, "job-e"); err != nil {
		t.Fatal(err)
	}
	if mine, resumed := verdict("job-f", StateFailed); !mine || resumed {
		t.Fatal("a released claim was not the next job's")
	}
	r, _, _ := st.get(ctx, "team/app", digestN(1))
	if r.summary.job != "job-f" || r.summary.result != "FAILED" || !r.summary.at.Equal(now.UTC().Truncate(time.Nanosecond)) {
		t.Fatalf("claim saved as %+v, want job-f's FAILED at %v", r.summary, now)
	}
}

// testRecheckQueuedOnce: a re-check queued twice under one id (two
// replicas' sweeps) is one job; done, its id may be queued again.
func testRecheckQueuedOnce(t *testing.T, newState func(*testing.T) string) {
	ctx := context.Background()
	st := testStore(t, newState(t))
	rc := func() *job {
		return &job{ID: "recheck team/app@" + digestN(1) + " deadline 1", Repository: "team/app", Digest: digestN(1), Recheck: true, Received: time.Now()}
	}
	if ok, err := st.enqueue(ctx, rc()); !ok || err != nil {
		t.Fatalf("first: %v %v", ok, err)
	}
	if ok, err := st.enqueue(ctx, rc()); ok || err != nil {
		t.Fatalf("second: %v %v, want false <nil>", ok, err)
	}
	js, _ := st.pending(ctx)
	if len(js) != 1 || !js[0].Recheck {
		t.Fatalf("queue %+v, want one re-check", js)
	}
	st.done(ctx, js[0])
	if ok, err := st.enqueue(ctx, rc()); !ok || err != nil {
		t.Fatalf("after done: %v %v, want true <nil>", ok, err)
	}
}

// testConcurrentOpen: replicas starting together on a new database migrate
// it once between them (PostgreSQL: under an advisory lock; SQLite: its
// write lock) and all open it.
func testConcurrentOpen(t *testing.T, newState func(*testing.T) string) {
	state := newState(t)
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			st, err := openStore(context.Background(), state)
			if err == nil {
				st.close()
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("a replica starting with %d others: %v", n-1, err)
		}
	}
	st := testStore(t, state)
	var rows, v int
	if err := st.db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_version`).Scan(&rows, &v); err != nil {
		t.Fatal(err)
	}
	if rows != len(st.d.migrations) || v != len(st.d.migrations) {
		t.Fatalf("schema_version has %d rows up to %d, want each of the %d migrations once", rows, v, len(st.d.migrations))
	}
}

// testFiltersAreData: /status's filters are values bound to the query,
// never SQL: a filter written as SQL selects nothing (not every record),
// and the records stay.
func testFiltersAreData(t *testing.T, newState func(*testing.T) string) {
	ctx := context.Background()
	st := testStore(t, newState(t))
	for i, repo := range []string{"team/app", "team/other"} {
		if _, err := st.update(ctx, repo, digestN(i), func(r *Record) {
			r.State, r.Pushed, r.Updated = StatePassed, time.Now(), time.Now()
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []Query{
		{Repository: "x' OR '1'='1"},
		{Repository: "team/app' --"},
		{State: "passed' OR 'a'='a"},
		{State: "passed'; DELETE FROM records; --"},
		{Repository: `team/app" OR "1"="1`},
		{Repository: "team/%"},
		{Repository: "team/_pp"},
	} {
		q.Limit = 10
		got, err := st.list(ctx, q)
		if err != nil || len(got) != 0 {
			t.Errorf("list(%+v): %d records (%v), want none", q, len(got), err)
		}
	}
	if n, err := st.counts(ctx); err != nil || n[StatePassed] != 2 {
		t.Fatalf("after the filters: %v (%v), want 2 passed records", n, err)
	}
}
