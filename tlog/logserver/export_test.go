package logserver

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// CaughtUp waits until l's de-duplication index records every entry in its tree.
func CaughtUp(ctx context.Context, l *Log) error { return l.dedup.caughtUp(ctx, l.reader) }

// WithFollowInterval sets how often the de-duplication index follows the tree.
func WithFollowInterval(d time.Duration) LogOption {
	return func(c *logConfig) { c.followEvery = d }
}

// Crash stops l as a killed process would: no flush, no shutdown, the
// de-duplication index left where its follower was.
func Crash(l *Log) {
	l.cancel()
	l.dedup.close()
}

// InclusionProof is l's proof of index in the tree of size, as Add builds it.
func InclusionProof(ctx context.Context, l *Log, size, index uint64) ([][]byte, error) {
	return l.prover.inclusionProof(ctx, size, index, l.reader.ReadTile)
}

// ErrDedupMismatch is errDedupMismatch, for tests.
var ErrDedupMismatch = errDedupMismatch

// DamageDedup records in l's de-duplication index that the entry whose
// canonical body is body is at idx, as an insider editing the index would.
func DamageDedup(ctx context.Context, l *Log, body []byte, idx uint64) error {
	id := sha256.Sum256(body)
	switch s := l.dedup.store.(type) {
	case *badgerStore:
		return s.db.Update(func(txn *badger.Txn) error {
			return txn.Set(id[:], binary.BigEndian.AppendUint64(nil, idx))
		})
	case *mysqlStore:
		_, err := s.db.ExecContext(ctx, "REPLACE INTO `SignetDedup` (`id`, `idx`) VALUES (?, ?)", id[:], idx)
		return err
	}
	return fmt.Errorf("unknown de-duplication store %T", l.dedup.store)
}
