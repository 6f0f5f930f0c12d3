package tlog

import "context"

// CaughtUp waits until l's de-duplication index records every entry in its tree.
func CaughtUp(ctx context.Context, l *Log) error { return l.dedup.caughtUp(ctx, l.reader) }
