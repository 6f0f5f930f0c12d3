package tlog_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/signet-dev/signet/internal/dbtest"
	"github.com/signet-dev/signet/tlog"
)

// TestOpenRefusesAnotherLogsTree opens a tree whose checkpoint was signed
// by another key or for another origin: the log must refuse it rather than
// sign the same tree under a second identity (its clients' checkpoints
// would stop verifying, and two keys would vouch for one history).
func TestOpenRefusesAnotherLogsTree(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := tlog.Open(ctx, dir, "log.example")
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, "id", 2)
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	t.Run("other origin", func(t *testing.T) {
		l, err := tlog.Open(ctx, dir, "other.example")
		if err == nil {
			l.Close(ctx)
		}
		if !errors.Is(err, tlog.ErrNotThisLog) {
			t.Fatalf("opening log.example's tree as other.example: got %v, want ErrNotThisLog", err)
		}
		t.Log(err)
	})
	t.Run("key lost", func(t *testing.T) {
		if err := os.Rename(filepath.Join(dir, "log.key"), filepath.Join(dir, "log.key.bak")); err != nil {
			t.Fatal(err)
		}
		defer os.Rename(filepath.Join(dir, "log.key.bak"), filepath.Join(dir, "log.key"))
		l, err := tlog.Open(ctx, dir, "log.example")
		if err == nil {
			l.Close(ctx)
		}
		if !errors.Is(err, tlog.ErrNotThisLog) {
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
	target, err := tlog.ParseMySQL(b.url)
	if err != nil {
		t.Fatal(err)
	}
	second, err := tlog.Open(ctx, t.TempDir(), "log.example", tlog.WithMySQL(target))
	if err == nil {
		second.Close(ctx)
	}
	if !errors.Is(err, tlog.ErrNotThisLog) {
		t.Fatalf("front-end with another key: got %v, want ErrNotThisLog", err)
	}
	cp := appendN(t, first, "fe-after", 1)
	if _, err := verifierFor(t, first).Parse(cp); err != nil {
		t.Fatalf("the first front-end's checkpoint after the refused start: %v", err)
	}
}
