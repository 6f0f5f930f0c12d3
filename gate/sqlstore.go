package gate

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// dialect is what differs between the SQL engines the gate keeps its state
// in; everything else is sqlStore, shared.
type dialect struct {
	// name is the engine's name, for messages.
	name string
	// migrations are the schema's versions (see schema.go).
	migrations []string
	// numbered placeholders ($1, $2, ...) instead of ?.
	numbered bool
	// forUpdate locks the row a SELECT reads until the transaction ends
	// (" FOR UPDATE"; "" where a write transaction locks the database).
	forUpdate string
	// claim is the statement that claims jobs: its arguments are the
	// owner, the lease's end, now (twice) and the batch size, and it
	// returns jobColumns.
	claim string
	// lockMigrations, when set, runs first in the migrating transaction so
	// two replicas starting together migrate one after the other.
	lockMigrations string
}

// rebind rewrites the ? placeholders of q for d.
func (d *dialect) rebind(q string) string {
	if !d.numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// sqlStore is the store in a SQL database through database/sql, in a
// dialect. Every method that changes more than one row does so in one
// transaction.
type sqlStore struct {
	db *sql.DB
	d  *dialect
	// where names the database in messages: a path, or a URL without its
	// password.
	where string
}

// q is query in the store's dialect.
func (s *sqlStore) q(query string) string { return s.d.rebind(query) }

// migrate applies the migrations the database has not had yet, in order,
// in one transaction.
func (s *sqlStore) migrate(ctx context.Context) error {
	ms := s.d.migrations
	return s.tx(ctx, func(tx *sql.Tx) error {
		if s.d.lockMigrations != "" {
			if _, err := tx.ExecContext(ctx, s.d.lockMigrations); err != nil {
				return fmt.Errorf("waiting for another replica's migration: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return err
		}
		var v int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil {
			return err
		}
		if v > len(ms) {
			return fmt.Errorf("the schema is at version %d, newer than this signet knows (%d): run a newer signet", v, len(ms))
		}
		for i := v; i < len(ms); i++ {
			if _, err := tx.ExecContext(ctx, ms[i]); err != nil {
				return fmt.Errorf("applying schema migration %d: %w", i+1, err)
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_version (version) VALUES (?)`), i+1); err != nil {
				return err
			}
		}
		return nil
	})
}

// tx runs f in a transaction and commits it, or rolls it back when f or the
// commit fails.
func (s *sqlStore) tx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s *sqlStore) close() error { return s.db.Close() }

// writable writes a row in a transaction it then rolls back: it fails, and
// nothing stays behind, when the database is unreachable or read-only, as
// accepting an event then would. SQLite's one writer lock held by another
// writer (a backfill, a long prune) until ctx ends is no failure: the
// database is being written, and an event waits out the longer busy
// timeout.
func (s *sqlStore) writable(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err == nil {
		defer tx.Rollback()
		_, err = tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`)
	}
	if err == nil || s.d == sqlite && (ctx.Err() != nil || isBusy(err)) {
		return nil
	}
	return s.stateErr("writing a row it rolls back", err)
}

// stateErr is err as ErrState, saying what was being done where.
func (s *sqlStore) stateErr(what string, err error) error {
	return fmt.Errorf("%w: %s in %s: %w", ErrState, what, s.where, err)
}

// errDuplicate ends an accept transaction for an event already accepted.
var errDuplicate = errors.New("event already accepted")

func (s *sqlStore) accept(ctx context.Context, j *job, max int) (bool, error) {
	return s.insert(ctx, j, max, false)
}

func (s *sqlStore) acceptNew(ctx context.Context, j *job, max int) (bool, error) {
	return s.insert(ctx, j, max, true)
}

func (s *sqlStore) enqueue(ctx context.Context, j *job) (bool, error) {
	return s.insert(ctx, j, 0, false)
}

// insert is accept (max 0: no bound); with unlessKnown it also queues
// nothing (and returns false) when repository@digest has a record or a
// queued job, checked in the same transaction, so no notification slips in
// between.
func (s *sqlStore) insert(ctx context.Context, j *job, max int, unlessKnown bool) (bool, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if unlessKnown {
			var known bool
			if err := tx.QueryRowContext(ctx, s.q(`SELECT EXISTS (SELECT 1 FROM records WHERE repository = ? AND digest = ?)
				OR EXISTS (SELECT 1 FROM jobs WHERE repository = ? AND digest = ?)`), j.Repository, j.Digest, j.Repository, j.Digest).Scan(&known); err != nil {
				return err
			}
			if known {
				return errDuplicate
			}
		}
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO events (id, received) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`), j.ID, nanos(j.Received))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errDuplicate
		}
		if max > 0 {
			var queued int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs`).Scan(&queued); err != nil {
				return err
			}
			if queued >= max {
				return errQueueFull
			}
		}
		return tx.QueryRowContext(ctx, s.q(`INSERT INTO jobs (event_id, repository, digest, tag, media_type, received, attempts, recheck) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`),
			j.ID, j.Repository, j.Digest, j.Tag, j.MediaType, nanos(j.Received), j.Attempts, boolInt(j.Recheck)).Scan(&j.seq)
	})
	switch {
	case errors.Is(err, errDuplicate):
		return false, nil
	case errors.Is(err, errQueueFull):
		return false, err
	case err != nil:
		return false, s.stateErr(fmt.Sprintf("queueing event %q", j.ID), err)
	}
	return true, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// jobColumns are a job's columns in the order scanJob reads them.
const jobColumns = `seq, event_id, repository, digest, tag, media_type, received, attempts, recheck`

func scanJob(sc scanner) (*job, error) {
	var j job
	var received int64
	var recheck int
	if err := sc.Scan(&j.seq, &j.ID, &j.Repository, &j.Digest, &j.Tag, &j.MediaType, &received, &j.Attempts, &recheck); err != nil {
		return nil, err
	}
	j.Received, j.Recheck = fromNanos(received), recheck != 0
	return &j, nil
}

// jobs runs a query that returns jobColumns.
func (s *sqlStore) jobs(rows *sql.Rows, err error) ([]*job, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

func (s *sqlStore) pending(ctx context.Context) ([]*job, error) {
	out, err := s.jobs(s.db.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs ORDER BY seq`))
	if err != nil {
		return nil, s.stateErr("listing the queue", err)
	}
	return out, nil
}

func (s *sqlStore) claim(ctx context.Context, h hold, n int, now time.Time) ([]*job, error) {
	var out []*job
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.jobs(tx.QueryContext(ctx, s.d.claim, h.Owner, nanos(h.Until), nanos(now), nanos(now), n))
		return err
	})
	if err != nil {
		return nil, s.stateErr("claiming queued jobs", err)
	}
	// In their place in the queue (RETURNING keeps no order).
	slices.SortFunc(out, func(a, b *job) int { return cmp.Compare(a.seq, b.seq) })
	return out, nil
}

func (s *sqlStore) renew(ctx context.Context, h hold, seqs []int64) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, seq := range seqs {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE jobs SET claimed_until = ? WHERE seq = ? AND claimed_by = ?`), nanos(h.Until), seq, h.Owner); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.stateErr("renewing the leases of the jobs being worked on", err)
	}
	return nil
}

func (s *sqlStore) release(ctx context.Context, owner string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE jobs SET claimed_by = '', claimed_until = 0 WHERE claimed_by = ?`), owner); err != nil {
		return s.stateErr("releasing the jobs being worked on", err)
	}
	return nil
}

func (s *sqlStore) retry(ctx context.Context, j *job, owner string, notBefore time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE jobs SET attempts = ?, not_before = ?, claimed_by = '', claimed_until = 0 WHERE seq = ? AND claimed_by = ?`),
		j.Attempts, nanos(notBefore), j.seq, owner); err != nil {
		return s.stateErr(fmt.Sprintf("scheduling job %q again", j.ID), err)
	}
	return nil
}

func (s *sqlStore) done(ctx context.Context, j *job) error {
	if err := s.tx(ctx, func(tx *sql.Tx) error { return s.remove(ctx, tx, j) }); err != nil {
		return s.stateErr(fmt.Sprintf("removing job %q from the queue", j.ID), err)
	}
	return nil
}

// remove deletes j from the queue in tx, and a re-check's event id.
func (s *sqlStore) remove(ctx context.Context, tx *sql.Tx, j *job) error {
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM jobs WHERE seq = ?`), j.seq); err != nil {
		return err
	}
	if !j.Recheck {
		return nil
	}
	_, err := tx.ExecContext(ctx, s.q(`DELETE FROM events WHERE id = ? AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.event_id = events.id)`), j.ID)
	return err
}

func (s *sqlStore) queueDepth(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs`).Scan(&n); err != nil {
		return 0, s.stateErr("counting the queue", err)
	}
	return n, nil
}

// recordColumns are a record's columns in the order scanRecord reads them.
const recordColumns = `repository, digest, tags, pushed, deadline, state, reason, class, checks, updated, vsa, vsa_result, summary_result, summary_job, summary_at`

// recordValues are recordColumns' placeholders.
const recordValues = `?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`

type scanner interface{ Scan(dest ...any) error }

func scanRecord(sc scanner) (Record, error) {
	var r Record
	var tags string
	var pushed, deadline, updated, summaryAt int64
	if err := sc.Scan(&r.Repository, &r.Digest, &tags, &pushed, &deadline, &r.State, &r.Reason, &r.Class, &r.Checks, &updated, &r.VSA, &r.VSAResult,
		&r.summary.result, &r.summary.job, &summaryAt); err != nil {
		return Record{}, err
	}
	if err := json.Unmarshal([]byte(tags), &r.Tags); err != nil {
		return Record{}, fmt.Errorf("reading the tags of %s: %w", r.key(), err)
	}
	r.Pushed, r.Deadline, r.Updated, r.summary.at = fromNanos(pushed), fromNanos(deadline), fromNanos(updated), fromNanos(summaryAt)
	return r, nil
}

// recordArgs are r's values for recordColumns.
func recordArgs(r *Record) []any {
	tags, _ := json.Marshal(r.Tags)
	if r.Tags == nil {
		tags = []byte("[]")
	}
	return []any{r.Repository, r.Digest, string(tags), nanos(r.Pushed), nanos(r.Deadline), r.State, r.Reason, r.Class, r.Checks, nanos(r.Updated),
		r.VSA, r.VSAResult, r.summary.result, r.summary.job, nanos(r.summary.at)}
}

func (s *sqlStore) update(ctx context.Context, repo, digest string, f func(r *Record)) (Record, error) {
	return s.updateHeld(ctx, nil, hold{}, repo, digest, func(r *Record) bool { f(r); return false })
}

func (s *sqlStore) updateHeld(ctx context.Context, j *job, h hold, repo, digest string, f func(r *Record) (finished bool)) (Record, error) {
	var out Record
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if j != nil {
			res, err := tx.ExecContext(ctx, s.q(`UPDATE jobs SET claimed_until = ? WHERE seq = ? AND claimed_by = ?`), nanos(h.Until), j.seq, h.Owner)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return errLeaseLost
			}
		}
		if s.d.forUpdate != "" {
			// A row to lock, so two replicas' verdicts on one image are one
			// after the other, never one lost: inserted (not yet visible to
			// others) when there is none. (SQLite's write transactions are
			// one at a time already.)
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO records (repository, digest, pushed, deadline, state, updated) VALUES (?, ?, 0, 0, '', 0)
				ON CONFLICT (repository, digest) DO NOTHING`), repo, digest); err != nil {
				return err
			}
		}
		r, err := scanRecord(tx.QueryRowContext(ctx, s.q(`SELECT `+recordColumns+` FROM records WHERE repository = ? AND digest = ?`+s.d.forUpdate), repo, digest))
		if errors.Is(err, sql.ErrNoRows) {
			r, err = Record{Repository: repo, Digest: digest}, nil
		}
		if err != nil {
			return err
		}
		finished := f(&r)
		r.Repository, r.Digest = repo, digest
		if _, err = tx.ExecContext(ctx, s.q(`INSERT INTO records (`+recordColumns+`) VALUES (`+recordValues+`)
			ON CONFLICT (repository, digest) DO UPDATE SET tags = excluded.tags, pushed = excluded.pushed, deadline = excluded.deadline,
			state = excluded.state, reason = excluded.reason, class = excluded.class, checks = excluded.checks, updated = excluded.updated,
			vsa = excluded.vsa, vsa_result = excluded.vsa_result, summary_result = excluded.summary_result, summary_job = excluded.summary_job,
			summary_at = excluded.summary_at`), recordArgs(&r)...); err != nil {
			return err
		}
		out = r
		if j != nil && finished {
			return s.remove(ctx, tx, j)
		}
		return nil
	})
	if errors.Is(err, errLeaseLost) {
		return Record{}, err
	}
	if err != nil {
		return Record{}, s.stateErr(fmt.Sprintf("saving the record of %s@%s", repo, digest), err)
	}
	return out, nil
}

func (s *sqlStore) releaseSummary(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE records SET summary_job = '' WHERE summary_job = ?`), id); err != nil {
		return s.stateErr(fmt.Sprintf("releasing the summaries job %q claimed", id), err)
	}
	return nil
}

func (s *sqlStore) get(ctx context.Context, repo, digest string) (Record, bool, error) {
	r, err := scanRecord(s.db.QueryRowContext(ctx, s.q(`SELECT `+recordColumns+` FROM records WHERE repository = ? AND digest = ? AND state <> ''`), repo, digest))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Record{}, false, nil
	case err != nil:
		return Record{}, false, s.stateErr(fmt.Sprintf("reading the record of %s@%s", repo, digest), err)
	}
	return r, true, nil
}

func (s *sqlStore) list(ctx context.Context, q Query) ([]Record, error) {
	where := []string{"state <> ''"}
	var args []any
	if q.State != "" {
		where, args = append(where, "state = ?"), append(args, q.State)
	}
	if q.Repository != "" {
		where, args = append(where, "repository = ?"), append(args, q.Repository)
	}
	stmt := `SELECT ` + recordColumns + ` FROM records WHERE ` + strings.Join(where, " AND ") + " ORDER BY pushed DESC, repository, digest LIMIT ? OFFSET ?"
	args = append(args, q.Limit, q.Offset)
	return s.records(ctx, "listing records", stmt, args...)
}

func (s *sqlStore) due(ctx context.Context, now time.Time) ([]Record, error) {
	return s.records(ctx, "listing the pending records due", `SELECT `+recordColumns+` FROM records WHERE state = ? AND deadline <= ?`, StatePending, nanos(now))
}

func (s *sqlStore) records(ctx context.Context, what, stmt string, args ...any) ([]Record, error) {
	rows, err := s.db.QueryContext(ctx, s.q(stmt), args...)
	if err != nil {
		return nil, s.stateErr(what, err)
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, s.stateErr(what, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.stateErr(what, err)
	}
	return out, nil
}

func (s *sqlStore) counts(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM records WHERE state <> '' GROUP BY state`)
	if err != nil {
		return nil, s.stateErr("counting records", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, s.stateErr("counting records", err)
		}
		out[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, s.stateErr("counting records", err)
	}
	return out, nil
}

func (s *sqlStore) prune(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM records WHERE updated < ? AND state <> ?`), nanos(t), StatePending)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`DELETE FROM events WHERE received < ? AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.event_id = events.id)`), nanos(t))
		return err
	})
	if err != nil {
		return 0, s.stateErr("deleting records older than "+t.Format(time.RFC3339), err)
	}
	return n, nil
}

// nanos is t in Unix nanoseconds; the zero time is 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the inverse of nanos, in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
