package fleet_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/fleet"
	"github.com/signet-dev/signet/oci"
)

// BenchmarkCheck decides 200 distinct signed images (20 repositories of
// 10: the in-memory registry reads every manifest of a repository to list
// one image's referrers) under two policies through one memo-backed client
// on go-containerregistry's default transport, as fleet check does: the
// engine's own cost, for profiling (-cpuprofile, -memprofile).
// bench/fleet.go measures the whole process against the distribution
// registry.
func BenchmarkCheck(b *testing.B) {
	w := newWorld(b)
	var refs []string
	for i := range 200 {
		tag := fmt.Sprintf("team/bench-%02d:%d", i%20, i)
		w.push(b, "release", tag)
		refs = append(refs, w.image(tag))
	}
	ws := fleet.Images(refs)
	for _, workers := range []int{1, 2, 4, 8, 32} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			n := 0
			for b.Loop() {
				c := oci.New(oci.WithTransport(fleet.NewMemoTransport(remote.DefaultTransport)), oci.WithRetries(1))
				r := fleet.Check(context.Background(), ws, w.engine(b, c, nextPolicy),
					fleet.WithCurrent(w.engine(b, c, currentPolicy)), fleet.WithWorkers(workers))
				if r.Summary.Unchanged != len(refs) {
					b.Fatalf("summary %+v, want all %d unchanged", r.Summary, len(refs))
				}
				n += len(refs)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
