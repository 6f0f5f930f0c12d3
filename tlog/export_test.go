package tlog

import (
	"context"
	"time"
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
