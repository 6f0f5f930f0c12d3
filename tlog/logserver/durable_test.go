package logserver_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/transparency-dev/tessera/client"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/tlog/logserver"
)

// backend opens a log on one storage driver; every call opens the same
// log (same key directory, same storage).
type backend struct {
	name string
	url  string // the database's mysql:// URL, if on MySQL
	// dropDedup deletes the de-duplication index as docs/log.md tells an
	// operator to, with the log stopped.
	dropDedup func(t testing.TB)
	open      func(t testing.TB, opts ...logserver.LogOption) (*logserver.Log, error)
	// clients is how many append at once in a burst: an append waits for a
	// checkpoint, 100ms apart on POSIX but 1s on MySQL.
	clients int
}

func posixBackend(t testing.TB) backend {
	dir := t.TempDir()
	dropDedup := func(t testing.TB) {
		if err := os.RemoveAll(filepath.Join(dir, "dedup")); err != nil {
			t.Fatal(err)
		}
	}
	return backend{name: "posix", clients: 32, dropDedup: dropDedup, open: func(t testing.TB, opts ...logserver.LogOption) (*logserver.Log, error) {
		return logserver.Open(context.Background(), dir, "log.example", opts...)
	}}
}

// backends are the drivers every durability test runs on.
func backends(t *testing.T) []func(testing.TB) backend {
	return []func(testing.TB) backend{posixBackend, mysqlBackend}
}

func mustOpen(t testing.TB, b backend) *logserver.Log {
	t.Helper()
	l, err := b.open(t)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	return l
}

// treeSize returns the size the log's latest checkpoint commits to.
func treeSize(t testing.TB, l *logserver.Log) uint64 {
	t.Helper()
	cp, err := l.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(cp), "\n", 3)
	n, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		t.Fatalf("checkpoint size %q: %v", lines[1], err)
	}
	return n
}

// leafAt returns the leaf hash at index i of a tree of size, read from the log's level-0 tile.
func leafAt(t testing.TB, l *logserver.Log, size, i uint64) []byte {
	t.Helper()
	var p uint8
	if i/256 == size/256 {
		p = uint8(size % 256)
	}
	tile, err := l.ReadTile(context.Background(), 0, i/256, p)
	if err != nil {
		t.Fatalf("reading tile for entry %d: %v", i, err)
	}
	off := (i % 256) * 32
	if uint64(len(tile)) < off+32 {
		t.Fatalf("tile for entry %d has %d bytes", i, len(tile))
	}
	return tile[off : off+32]
}

func TestRestartKeepsDeduplication(t *testing.T) {
	for _, mk := range backends(t) {
		b := mk(t)
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			l := mustOpen(t, b)
			a, bReq := request(t, "a"), request(t, "b")
			for i, req := range []*pb.CreateEntryRequest{a, bReq} {
				if e, err := l.Add(ctx, req); err != nil || e.LogIndex != int64(i) {
					t.Fatalf("append %d: index %v, %v", i, e.GetLogIndex(), err)
				}
			}
			if err := l.Close(ctx); err != nil {
				t.Fatal(err)
			}
			l = mustOpen(t, b)
			again, err := l.Add(ctx, bReq)
			if err != nil {
				t.Fatal(err)
			}
			if again.LogIndex != 1 {
				t.Fatalf("resubmitted entry after restart: index %d, want its original 1", again.LogIndex)
			}
			if n := treeSize(t, l); n != 2 {
				t.Fatalf("tree size %d after resubmitting, want 2", n)
			}
			c, err := l.Add(ctx, request(t, "c"))
			if err != nil || c.LogIndex != 2 {
				t.Fatalf("new entry after restart: index %v, %v; want 2", c.GetLogIndex(), err)
			}
		})
	}
}

// TestRestartDuringBurst closes the log while 32 clients (256 on MySQL) append 2,000
// entries, reopens it and submits all 2,000 again: every acknowledged entry
// keeps its index and is in the tree, and no entry is there twice.
func TestRestartDuringBurst(t *testing.T) {
	const entries = 2000
	reqs := make([]*pb.CreateEntryRequest, entries)
	for i := range reqs {
		reqs[i] = request(t, fmt.Sprintf("burst-%d", i))
	}
	for _, mk := range backends(t) {
		b := mk(t)
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			l := mustOpen(t, b)
			acked := make([]int64, entries) // index+1 once acknowledged
			var nAcked, nFailed atomic.Int64
			closed := make(chan struct{})
			var once sync.Once
			burst(t, reqs, b.clients, func(i int) {
				e, err := l.Add(ctx, reqs[i])
				if err != nil {
					nFailed.Add(1)
					return
				}
				acked[i] = e.LogIndex + 1
				if nAcked.Add(1) == entries/4 {
					once.Do(func() {
						go func() {
							l.Close(ctx) // mid-burst
							close(closed)
						}()
					})
				}
			})
			<-closed
			t.Logf("%d acknowledged, %d refused or cut off before the restart", nAcked.Load(), nFailed.Load())
			if nFailed.Load() == 0 {
				t.Fatal("the restart cut off no append: the test did not restart mid-burst")
			}

			l = mustOpen(t, b)
			final := make([]int64, entries)
			var failed atomic.Int64
			burst(t, reqs, b.clients, func(i int) {
				e, err := l.Add(ctx, reqs[i])
				if err != nil {
					t.Errorf("resubmitting entry %d: %v", i, err)
					failed.Add(1)
					return
				}
				final[i] = e.LogIndex
				if acked[i] != 0 && acked[i]-1 != e.LogIndex {
					t.Errorf("entry %d was acknowledged at %d, after the restart it is at %d", i, acked[i]-1, e.LogIndex)
				}
			})
			if failed.Load() > 0 {
				t.FailNow()
			}
			seen := make(map[int64]int, entries)
			for i, idx := range final {
				if j, dup := seen[idx]; dup {
					t.Fatalf("entries %d and %d both at index %d", j, i, idx)
				}
				seen[idx] = i
			}
			size := treeSize(t, l)
			if size != entries {
				t.Fatalf("tree size %d after resubmitting %d distinct entries, want %d (duplicates or losses)", size, entries, entries)
			}
			for i, idx := range final {
				e, _ := l.Add(ctx, reqs[i]) // already there: returns the stored body
				want := rfc6962.DefaultHasher.HashLeaf(e.CanonicalizedBody)
				if got := leafAt(t, l, size, uint64(idx)); !bytes.Equal(got, want) {
					t.Fatalf("leaf %d in the tiles is not entry %d", idx, i)
				}
			}
		})
	}
}

// burst runs do(0..n-1) from the given number of concurrent clients,
// bounded by three minutes; running out of time fails t.
func burst(t *testing.T, reqs []*pb.CreateEntryRequest, clients int, do func(i int)) {
	t.Helper()
	next := make(chan int)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				do(i)
			}
		}()
	}
	deadline := time.After(3 * time.Minute)
feed:
	for i := range reqs {
		select {
		case next <- i:
		case <-deadline:
			t.Errorf("burst ran out of time after %d of %d entries", i, len(reqs))
			break feed
		}
	}
	close(next)
	wg.Wait()
}

// TestReadsOverHTTP reads the checkpoint, tiles and entries through the
// log's handler, from each driver: a partial resource has the width asked
// for, and the consistency check runs over HTTP.
func TestReadsOverHTTP(t *testing.T) {
	for _, mk := range backends(t) {
		b := mk(t)
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			l := mustOpen(t, b)
			srv := httptest.NewServer(l.Handler())
			defer srv.Close()
			cp3 := appendN(t, l, "r", 3)
			e, err := l.Add(ctx, request(t, "r-last"))
			if err != nil {
				t.Fatal(err)
			}
			tiles, err := tlog.NewHTTPTiles(srv.URL, http.DefaultClient)
			if err != nil {
				t.Fatal(err)
			}
			cp4, err := tiles.Checkpoint(ctx)
			if err != nil || string(cp4) != e.InclusionProof.Checkpoint.Envelope {
				t.Fatalf("checkpoint over HTTP: %q, %v; want the one the last append returned", cp4, err)
			}
			if err := verifierFor(t, l).CheckConsistency(ctx, cp3, cp4, tiles.Tile); err != nil {
				t.Fatalf("consistency over HTTP: %v", err)
			}
			for path, want := range map[string]int{
				"/tile/0/000.p/3":         3 * 32,
				"/tile/0/000.p/4":         4 * 32,
				"/api/v2/tile/0/000.p/2":  2 * 32,
				"/tile/entries/000.p/4":   -4,
				"/tile/entries/000.p/1":   -1,
				"/tile/0/001":             404,
				"/tile/0/000.p/9":         404,
				"/tile/entries/x001/000":  404,
				"/tile/nonsense/000":      404,
				"/checkpointx":            404,
				"/api/v2/tile/entries/00": 404,
			} {
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case want == 404:
					if resp.StatusCode != 404 {
						t.Errorf("%s: status %d, want 404", path, resp.StatusCode)
					}
				case want < 0:
					if n := bundleLen(body); resp.StatusCode != 200 || n != -want {
						t.Errorf("%s: status %d, %d entries; want %d", path, resp.StatusCode, n, -want)
					}
				case resp.StatusCode != 200 || len(body) != want:
					t.Errorf("%s: status %d, %d bytes; want %d", path, resp.StatusCode, len(body), want)
				}
			}
		})
	}
}

// bundleLen counts the entries of an entry bundle, -1 if it is malformed.
func bundleLen(b []byte) int {
	n := 0
	for len(b) > 0 {
		if len(b) < 2 {
			return -1
		}
		size := int(b[0])<<8 | int(b[1])
		if len(b) < 2+size {
			return -1
		}
		b = b[2+size:]
		n++
	}
	return n
}

// TestRestoreOlderTree restores a POSIX log's tree from a backup older than
// its de-duplication index: the index is rebuilt from the tree, so an entry
// logged after the backup is logged again at the restored tree's next index,
// never answered with an index the restored tree does not hold.
func TestRestoreOlderTree(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir, backup := t.TempDir(), t.TempDir()
	open := func() *logserver.Log {
		l, err := logserver.Open(ctx, dir, "log.example")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close(context.Background()) })
		return l
	}
	l := open()
	appendN(t, l, "old", 2)
	l.Close(ctx)
	if err := os.CopyFS(filepath.Join(backup, "tiles"), os.DirFS(filepath.Join(dir, "tiles"))); err != nil {
		t.Fatal(err)
	}
	l = open()
	late := request(t, "late")
	if e, err := l.Add(ctx, late); err != nil || e.LogIndex != 2 {
		t.Fatalf("append after the backup: %v, %v", e.GetLogIndex(), err)
	}
	l.Close(ctx)
	// Restore the tree only; the index still records "late" at 2.
	if err := os.RemoveAll(filepath.Join(dir, "tiles")); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "tiles"), os.DirFS(filepath.Join(backup, "tiles"))); err != nil {
		t.Fatal(err)
	}
	l = open()
	if e, err := l.Add(ctx, request(t, "other")); err != nil || e.LogIndex != 2 {
		t.Fatalf("append after the restore: index %v, %v; want 2", e.GetLogIndex(), err)
	}
	e, err := l.Add(ctx, late)
	if err != nil || e.LogIndex != 3 {
		t.Fatalf("entry logged after the backup, again: index %v, %v; want 3 (logged anew)", e.GetLogIndex(), err)
	}
	if got := leafAt(t, l, 4, 3); !bytes.Equal(got, rfc6962.DefaultHasher.HashLeaf(e.CanonicalizedBody)) {
		t.Fatal("leaf 3 is not the entry answered at 3")
	}
}

// TestCrashBeforeIndexing crashes a log whose de-duplication index has not
// yet recorded its entries: the reopened log indexes the tree before it
// takes an entry, so resubmissions keep their indexes.
func TestCrashBeforeIndexing(t *testing.T) {
	for _, mk := range backends(t) {
		b := mk(t)
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			l, err := b.open(t, logserver.WithFollowInterval(time.Hour)) // indexes only once, at start
			if err != nil {
				t.Fatal(err)
			}
			reqs := make([]*pb.CreateEntryRequest, 5)
			for i := range reqs {
				reqs[i] = request(t, fmt.Sprintf("crash-%d", i))
				if e, err := l.Add(ctx, reqs[i]); err != nil || e.LogIndex != int64(i) {
					t.Fatalf("append %d: %v, %v", i, e.GetLogIndex(), err)
				}
			}
			logserver.Crash(l)
			l = mustOpen(t, b)
			for i, req := range reqs {
				if e, err := l.Add(ctx, req); err != nil || e.LogIndex != int64(i) {
					t.Fatalf("entry %d after the crash: index %v, %v; want %d", i, e.GetLogIndex(), err, i)
				}
			}
			if n := treeSize(t, l); n != uint64(len(reqs)) {
				t.Fatalf("tree size %d, want %d", n, len(reqs))
			}
		})
	}
}

// TestInclusionProofsMatchTessera checks the shared proof builder against
// Tessera's for every leaf of a tree spanning a full and a partial tile.
func TestInclusionProofsMatchTessera(t *testing.T) {
	ctx := context.Background()
	l := mustOpen(t, posixBackend(t))
	const n = 300
	reqs := make([]*pb.CreateEntryRequest, n)
	for i := range reqs {
		reqs[i] = request(t, fmt.Sprintf("proof-%d", i))
	}
	burst(t, reqs, 64, func(i int) {
		if _, err := l.Add(ctx, reqs[i]); err != nil {
			t.Error(err)
		}
	})
	size := treeSize(t, l)
	want, err := client.NewProofBuilder(ctx, size, l.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	for i := range size {
		got, err := logserver.InclusionProof(ctx, l, size, i)
		if err != nil {
			t.Fatal(err)
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
