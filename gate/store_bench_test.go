package gate

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkRecordVerdict measures verdicts recorded durably per second: one
// store update (a new repository@digest settled as passed) per iteration,
// on a store that already holds the records of the iterations before it.
func BenchmarkRecordVerdict(b *testing.B) {
	st, err := openStore(context.Background(), b.TempDir())
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
}
