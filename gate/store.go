package gate

import (
	"context"
	"errors"
	"time"
)

// job is one unit of queued work: a pushed manifest to look at.
type job struct {
	// ID is the notification event's id (or one derived from its content).
	ID         string    `json:"id"`
	Repository string    `json:"repository"`
	Digest     string    `json:"digest"`
	Tag        string    `json:"tag,omitempty"`
	MediaType  string    `json:"mediaType,omitempty"`
	Received   time.Time `json:"received"`
	// Attempts counts transient failures so far.
	Attempts int `json:"attempts,omitempty"`
	// Recheck is a re-verification the gate scheduled itself (not an event).
	Recheck bool `json:"recheck,omitempty"`

	seq int64 // its row in the store's queue; 0 for in-memory jobs
}

// Query selects the records GET /status lists: newest push first, filtered
// by state and repository when they are set, Limit records from Offset.
type Query struct {
	State, Repository string
	Limit, Offset     int
}

// store is the gate's durable state: the events it accepted (for
// idempotency), the queue of jobs not done yet, and one verdict record per
// repository@digest. Every method that returns without an error has its
// change committed; a store that cannot write returns the error and
// changes nothing, and the gate then answers 503 (the registry sends the
// event again) rather than losing it.
type store interface {
	// accept records the event j.ID and queues j in one transaction. It
	// returns false, and queues nothing, for an event id already accepted,
	// and errQueueFull when max jobs are queued.
	accept(ctx context.Context, j *job, max int) (bool, error)
	// acceptNew is accept, except that it also queues nothing, and returns
	// false, when repository@digest has a record or a queued job (checked
	// in the same transaction): a backfill's way in.
	acceptNew(ctx context.Context, j *job, max int) (bool, error)
	// pending lists the queued jobs, oldest first.
	pending(ctx context.Context) ([]*job, error)
	// done removes a processed job from the queue; a job not in it (an
	// in-memory re-check, or one already done) is no error.
	done(ctx context.Context, j *job) error
	// update changes (or creates) the record of repository@digest with f,
	// atomically, and returns it as saved.
	update(ctx context.Context, repo, digest string, f func(r *Record)) (Record, error)
	// get returns the record of repository@digest; ok is false when there
	// is none.
	get(ctx context.Context, repo, digest string) (r Record, ok bool, err error)
	// list returns the records q selects, newest push first.
	list(ctx context.Context, q Query) ([]Record, error)
	// counts returns how many records are in each state.
	counts(ctx context.Context) (map[string]int, error)
	// due returns the pending records whose deadline is not after now.
	due(ctx context.Context, now time.Time) ([]Record, error)
	// prune deletes the settled records last updated before t, and the ids
	// of events accepted before t that no queued job refers to; it returns
	// how many records it deleted.
	prune(ctx context.Context, t time.Time) (int64, error)
	// queueDepth is how many jobs are queued.
	queueDepth(ctx context.Context) (int, error)
	close() error
}

// errQueueFull asks the registry to send the notification again later.
var errQueueFull = errors.New("the gate's queue is full")

// ErrState means the gate's state (its database) cannot be opened, read or
// written; the gate refuses events (503) rather than accepting and losing
// them.
var ErrState = errors.New("the gate's state is unusable")

// openStore opens the state in dir (dir/gate.db).
func openStore(ctx context.Context, dir string) (store, error) {
	return openSQLite(ctx, dir)
}
