package gate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, "sqlite"
)

// dbFile is the gate's database in its state directory.
const dbFile = "gate.db"

// sqliteStore is the store in one SQLite database (pure Go, no cgo), in
// WAL mode so /status reads do not wait for writers. Write transactions
// begin IMMEDIATE, so two writers queue on the busy timeout instead of
// failing on a lock upgrade; commits are synchronous (FULL), so what the
// registry was told is accepted is on disk.
type sqliteStore struct {
	db   *sql.DB
	path string
}

// openSQLite opens (creating it if need be) dir/gate.db, brings its schema
// up to date and, once, imports a file-based state found in dir.
func openSQLite(ctx context.Context, dir string) (*sqliteStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: creating %s: %w", ErrState, dir, err)
	}
	path := filepath.Join(dir, dbFile)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Lstat(p); err == nil && !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%w: %s is not a regular file (a symlink?); remove it", ErrState, p)
		}
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: opening %s: %w", ErrState, path, err)
	}
	s := &sqliteStore{db: db, path: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: opening %s (if the file is damaged, move it away: the gate starts with an empty state and the registry's next notifications refill it): %w", ErrState, path, err)
	}
	if err := importFiles(ctx, s, dir); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: importing the file-based state in %s into %s: %w", ErrState, dir, path, err)
	}
	return s, nil
}

// migrate applies the migrations the database has not had yet, in order,
// in one transaction.
func (s *sqliteStore) migrate(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return err
		}
		var v int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil {
			return err
		}
		if v > len(migrations) {
			return fmt.Errorf("the schema is at version %d, newer than this signet knows (%d): run a newer signet", v, len(migrations))
		}
		for i := v; i < len(migrations); i++ {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("applying schema migration %d: %w", i+1, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, i+1); err != nil {
				return err
			}
		}
		return nil
	})
}

// tx runs f in a transaction and commits it, or rolls it back when f or the
// commit fails.
func (s *sqliteStore) tx(ctx context.Context, f func(tx *sql.Tx) error) error {
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

func (s *sqliteStore) close() error { return s.db.Close() }

// errDuplicate ends an accept transaction for an event already accepted.
var errDuplicate = errors.New("event already accepted")

func (s *sqliteStore) accept(ctx context.Context, j *job, max int) (bool, error) {
	return s.insert(ctx, j, max, false)
}

func (s *sqliteStore) acceptNew(ctx context.Context, j *job, max int) (bool, error) {
	return s.insert(ctx, j, max, true)
}

// insert is accept; with unlessKnown it also queues nothing (and returns
// false) when repository@digest has a record or a queued job, checked in
// the same transaction, so no notification slips in between.
func (s *sqliteStore) insert(ctx context.Context, j *job, max int, unlessKnown bool) (bool, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if unlessKnown {
			var known int
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM records WHERE repository = ? AND digest = ?)
				OR EXISTS (SELECT 1 FROM jobs WHERE repository = ? AND digest = ?)`, j.Repository, j.Digest, j.Repository, j.Digest).Scan(&known); err != nil {
				return err
			}
			if known == 1 {
				return errDuplicate
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO events (id, received) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, j.ID, nanos(j.Received))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errDuplicate
		}
		var queued int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs`).Scan(&queued); err != nil {
			return err
		}
		if queued >= max {
			return errQueueFull
		}
		return tx.QueryRowContext(ctx, `INSERT INTO jobs (event_id, repository, digest, tag, media_type, received, attempts) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
			j.ID, j.Repository, j.Digest, j.Tag, j.MediaType, nanos(j.Received), j.Attempts).Scan(&j.seq)
	})
	switch {
	case errors.Is(err, errDuplicate):
		return false, nil
	case errors.Is(err, errQueueFull):
		return false, err
	case err != nil:
		return false, fmt.Errorf("%w: queueing event %q in %s: %w", ErrState, j.ID, s.path, err)
	}
	return true, nil
}

func (s *sqliteStore) pending(ctx context.Context) ([]*job, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, event_id, repository, digest, tag, media_type, received, attempts FROM jobs ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("%w: listing the queue in %s: %w", ErrState, s.path, err)
	}
	defer rows.Close()
	var out []*job
	for rows.Next() {
		var j job
		var received int64
		if err := rows.Scan(&j.seq, &j.ID, &j.Repository, &j.Digest, &j.Tag, &j.MediaType, &received, &j.Attempts); err != nil {
			return nil, fmt.Errorf("%w: listing the queue in %s: %w", ErrState, s.path, err)
		}
		j.Received = fromNanos(received)
		out = append(out, &j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: listing the queue in %s: %w", ErrState, s.path, err)
	}
	return out, nil
}

func (s *sqliteStore) done(ctx context.Context, j *job) error {
	if j.seq == 0 {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM jobs WHERE seq = ?`, j.seq); err != nil {
		return fmt.Errorf("%w: removing job %q from the queue in %s: %w", ErrState, j.ID, s.path, err)
	}
	return nil
}

func (s *sqliteStore) queueDepth(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs`).Scan(&n); err != nil {
		return 0, fmt.Errorf("%w: counting the queue in %s: %w", ErrState, s.path, err)
	}
	return n, nil
}

// recordColumns are a record's columns in the order scanRecord reads them.
const recordColumns = `repository, digest, tags, pushed, deadline, state, reason, class, checks, updated, vsa, vsa_result`

type scanner interface{ Scan(dest ...any) error }

func scanRecord(sc scanner) (Record, error) {
	var r Record
	var tags string
	var pushed, deadline, updated int64
	if err := sc.Scan(&r.Repository, &r.Digest, &tags, &pushed, &deadline, &r.State, &r.Reason, &r.Class, &r.Checks, &updated, &r.VSA, &r.VSAResult); err != nil {
		return Record{}, err
	}
	if err := json.Unmarshal([]byte(tags), &r.Tags); err != nil {
		return Record{}, fmt.Errorf("reading the tags of %s: %w", r.key(), err)
	}
	r.Pushed, r.Deadline, r.Updated = fromNanos(pushed), fromNanos(deadline), fromNanos(updated)
	return r, nil
}

func (s *sqliteStore) update(ctx context.Context, repo, digest string, f func(r *Record)) (Record, error) {
	var out Record
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := scanRecord(tx.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM records WHERE repository = ? AND digest = ?`, repo, digest))
		if errors.Is(err, sql.ErrNoRows) {
			r, err = Record{Repository: repo, Digest: digest}, nil
		}
		if err != nil {
			return err
		}
		f(&r)
		r.Repository, r.Digest = repo, digest
		tags, err := json.Marshal(r.Tags)
		if err != nil {
			return err
		}
		if r.Tags == nil {
			tags = []byte("[]")
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO records (`+recordColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (repository, digest) DO UPDATE SET tags = excluded.tags, pushed = excluded.pushed, deadline = excluded.deadline,
			state = excluded.state, reason = excluded.reason, class = excluded.class, checks = excluded.checks, updated = excluded.updated,
			vsa = excluded.vsa, vsa_result = excluded.vsa_result`,
			r.Repository, r.Digest, string(tags), nanos(r.Pushed), nanos(r.Deadline), r.State, r.Reason, r.Class, r.Checks, nanos(r.Updated), r.VSA, r.VSAResult)
		out = r
		return err
	})
	if err != nil {
		return Record{}, fmt.Errorf("%w: saving the record of %s@%s in %s: %w", ErrState, repo, digest, s.path, err)
	}
	return out, nil
}

func (s *sqliteStore) get(ctx context.Context, repo, digest string) (Record, bool, error) {
	r, err := scanRecord(s.db.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM records WHERE repository = ? AND digest = ?`, repo, digest))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Record{}, false, nil
	case err != nil:
		return Record{}, false, fmt.Errorf("%w: reading the record of %s@%s in %s: %w", ErrState, repo, digest, s.path, err)
	}
	return r, true, nil
}

func (s *sqliteStore) list(ctx context.Context, q Query) ([]Record, error) {
	var where []string
	var args []any
	if q.State != "" {
		where, args = append(where, "state = ?"), append(args, q.State)
	}
	if q.Repository != "" {
		where, args = append(where, "repository = ?"), append(args, q.Repository)
	}
	stmt := `SELECT ` + recordColumns + ` FROM records`
	if len(where) > 0 {
		stmt += " WHERE " + strings.Join(where, " AND ")
	}
	stmt += " ORDER BY pushed DESC, repository, digest LIMIT ? OFFSET ?"
	args = append(args, q.Limit, q.Offset)
	return s.records(ctx, "listing records", stmt, args...)
}

func (s *sqliteStore) due(ctx context.Context, now time.Time) ([]Record, error) {
	return s.records(ctx, "listing the pending records due", `SELECT `+recordColumns+` FROM records WHERE state = ? AND deadline <= ?`, StatePending, nanos(now))
}

func (s *sqliteStore) records(ctx context.Context, what, stmt string, args ...any) ([]Record, error) {
	rows, err := s.db.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s in %s: %w", ErrState, what, s.path, err)
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("%w: %s in %s: %w", ErrState, what, s.path, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s in %s: %w", ErrState, what, s.path, err)
	}
	return out, nil
}

func (s *sqliteStore) counts(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM records GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("%w: counting records in %s: %w", ErrState, s.path, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("%w: counting records in %s: %w", ErrState, s.path, err)
		}
		out[state] = n
	}
	return out, rows.Err()
}

func (s *sqliteStore) prune(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM records WHERE updated < ? AND state <> ?`, nanos(t), StatePending)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM events WHERE received < ? AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.event_id = events.id)`, nanos(t))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("%w: deleting records older than %s in %s: %w", ErrState, t.Format(time.RFC3339), s.path, err)
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
