package logserver_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	pb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/tlog/logserver"
)

func openLog(t testing.TB, dir string) *logserver.Log {
	t.Helper()
	l, err := logserver.Open(context.Background(), dir, "log.example")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	return l
}

var signingKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

// request builds a valid hashedrekord v0.0.2 request for message.
func request(t testing.TB, message string) *pb.CreateEntryRequest {
	t.Helper()
	digest := sha256.Sum256([]byte(message))
	sig, err := ecdsa.SignASN1(rand.Reader, signingKey, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(signingKey.Public())
	return &pb.CreateEntryRequest{Spec: &pb.CreateEntryRequest_HashedRekordRequestV002{HashedRekordRequestV002: &pb.HashedRekordRequestV002{
		Digest: digest[:],
		Signature: &pb.Signature{Content: sig, Verifier: &pb.Verifier{
			Verifier:   &pb.Verifier_PublicKey{PublicKey: &pb.PublicKey{RawBytes: der}},
			KeyDetails: protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
		}},
	}}}
}

func TestAddValidatesAndDeduplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := openLog(t, t.TempDir())
	first, err := l.Add(ctx, request(t, "a"))
	if err != nil {
		t.Fatal(err)
	}
	req := request(t, "b")
	second, err := l.Add(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := l.Add(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if first.LogIndex != 0 || second.LogIndex != 1 || again.LogIndex != 1 {
		t.Fatalf("indexes %d %d %d, want 0 1 1 (the duplicate keeps its index)", first.LogIndex, second.LogIndex, again.LogIndex)
	}
	if again.InclusionProof == nil || again.InclusionProof.Checkpoint.GetEnvelope() == "" {
		t.Fatal("duplicate returned without a proof")
	}
	bad := request(t, "c")
	bad.GetHashedRekordRequestV002().Digest[0] ^= 1 // signature no longer matches
	if _, err := l.Add(ctx, bad); !errors.Is(err, logserver.ErrInvalidEntry) {
		t.Fatalf("bad signature: got %v, want ErrInvalidEntry", err)
	}
	if _, err := l.Add(ctx, &pb.CreateEntryRequest{}); !errors.Is(err, logserver.ErrInvalidEntry) {
		t.Fatalf("empty request: got %v, want ErrInvalidEntry", err)
	}
}

func TestLogKeyIsPrivate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	openLog(t, dir)
	st, err := os.Stat(filepath.Join(dir, "log.key"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("log key mode %v, want 0600", st.Mode().Perm())
	}
}

// TestLogKeyNotWrittenThroughSymlink: a symbolic link planted where the
// log's key goes is neither followed nor replaced; the log refuses to start.
func TestLogKeyNotWrittenThroughSymlink(t *testing.T) {
	t.Parallel()
	dir, elsewhere := t.TempDir(), filepath.Join(t.TempDir(), "stolen.key")
	if err := os.Symlink(elsewhere, filepath.Join(dir, "log.key")); err != nil {
		t.Fatal(err)
	}
	l, err := logserver.Open(context.Background(), dir, "127.0.0.1")
	if err == nil {
		l.Close(context.Background())
		t.Fatal("the log started with its key written through a symlink")
	}
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("Open: %v, want the key's path refused as existing", err)
	}
	if _, err := os.Lstat(elsewhere); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the symlink's target was written: %v", err)
	}
}

func appendN(t testing.TB, l *logserver.Log, prefix string, n int) []byte {
	t.Helper()
	var cp []byte
	for i := range n {
		e, err := l.Add(context.Background(), request(t, fmt.Sprintf("%s-%d", prefix, i)))
		if err != nil {
			t.Fatal(err)
		}
		cp = []byte(e.InclusionProof.Checkpoint.Envelope)
	}
	return cp
}

func verifierFor(t *testing.T, l *logserver.Log) *tlog.CheckpointVerifier {
	t.Helper()
	v, err := signature.LoadVerifier(l.PublicKey(), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	cv, err := tlog.NewCheckpointVerifier(l.Origin(), v)
	if err != nil {
		t.Fatal(err)
	}
	return cv
}

func TestConsistency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir1, dir2 := t.TempDir(), t.TempDir()
	honest := openLog(t, dir1)
	// The forked log has the same key and origin: its checkpoints verify too.
	key, err := os.ReadFile(filepath.Join(dir1, "log.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir2, "log.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	forked := openLog(t, dir2)
	cv := verifierFor(t, honest)

	cp3 := appendN(t, honest, "x", 3)
	cp5 := appendN(t, honest, "y", 2)
	if err := cv.CheckConsistency(ctx, cp3, cp5, honest.ReadTile); err != nil {
		t.Fatalf("honest log: %v", err)
	}

	// Same first entry, then different ones: same size 3, other root.
	appendN(t, forked, "x", 1)
	fork3 := appendN(t, forked, "z", 2)
	var ie *tlog.InconsistencyError
	err = cv.CheckConsistency(ctx, cp3, fork3, forked.ReadTile)
	if !errors.Is(err, tlog.ErrInconsistent) || !errors.As(err, &ie) || string(ie.Old) != string(cp3) || string(ie.New) != string(fork3) {
		t.Fatalf("same size, other root: got %v", err)
	}
	// A larger tree that does not extend the smaller one.
	fork5 := appendN(t, forked, "w", 2)
	if err := cv.CheckConsistency(ctx, cp3, fork5, forked.ReadTile); !errors.Is(err, tlog.ErrInconsistent) {
		t.Fatalf("not a prefix: got %v", err)
	}
	// A log that shrank.
	if err := cv.CheckConsistency(ctx, cp5, cp3, honest.ReadTile); !errors.Is(err, tlog.ErrInconsistent) {
		t.Fatalf("shrunk: got %v", err)
	}
	// A checkpoint from another key is refused before any comparison.
	other := openLog(t, t.TempDir())
	cpOther := appendN(t, other, "x", 3)
	if err := cv.CheckConsistency(ctx, cp3, cpOther, other.ReadTile); err == nil || errors.Is(err, tlog.ErrInconsistent) {
		t.Fatalf("untrusted checkpoint: got %v", err)
	}
}

// BenchmarkAppend is many clients appending at once, each waiting for its
// entry's proof (which waits for the next checkpoint) before sending the
// next, as signers in a CI fleet do. A client sends at most one entry per
// checkpoint, so a closed loop of C clients cannot exceed C per checkpoint
// interval whatever the log does: clients=128 (what SetParallelism(64) ran on
// this 2-core machine, the first figure measured) is bounded that way, and
// the log's own capacity shows only with enough clients in flight (Little's
// law: 3,000 appends/s at ~130ms each is ~400 clients), hence clients=512.
// It reports appends/s and the median and 99th-percentile latency.
// The http variant sends the same appends as Rekor v2 clients do, as JSON
// over HTTP to the log's handler.
func BenchmarkAppend(b *testing.B) {
	for _, clients := range []int{128, 512} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchAppend(b, openLog(b, b.TempDir()), clients, false) })
	}
	b.Run("clients=512/http", func(b *testing.B) { benchAppend(b, openLog(b, b.TempDir()), 512, true) })
}

func benchAppend(b *testing.B, l *logserver.Log, clients int, overHTTP bool) {
	ctx := context.Background()
	reqs := make([]*pb.CreateEntryRequest, b.N)
	for i := range reqs {
		reqs[i] = request(b, fmt.Sprintf("bench-%d", i))
	}
	add := func(req *pb.CreateEntryRequest) error {
		_, err := l.Add(ctx, req)
		return err
	}
	if overHTTP {
		add = httpAppender(b, l, clients)
	}
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < b.N; i = int(next.Add(1)) - 1 {
				start := time.Now()
				if err := add(reqs[i]); err != nil {
					b.Error(err)
					return
				}
				lat[i] = time.Since(start)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "ms-p99")
}

// httpAppender serves l over HTTP and returns a function that POSTs an
// entry request as JSON, keeping up to clients connections open.
func httpAppender(b *testing.B, l *logserver.Log, clients int) func(*pb.CreateEntryRequest) error {
	srv := httptest.NewServer(l.Handler())
	b.Cleanup(srv.Close)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	return func(req *pb.CreateEntryRequest) error {
		body, err := protojson.Marshal(req)
		if err != nil {
			return err
		}
		resp, err := c.Post(srv.URL+"/api/v2/log/entries", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("status %d: %s", resp.StatusCode, out)
		}
		var tle rekorpb.TransparencyLogEntry
		return protojson.Unmarshal(out, &tle)
	}
}

// BenchmarkAppendLatency is one client appending and waiting for its proof:
// the latency a signer sees from the log. An append is answered by the next
// checkpoint, published every interval (100ms) plus the time publishing
// takes. A client that sends again as soon as it is answered sends just after
// a checkpoint, so waits a whole publication period, every time
// (phase=locked: the worst case); a signer arriving at a random moment
// (phase=random: a pause of 0-100ms, untimed, before each append) waits on
// average half of it. ns/op is the mean; ms-max the slowest append.
func BenchmarkAppendLatency(b *testing.B) {
	for _, phase := range []string{"locked", "random"} {
		b.Run("phase="+phase, func(b *testing.B) {
			ctx := context.Background()
			l := openLog(b, b.TempDir())
			reqs := make([]*pb.CreateEntryRequest, b.N)
			for i := range reqs {
				reqs[i] = request(b, fmt.Sprintf("lat-%d", i))
			}
			var worst time.Duration
			b.ResetTimer()
			for i := range b.N {
				if phase == "random" {
					b.StopTimer()
					time.Sleep(time.Duration(mrand.Int64N(int64(100 * time.Millisecond))))
					b.StartTimer()
				}
				start := time.Now()
				if _, err := l.Add(ctx, reqs[i]); err != nil {
					b.Fatal(err)
				}
				worst = max(worst, time.Since(start))
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "ms-max")
		})
	}
}

func TestDetectAPIVersion(t *testing.T) {
	t.Parallel()
	l := openLog(t, t.TempDir())
	v2 := httptest.NewServer(l.Handler())
	defer v2.Close()
	v1 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/log" {
			fmt.Fprint(w, `{"rootHash":"ab","treeSize":12,"signedTreeHead":"x","treeID":"1"}`)
			return
		}
		http.NotFound(w, r)
	}))
	defer v1.Close()
	for url, want := range map[string]uint32{v2.URL: 2, v1.URL: 1} {
		got, err := tlog.DetectAPIVersion(context.Background(), http.DefaultClient, url)
		if err != nil || got != want {
			t.Errorf("%s: got %d, %v; want %d", url, got, err, want)
		}
	}
	if _, err := tlog.DetectAPIVersion(context.Background(), http.DefaultClient, "http://127.0.0.1:1"); err == nil {
		t.Error("unreachable log: no error")
	}
}
