package gate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	sqlitedrv "modernc.org/sqlite" // the pure-Go SQLite driver, "sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dbFile is the gate's database in its state directory.
const dbFile = "gate.db"

// sqlite is the dialect of SQLite (pure Go, no cgo), in WAL mode so
// /status reads do not wait for writers. Write transactions begin
// IMMEDIATE (the DSN's _txlock), so two writers — also two processes on
// one file — queue on the busy timeout instead of failing on a lock
// upgrade, and a claim's SELECT and UPDATE see no other writer between
// them; commits are synchronous (FULL), so what the registry was told is
// accepted is on disk.
var sqlite = &dialect{
	name:       "SQLite",
	migrations: sqliteMigrations,
	claim: `UPDATE jobs SET claimed_by = ?, claimed_until = ? WHERE seq IN (
		SELECT seq FROM jobs WHERE claimed_until <= ? AND not_before <= ? ORDER BY seq LIMIT ?)
		RETURNING ` + jobColumns,
}

// openSQLite opens (creating it if need be) dir/gate.db, brings its schema
// up to date and, once, imports a file-based state found in dir.
func openSQLite(ctx context.Context, dir string) (*sqlStore, error) {
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
	s := &sqlStore{db: db, d: sqlite, where: path}
	if err := s.migrateBusy(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: opening %s (if the file is damaged, move it away: the gate starts with an empty state and the registry's next notifications refill it): %w", ErrState, path, err)
	}
	if err := importFiles(ctx, s, dir); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: importing the file-based state in %s into %s: %w", ErrState, dir, path, err)
	}
	return s, nil
}

// openAttempts bounds the tries at bringing up a database another process
// is creating or migrating at the same moment (a gate and a backfill
// starting together): SQLite answers some of those collisions — switching
// a new file to WAL — with SQLITE_BUSY at once, without waiting out the
// busy timeout, and the next try finds the work done.
const openAttempts = 5

// isBusy says whether err is SQLite's SQLITE_BUSY: another connection
// holds the lock.
func isBusy(err error) bool {
	var se *sqlitedrv.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// migrateBusy is migrate, tried again (a little later each time) while
// SQLite answers SQLITE_BUSY.
func (s *sqlStore) migrateBusy(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		err := s.migrate(ctx)
		if err == nil || attempt == openAttempts || !isBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		}
	}
}
