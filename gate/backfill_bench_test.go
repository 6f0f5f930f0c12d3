package gate

import (
	"context"
	"fmt"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
)

// BenchmarkBackfill queues 10,000 images (100 repositories × 100 tags) from
// the in-memory registry, paged 100 names at a time, into a fresh SQLite
// state each iteration, and reports images/s.
func BenchmarkBackfill(b *testing.B) {
	const repos, tags = 100, 100
	reg := registrytest.NewWrapped(b, false, registrytest.Paged(100))
	for r := range repos {
		for t := range tags {
			// Distinct manifests that share the empty config: quick to push.
			img := mutate.Annotations(empty.Image, map[string]string{"n": fmt.Sprint(r, "/", t)}).(v1.Image)
			reg.Push(b, fmt.Sprintf("bench/r%03d:t%03d", r, t), img)
		}
	}
	b.ResetTimer()
	var images int
	for range b.N {
		b.StopTimer()
		st, err := openStore(context.Background(), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := backfill(context.Background(), st, BackfillConfig{Registry: reg.Host, Client: oci.New(), MaxQueue: 2 * repos * tags, PageSize: 100}, nil)
		if err != nil || res.Queued != repos*tags {
			b.Fatalf("backfill = %+v, %v; want %d queued", res, err, repos*tags)
		}
		images += res.Queued
		st.close()
	}
	b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
}
