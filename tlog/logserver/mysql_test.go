package logserver_test

import (
	"context"
	"errors"
	"fmt"
	pb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/signet-dev/signet/internal/dbtest"
	"github.com/signet-dev/signet/tlog/logserver"
)

var mysqlDBs atomic.Int64

// mysqlBackend opens the log on a new database of a real MariaDB.
func mysqlBackend(t testing.TB) backend {
	srv := dbtest.MariaDB(t)
	return mysqlOn(t, srv, t.TempDir())
}

// mysqlOn is a log in a new database on srv whose key is in dir.
func mysqlOn(t testing.TB, srv *dbtest.Server, dir string) backend {
	name := fmt.Sprintf("log%d", mysqlDBs.Add(1))
	url := srv.NewDatabase(t, name)
	dropDedup := func(t testing.TB) { srv.Exec(t, name, "DELETE FROM SignetDedup; DELETE FROM SignetDedupFollowed") }
	target, err := logserver.ParseMySQL(url)
	if err != nil {
		t.Fatal(err)
	}
	return backend{name: "mysql", url: url, clients: 256, dropDedup: dropDedup, open: func(t testing.TB, opts ...logserver.LogOption) (*logserver.Log, error) {
		return logserver.Open(context.Background(), dir, "log.example", append(opts, logserver.WithMySQL(target))...)
	}}
}

func TestParseMySQL(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"mysql://log:s3cret@127.0.0.1:3306/tlog":            "log@127.0.0.1:3306/tlog",
		"mysql://root@[::1]:3306/tlog":                      "root@[::1]:3306/tlog",
		"mysql://log:s3cret@db.internal:3306/tlog?tls=true": "log@db.internal:3306/tlog (TLS)",
	}
	for in, want := range good {
		got, err := logserver.ParseMySQL(in)
		if err != nil || got.String() != want {
			t.Errorf("ParseMySQL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"postgres://log:s3cret@127.0.0.1:5432/tlog",
		"mysql://127.0.0.1:3306/tlog",
		"mysql://log:s3cret@127.0.0.1/tlog",
		"mysql://log:s3cret@127.0.0.1:3306/",
		"mysql://log:s3cret@127.0.0.1:3306/a/b",
		"mysql://log:s3cret@127.0.0.1:3306/tlog?tls=skip-verify",
		"mysql://log:s3cret@127.0.0.1:3306/tlog?tls=preferred",
		"mysql://log:s3cret@127.0.0.1:3306/tlog?tls=true&allowAllFiles=true",
		"mysql://log:s3cret@127.0.0.1:3306/tlog?allowCleartextPasswords=true",
		"mysql://log:s3cret@127.0.0.1:3306/tlog?allowFallbackToPlaintext=true&tls=true",
		"mysql://log:s3cret@127.0.0.1:3306/tlog\x7f",
	} {
		_, err := logserver.ParseMySQL(in)
		if !errors.Is(err, logserver.ErrBadStorage) {
			t.Errorf("ParseMySQL(%q): got %v, want ErrBadStorage", in, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseMySQL(%q): error shows the password: %v", in, err)
		}
	}
}

// TestTwoFrontEnds runs two logs on one MariaDB database and one key:
// appends through both land in one tree, and an entry logged through one is
// answered with its index by the other once the shared de-duplication index
// has caught up (which it does within a poll, ~50ms; in that window the
// other front-end would log it again).
func TestTwoFrontEnds(t *testing.T) {
	srv := dbtest.MariaDB(t)
	b := mysqlOn(t, srv, t.TempDir())
	ctx := context.Background()
	first, second := mustOpen(t, b), mustOpen(t, b)
	const each = 100
	reqs := make([]*pb.CreateEntryRequest, 2*each)
	for i := range reqs {
		reqs[i] = request(t, fmt.Sprintf("front-%d", i))
	}
	index := make([]int64, len(reqs))
	burst(t, reqs, 64, func(i int) {
		l := first
		if i%2 == 1 {
			l = second
		}
		e, err := l.Add(ctx, reqs[i])
		if err != nil {
			t.Errorf("entry %d: %v", i, err)
			return
		}
		index[i] = e.LogIndex
	})
	seen := map[int64]bool{}
	for i, idx := range index {
		if seen[idx] {
			t.Fatalf("index %d given twice (entry %d)", idx, i)
		}
		seen[idx] = true
	}
	if err := logserver.CaughtUp(ctx, second); err != nil {
		t.Fatal(err)
	}
	for i := range 10 { // each entry again, through the other front-end
		l := second
		if i%2 == 1 {
			l = first
		}
		e, err := l.Add(ctx, reqs[i])
		if err != nil || e.LogIndex != index[i] {
			t.Fatalf("entry %d through the other front-end: index %v, %v; want %d", i, e.GetLogIndex(), err, index[i])
		}
	}
	for _, l := range []*logserver.Log{first, second} {
		if n := treeSize(t, l); n != 2*each {
			t.Fatalf("tree size %d, want %d: both front-ends append to one tree, without duplicates", n, 2*each)
		}
	}
}

// BenchmarkAppendMySQL is BenchmarkAppend on a real MariaDB, whose driver
// signs a checkpoint at most once a second.
func BenchmarkAppendMySQL(b *testing.B) {
	srv := dbtest.MariaDB(b)
	for _, clients := range []int{512, 2048} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			benchAppend(b, mustOpen(b, mysqlOn(b, srv, b.TempDir())), clients, false)
		})
	}
}
