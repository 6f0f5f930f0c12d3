package logserver_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	pb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/transparency-dev/tessera/client"

	"github.com/signet-dev/signet/tlog/logserver"
)

// TestInclusionProofsAcrossCheckpoints grows a tree through sizes that
// start, fill and spill over a tile, then asks the shared proof builder for
// every leaf of every size in an order that moves its cache back and forth
// (an older size after a newer one, and the newer one again): each proof
// matches Tessera's ProofBuilder for that size, so no node or partial tile
// cached for one size is used for another.
func TestInclusionProofsAcrossCheckpoints(t *testing.T) {
	ctx := context.Background()
	l := mustOpen(t, posixBackend(t))
	var sizes []uint64
	n := 0
	for _, upTo := range []int{1, 255, 256, 257, 300} {
		reqs := make([]*pb.CreateEntryRequest, upTo-n)
		for i := range reqs {
			reqs[i] = request(t, fmt.Sprintf("grow-%d", n+i))
		}
		burst(t, reqs, 64, func(i int) {
			if _, err := l.Add(ctx, reqs[i]); err != nil {
				t.Error(err)
			}
		})
		n = upTo
		size := treeSize(t, l)
		if size != uint64(upTo) {
			t.Fatalf("tree size %d, want %d", size, upTo)
		}
		// A proof against this size while it is the newest.
		checkProofs(t, l, size)
		sizes = append(sizes, size)
	}
	for _, i := range []int{4, 0, 3, 2, 1, 4, 2} {
		checkProofs(t, l, sizes[i])
	}
}

func checkProofs(t *testing.T, l *logserver.Log, size uint64) {
	t.Helper()
	ctx := context.Background()
	want, err := client.NewProofBuilder(ctx, size, l.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	for i := range size {
		got, err := logserver.InclusionProof(ctx, l, size, i)
		if err != nil {
			t.Fatalf("proof of %d in %d: %v", i, size, err)
		}
		w, err := want.InclusionProof(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, w, bytes.Equal) {
			t.Fatalf("proof of %d in %d differs from Tessera's", i, size)
		}
	}
}
