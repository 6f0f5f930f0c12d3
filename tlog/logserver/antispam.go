package logserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
)

// errOutOfSync means another follower recorded entries first; the caller
// reads the store's position again.
var errOutOfSync = errors.New("de-duplication index moved on")

// errDedupMismatch means the de-duplication index gives an entry an index
// where the tree holds another entry, or none: the index is damaged.
var errDedupMismatch = errors.New("the de-duplication index does not match the tree")

// dedupStore is where the log remembers, across restarts, the index of every
// entry it holds, keyed by the entry's identity hash (SHA-256 of its body).
type dedupStore interface {
	// lookup returns the index recorded for id, if any.
	lookup(ctx context.Context, id []byte) (idx uint64, ok bool, err error)
	// followed returns how many of the log's first entries are recorded.
	followed(ctx context.Context) (uint64, error)
	// record atomically records ids as the entries at from, from+1, ...
	// (keeping an earlier index for an id already recorded) and moves the
	// position to from+len(ids). It returns errOutOfSync, recording nothing,
	// if the position is not from.
	record(ctx context.Context, from uint64, ids [][]byte) error
	// reset forgets every entry, to index the tree again from the start.
	reset(ctx context.Context) error
	close() error
}

// antispam is a persistent de-duplication index for Tessera's appender
// (tessera.Antispam): Add looks an entry up before sequencing it, and a
// follower records every entry the log integrates. Unlike Tessera's own
// drivers it can be closed, and Open waits until it has caught up, so a
// restarted log answers a resubmitted entry with its original index.
type antispam struct {
	store     dedupStore
	reader    tessera.LogReader // set by Open before the first append
	every     time.Duration
	batch     int
	mu        sync.Mutex
	followers []*follower
	closeOnce sync.Once
	closeErr  error
}

// newAntispam follows the tree every 50ms unless every is set.
func newAntispam(store dedupStore, every time.Duration) *antispam {
	if every <= 0 {
		every = 50 * time.Millisecond
	}
	return &antispam{store: store, every: every, batch: 1024}
}

// Decorator looks every entry up before handing it on: one already
// recorded resolves to its recorded index.
func (a *antispam) Decorator() func(tessera.AddFn) tessera.AddFn {
	return func(next tessera.AddFn) tessera.AddFn {
		return func(ctx context.Context, e *tessera.Entry) tessera.IndexFuture {
			idx, ok, err := a.store.lookup(ctx, e.Identity())
			switch {
			case err != nil:
				return func() (tessera.Index, error) {
					return tessera.Index{}, fmt.Errorf("looking up entry in the de-duplication index: %w", err)
				}
			case ok:
				if err := a.check(ctx, idx, e.LeafHash()); err != nil {
					return func() (tessera.Index, error) { return tessera.Index{}, err }
				}
				return func() (tessera.Index, error) { return tessera.Index{Index: idx, IsDup: true}, nil }
			}
			return next(ctx, e)
		}
	}
}

// check makes sure the tree holds the entry whose leaf hash is leaf at idx,
// as the index says: an index damaged or edited must not answer with
// another entry's index, or wait for one the tree never reaches.
func (a *antispam) check(ctx context.Context, idx uint64, leaf []byte) error {
	size, err := a.reader.IntegratedSize(ctx)
	if err != nil {
		return fmt.Errorf("reading the log's size: %w", err)
	}
	if idx >= size {
		return fmt.Errorf("%w: it records this entry at %d, beyond the tree of %d entries; %s", errDedupMismatch, idx, size, rebuildDedup)
	}
	tileIndex := idx / layout.TileWidth
	raw, err := a.reader.ReadTile(ctx, 0, tileIndex, layout.PartialTileSize(0, tileIndex, size))
	if err != nil {
		return fmt.Errorf("reading the tile of entry %d: %w", idx, err)
	}
	var t api.HashTile
	if err := t.UnmarshalText(raw); err != nil {
		return fmt.Errorf("parsing the tile of entry %d: %w", idx, err)
	}
	if off := idx % layout.TileWidth; off >= uint64(len(t.Nodes)) || !bytes.Equal(t.Nodes[off], leaf) {
		return fmt.Errorf("%w: it records this entry at %d, where the tree holds another entry; %s", errDedupMismatch, idx, rebuildDedup)
	}
	return nil
}

// rebuildDedup tells an operator how to rebuild a damaged index.
const rebuildDedup = "stop the log, delete the index (--dir/dedup on POSIX; the rows of SignetDedup and SignetDedupFollowed on MySQL) and start it again to rebuild it from the tree"

// Follower returns the task that records integrated entries.
func (a *antispam) Follower(hash func([]byte) ([][]byte, error)) tessera.Follower {
	f := &follower{a: a, hash: hash, done: make(chan struct{})}
	a.mu.Lock()
	a.followers = append(a.followers, f)
	a.mu.Unlock()
	return f
}

// sync makes the index agree with the tree before the log takes entries: an
// index ahead of the tree (the tree was restored from an older backup than
// the index) could answer with indexes the tree gives to other entries, so
// it is rebuilt; then it waits until every entry in the tree is recorded.
func (a *antispam) sync(ctx context.Context, lr tessera.LogReader) error {
	size, err := integratedSize(ctx, lr)
	if err != nil {
		return err
	}
	done, err := a.store.followed(ctx)
	if err != nil {
		return fmt.Errorf("reading the de-duplication index: %w", err)
	}
	if done > size {
		if err := a.store.reset(ctx); err != nil {
			return fmt.Errorf("rebuilding the de-duplication index, which records %d entries of a tree of %d: %w", done, size, err)
		}
	}
	// Catch up here rather than wait for the follower, which retries for
	// ever: a tree that cannot be read must fail the start, saying why.
	a.mu.Lock()
	fs := a.followers
	a.mu.Unlock()
	for _, f := range fs {
		if err := f.catchUp(ctx, lr); err != nil {
			return fmt.Errorf("indexing the log's %d entries for de-duplication: %w", size, err)
		}
	}
	return a.caughtUp(ctx, lr)
}

func integratedSize(ctx context.Context, lr tessera.LogReader) (uint64, error) {
	size, err := lr.IntegratedSize(ctx)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("reading the log's size: %w", err)
	}
	return size, nil
}

// caughtUp waits until every integrated entry of lr is recorded.
func (a *antispam) caughtUp(ctx context.Context, lr tessera.LogReader) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		size, err := integratedSize(ctx, lr)
		if err != nil {
			return err
		}
		done, err := a.store.followed(ctx)
		if err != nil {
			return fmt.Errorf("reading the de-duplication index: %w", err)
		}
		if done >= size {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the de-duplication index to catch up (%d of %d entries): %w", done, size, ctx.Err())
		case <-t.C:
		}
	}
}

// close waits for the followers (whose context must be cancelled) and closes the store.
func (a *antispam) close() error {
	a.closeOnce.Do(func() {
		a.mu.Lock()
		fs := a.followers
		a.mu.Unlock()
		for _, f := range fs {
			<-f.done
		}
		a.closeErr = a.store.close()
	})
	return a.closeErr
}

type follower struct {
	a    *antispam
	hash func([]byte) ([][]byte, error)
	done chan struct{}
}

func (f *follower) Name() string { return "signet de-duplication index" }

// Follow records integrated entries until ctx is cancelled, retrying on
// errors; until it catches up, the in-memory cache in front of it still
// de-duplicates what this process appended.
func (f *follower) Follow(ctx context.Context, lr tessera.LogReader) {
	defer close(f.done)
	t := time.NewTicker(f.a.every)
	defer t.Stop()
	for {
		_ = f.catchUp(ctx, lr) // retried on the next tick
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (f *follower) catchUp(ctx context.Context, lr tessera.LogReader) error {
	size, err := integratedSize(ctx, lr)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		from, err := f.a.store.followed(ctx)
		if err != nil || from >= size {
			return err
		}
		n := min(size-from, uint64(f.a.batch))
		ids, err := f.read(ctx, lr, from, n, size)
		if err != nil {
			return err
		}
		if err := f.a.store.record(ctx, from, ids); err != nil && !errors.Is(err, errOutOfSync) {
			return err
		}
	}
	return ctx.Err()
}

// read returns the identity hashes of entries [from, from+n) of a tree of size.
func (f *follower) read(ctx context.Context, lr tessera.LogReader, from, n, size uint64) ([][]byte, error) {
	sizeFn := func(context.Context) (uint64, error) { return size, nil }
	ids := make([][]byte, 0, n)
	for e, err := range client.Entries(client.EntryBundles(ctx, 2, sizeFn, lr.ReadEntryBundle, from, n), f.hash) {
		if err != nil {
			return nil, fmt.Errorf("reading entries from %d: %w", from, err)
		}
		if want := from + uint64(len(ids)); e.Index != want {
			return nil, fmt.Errorf("reading entries: got index %d, want %d", e.Index, want)
		}
		ids = append(ids, e.Entry)
	}
	if uint64(len(ids)) != n {
		return nil, fmt.Errorf("reading entries from %d: got %d, want %d", from, len(ids), n)
	}
	return ids, nil
}

// EntriesProcessed reports how many entries are recorded.
func (f *follower) EntriesProcessed(ctx context.Context) (uint64, error) {
	return f.a.store.followed(ctx)
}
