package gate

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/internal/dbtest"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/verify"
)

// benchEngines are the states the benchmarks run on: a fresh SQLite
// directory, or a fresh database on one PostgreSQL server (started on
// first use, stopped when the benchmark parent ends).
func benchEngines(parent *testing.B) []struct {
	name  string
	state func(b *testing.B) string
} {
	var srv *dbtest.Server
	var n atomic.Int64
	return []struct {
		name  string
		state func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return b.TempDir() }},
		{"postgres", func(b *testing.B) string {
			if srv == nil {
				srv = dbtest.Postgres(parent)
			}
			return srv.NewDatabase(b, fmt.Sprintf("bench%d", n.Add(1)))
		}},
	}
}

// BenchmarkRecordVerdict measures verdicts recorded durably per second: one
// store update (a new repository@digest settled as passed) per iteration,
// on a store that already holds the records of the iterations before it.
func BenchmarkRecordVerdict(b *testing.B) {
	for _, e := range benchEngines(b) {
		b.Run(e.name, func(b *testing.B) {
			st, err := openStore(context.Background(), e.state(b))
			if err != nil {
				b.Fatal(err)
			}
			defer st.close()
			now := time.Now()
			b.ResetTimer()
			for i := range b.N {
				_, err := st.update(context.Background(), fmt.Sprintf("team/app%d", i%50), fmt.Sprintf("sha256:%064x", i), func(r *Record) {
					r.Pushed, r.Updated, r.State, r.Checks = now, now, StatePassed, 1
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verdicts/s")
		})
	}
}

// allowAll decides every image allowed (no rule): a verdict with no
// summary, so the benchmark measures the gate's queue and state, not the
// registry or signing.
type allowAll struct{}

func (allowAll) Decide(context.Context, string) *verify.Decision {
	return &verify.Decision{Allowed: true}
}

// BenchmarkGateReplicas measures verdicts per second through whole gates —
// claim, decide, record (lease checked), done — with b.N re-check jobs
// queued, on SQLite with one gate, and on PostgreSQL with one and two
// gates (replicas) sharing the database.
func BenchmarkGateReplicas(b *testing.B) {
	for _, e := range benchEngines(b) {
		for _, replicas := range []int{1, 2} {
			if e.name == "sqlite" && replicas > 1 {
				continue // one process per SQLite file
			}
			b.Run(fmt.Sprintf("%s/replicas=%d", e.name, replicas), func(b *testing.B) {
				benchReplicas(b, e.state(b), replicas)
			})
		}
	}
}

func benchReplicas(b *testing.B, state string, replicas int) {
	ctx := context.Background()
	st, err := openStore(ctx, state)
	if err != nil {
		b.Fatal(err)
	}
	defer st.close()
	now := time.Now()
	for i := range b.N {
		j := &job{ID: fmt.Sprintf("recheck %d", i), Repository: fmt.Sprintf("team/app%d", i%50), Digest: fmt.Sprintf("sha256:%064x", i), Recheck: true, Received: now}
		if _, err := st.enqueue(ctx, j); err != nil {
			b.Fatal(err)
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, replicas)
	b.ResetTimer()
	for range replicas {
		g, err := New(Config{Registry: "registry.invalid", Client: oci.New(), Decider: allowAll{}, Attester: attest.New(nil, oci.New()),
			Secret: "s", State: state, Grace: time.Hour, Poll: 10 * time.Millisecond, Workers: 4})
		if err != nil {
			b.Fatal(err)
		}
		go func() { done <- g.Run(runCtx) }()
	}
	for deadline := time.Now().Add(5 * time.Minute); ; {
		n, err := st.queueDepth(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d jobs still queued after 5 minutes", n, b.N)
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	cancel()
	for range replicas {
		<-done
	}
	if c, _ := st.counts(ctx); c[StateAllowed] != b.N {
		b.Fatalf("%d verdicts recorded, want %d", c[StateAllowed], b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verdicts/s")
}
