package gate

import (
	"context"
	"errors"
	"strings"
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

	seq int64 // its row in the store's queue
}

// hold is a replica's claim on a queued job: it is Owner's until Until (its
// lease); after that another replica may claim it.
type hold struct {
	Owner string
	Until time.Time
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
	// enqueue is accept with no bound on the queue: the re-checks the gate
	// queues itself, under ids that make two replicas' one job.
	enqueue(ctx context.Context, j *job) (bool, error)
	// pending lists the queued jobs, oldest first, claimed or not.
	pending(ctx context.Context) ([]*job, error)
	// claim gives h.Owner up to n queued jobs, oldest first, that no one
	// holds (or whose holder's lease ended before now) and whose retry time
	// has come, each held until h.Until. Two replicas never get the same
	// job while its lease runs.
	claim(ctx context.Context, h hold, n int, now time.Time) ([]*job, error)
	// renew extends h.Owner's leases on the jobs seqs to h.Until (a
	// heartbeat).
	renew(ctx context.Context, h hold, seqs []int64) error
	// release gives up every job h.Owner holds, for others to claim now.
	release(ctx context.Context, owner string) error
	// retry puts a job owner holds back, with its attempts, to be claimed
	// again no earlier than notBefore; when owner no longer holds it (its
	// lease ended and another replica claimed it) nothing changes.
	retry(ctx context.Context, j *job, owner string, notBefore time.Time) error
	// done removes a processed job from the queue (a re-check's event id
	// too, so a later sweep may queue it again); a job not in it (one
	// already done) is no error.
	done(ctx context.Context, j *job) error
	// update changes (or creates) the record of repository@digest with f,
	// atomically, and returns it as saved.
	update(ctx context.Context, repo, digest string, f func(r *Record)) (Record, error)
	// updateHeld is update for a job h holds: in the same transaction the
	// job's lease is renewed to h.Until, and when h.Owner no longer holds
	// it (its lease ended and another replica claimed it) nothing changes
	// and the error is errLeaseLost. When f says the job is finished with
	// this record, the job is done in the same transaction.
	updateHeld(ctx context.Context, j *job, h hold, repo, digest string, f func(r *Record) (finished bool)) (Record, error)
	// releaseSummary gives up the summaries job id claimed and did not
	// write, for the next verification to claim.
	releaseSummary(ctx context.Context, id string) error
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
	// writable fails when an event could not be accepted now because the
	// state cannot be written (unreachable, read-only); it changes nothing.
	writable(ctx context.Context) error
	close() error
}

// errLeaseLost means a replica's lease on a job ended and another replica
// claimed it: the first leaves it to the second.
var errLeaseLost = errors.New("the job's lease ended and another replica holds it")

// errQueueFull asks the registry to send the notification again later.
var errQueueFull = errors.New("the gate's queue is full")

// ErrState means the gate's state (its database) cannot be opened, read or
// written; the gate refuses events (503) rather than accepting and losing
// them.
var ErrState = errors.New("the gate's state is unusable")

// openStore opens the state: a PostgreSQL database when state is a
// postgres:// or postgresql:// URL, otherwise a SQLite database in the
// directory state (state/gate.db).
func openStore(ctx context.Context, state string) (*sqlStore, error) {
	if isPostgresURL(state) {
		return openPostgres(ctx, state)
	}
	return openSQLite(ctx, state)
}

// isPostgresURL says whether state names a PostgreSQL database.
func isPostgresURL(state string) bool {
	return strings.HasPrefix(state, "postgres://") || strings.HasPrefix(state, "postgresql://")
}
