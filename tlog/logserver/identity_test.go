package logserver_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	rnote "github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/sigstore/pkg/signature"
	"golang.org/x/mod/sumdb/note"

	"github.com/signet-dev/signet/internal/dbtest"
	"github.com/signet-dev/signet/tlog/logserver"
)

// TestOpenRefusesAnotherLogsTree opens a tree whose checkpoint was signed
// by another key or for another origin: the log must refuse it rather than
// sign the same tree under a second identity (its clients' checkpoints
// would stop verifying, and two keys would vouch for one history).
func TestOpenRefusesAnotherLogsTree(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := logserver.Open(ctx, dir, "log.example")
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, "id", 2)
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	t.Run("other origin", func(t *testing.T) {
		l, err := logserver.Open(ctx, dir, "other.example")
		if err == nil {
			l.Close(ctx)
		}
		if !errors.Is(err, logserver.ErrNotThisLog) {
			t.Fatalf("opening log.example's tree as other.example: got %v, want ErrNotThisLog", err)
		}
		t.Log(err)
	})
	t.Run("key lost", func(t *testing.T) {
		if err := os.Rename(filepath.Join(dir, "log.key"), filepath.Join(dir, "log.key.bak")); err != nil {
			t.Fatal(err)
		}
		defer os.Rename(filepath.Join(dir, "log.key.bak"), filepath.Join(dir, "log.key"))
		l, err := logserver.Open(ctx, dir, "log.example")
		if err == nil {
			l.Close(ctx)
		}
		if !errors.Is(err, logserver.ErrNotThisLog) {
			t.Fatalf("opening the tree with a new key: got %v, want ErrNotThisLog", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "log.key")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a refused start made a key (%v): restoring the old one would then clash", err)
		}
		t.Log(err)
	})
	// The same key and origin still open it.
	l = openLog(t, dir)
	if n := treeSize(t, l); n != 2 {
		t.Fatalf("tree size %d, want 2", n)
	}
}

// TestFrontEndWithAnotherKey starts a second front-end on a MariaDB
// database with a key of its own: refused, and the first keeps serving
// checkpoints its clients verify.
func TestFrontEndWithAnotherKey(t *testing.T) {
	srv := dbtest.MariaDB(t)
	b := mysqlOn(t, srv, t.TempDir())
	ctx := context.Background()
	first := mustOpen(t, b)
	appendN(t, first, "fe", 1)
	target, err := logserver.ParseMySQL(b.url)
	if err != nil {
		t.Fatal(err)
	}
	second, err := logserver.Open(ctx, t.TempDir(), "log.example", logserver.WithMySQL(target))
	if err == nil {
		second.Close(ctx)
	}
	if !errors.Is(err, logserver.ErrNotThisLog) {
		t.Fatalf("front-end with another key: got %v, want ErrNotThisLog", err)
	}
	cp := appendN(t, first, "fe-after", 1)
	if _, err := verifierFor(t, first).Parse(cp); err != nil {
		t.Fatalf("the first front-end's checkpoint after the refused start: %v", err)
	}
}

// TestDamagedDedupIndex edits the de-duplication index, as an insider with
// write access to --dir/dedup or the database could: one entry recorded at
// another entry's index, one at an index beyond the tree. The log must not
// answer either with that index; it refuses, saying why, and promptly.
func TestDamagedDedupIndex(t *testing.T) {
	for _, mk := range backends(t) {
		b := mk(t)
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			l := mustOpen(t, b)
			a, bReq := request(t, "a"), request(t, "b")
			var bodies [][]byte
			for i, req := range []*pb.CreateEntryRequest{a, bReq} {
				e, err := l.Add(ctx, req)
				if err != nil || e.LogIndex != int64(i) {
					t.Fatalf("append %d: index %v, %v", i, e.GetLogIndex(), err)
				}
				bodies = append(bodies, e.CanonicalizedBody)
			}
			if err := logserver.CaughtUp(ctx, l); err != nil {
				t.Fatal(err)
			}
			if err := logserver.DamageDedup(ctx, l, bodies[1], 0); err != nil {
				t.Fatal(err)
			}
			// An entry never logged, recorded far beyond the tree.
			c := request(t, "c")
			cBody := canonicalBody(t, c)
			if err := logserver.DamageDedup(ctx, l, cBody, 1<<40); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(ctx); err != nil {
				t.Fatal(err)
			}
			l = mustOpen(t, b) // no in-memory cache: answers come from the index
			wait, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			for name, req := range map[string]*pb.CreateEntryRequest{"b recorded at a's index": bReq, "c recorded beyond the tree": c} {
				e, err := l.Add(wait, req)
				if !errors.Is(err, logserver.ErrDedupMismatch) {
					t.Errorf("%s: index %v, %v; want ErrDedupMismatch", name, e.GetLogIndex(), err)
				}
			}
			if n := treeSize(t, l); n != 2 {
				t.Fatalf("tree size %d, want 2", n)
			}
			// The remedy the error names: drop the index, start again.
			if err := l.Close(ctx); err != nil {
				t.Fatal(err)
			}
			b.dropDedup(t)
			l = mustOpen(t, b)
			if e, err := l.Add(wait, bReq); err != nil || e.LogIndex != 1 {
				t.Fatalf("b after rebuilding the index: index %v, %v; want 1", e.GetLogIndex(), err)
			}
			if e, err := l.Add(wait, c); err != nil || e.LogIndex != 2 {
				t.Fatalf("c after rebuilding the index: index %v, %v; want 2", e.GetLogIndex(), err)
			}
		})
	}
}

// canonicalBody is the body a log makes of req, from a log of its own.
func canonicalBody(t *testing.T, req *pb.CreateEntryRequest) []byte {
	t.Helper()
	e, err := openLog(t, t.TempDir()).Add(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return e.CanonicalizedBody
}

// TestMySQLErrorsHidePassword opens a log on a real MariaDB with a wrong
// password and with a user lacking rights: the errors, which carry the
// driver's own messages, never show the password given.
func TestMySQLErrorsHidePassword(t *testing.T) {
	srv := dbtest.MariaDB(t)
	srv.NewDatabase(t, "pwlog")
	srv.Exec(t, "", "CREATE USER 'reader'@'127.0.0.1' IDENTIFIED BY 'r3ader-pw'; GRANT SELECT ON pwlog.* TO 'reader'@'127.0.0.1';")
	ctx := context.Background()
	for name, url := range map[string]string{
		"wrong password": fmt.Sprintf("mysql://reader:wr0ng-pw@127.0.0.1:%d/pwlog", srv.Port),
		"no rights":      fmt.Sprintf("mysql://reader:r3ader-pw@127.0.0.1:%d/pwlog", srv.Port),
	} {
		t.Run(name, func(t *testing.T) {
			target, err := logserver.ParseMySQL(url)
			if err != nil {
				t.Fatal(err)
			}
			l, err := logserver.Open(ctx, t.TempDir(), "log.example", logserver.WithMySQL(target))
			if err == nil {
				l.Close(ctx)
				t.Fatal("opened")
			}
			if strings.Contains(err.Error(), "-pw") {
				t.Fatalf("error shows the password: %v", err)
			}
			if !strings.Contains(err.Error(), "reader@127.0.0.1") {
				t.Fatalf("error does not name the database: %v", err)
			}
			t.Log(err)
		})
	}
}

// TestMySQLTLSNoFallback asks for TLS from a MariaDB that offers none: the
// log refuses to start rather than talk to it in plain text.
func TestMySQLTLSNoFallback(t *testing.T) {
	srv := dbtest.MariaDB(t)
	url := srv.NewDatabase(t, "tlslog") + "?tls=true"
	target, err := logserver.ParseMySQL(url)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l, err := logserver.Open(ctx, t.TempDir(), "log.example", logserver.WithMySQL(target))
	if err == nil {
		l.Close(ctx)
		t.Fatal("opened a log over a connection without TLS")
	}
	if !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("got %v, want a refusal naming TLS", err)
	}
	t.Log(err)
}

// TestOpenReportsUnreadableTree opens a log whose de-duplication index must
// be rebuilt from a tree with a damaged entry bundle: Open fails and says
// what it could not read, instead of waiting for ever for an index that
// cannot catch up (log serve would hang silently).
func TestOpenReportsUnreadableTree(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := logserver.Open(ctx, dir, "log.example")
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, "damaged", 3)
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	bundles, err := filepath.Glob(filepath.Join(dir, "tiles", "tile", "entries", "000.p", "*"))
	if err != nil || len(bundles) == 0 {
		t.Fatalf("no partial entry bundles (%v)", err)
	}
	for _, b := range bundles {
		if err := os.WriteFile(b, []byte{0xff}, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(filepath.Join(dir, "dedup")); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	l, err = logserver.Open(wait, dir, "log.example")
	if err == nil {
		l.Close(ctx)
		t.Fatal("opened a log whose index cannot be rebuilt")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Open waited for an index that cannot catch up: %v", err)
	}
	t.Log(err)
}

// TestForeignCheckpointNotServed puts in the log's storage a checkpoint for
// the same tree signed by another key, as an insider (or a front-end with
// another key) could: the log must neither answer an append with it nor
// serve it as its own.
func TestForeignCheckpointNotServed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := openLog(t, dir)
	req := request(t, "foreign")
	e, err := l.Add(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	body, _, _ := strings.Cut(e.InclusionProof.Checkpoint.Envelope, "\n\n")
	_, other, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signature.LoadED25519Signer(other)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := rnote.NewNoteSigner(ctx, l.Origin(), signer)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := note.Sign(&note.Note{Text: body + "\n"}, ns)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tiles", "checkpoint"), forged, 0o644); err != nil {
		t.Fatal(err)
	}
	// A resubmission does not grow the tree. (Tessera's awaiter keeps the
	// checkpoint it last saw for this size, so this holds without the
	// check too; the check in Add matters when the tree grows under a
	// checkpoint another key signed.)
	if got, err := l.Add(ctx, req); err == nil && got.InclusionProof.Checkpoint.Envelope == string(forged) {
		t.Fatalf("answered with a checkpoint another key signed:\n%s", got.InclusionProof.Checkpoint.Envelope)
	}
	rec := httptest.NewRecorder()
	l.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/checkpoint", nil))
	if rec.Code == http.StatusOK {
		t.Fatalf("served a checkpoint another key signed:\n%s", rec.Body)
	}
}
