package gate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL driver, "pgx"
)

// postgres is the dialect of PostgreSQL. Its transactions are READ
// COMMITTED: a verdict locks its record's row (FOR UPDATE), claims skip the
// rows another replica is claiming (FOR UPDATE SKIP LOCKED), and migrating
// takes a transaction-scoped advisory lock, so replicas starting together
// migrate one after the other.
var postgres = &dialect{
	name:       "PostgreSQL",
	migrations: postgresMigrations,
	numbered:   true,
	forUpdate:  " FOR UPDATE",
	claim: `WITH c AS (SELECT seq FROM jobs WHERE claimed_until <= $3 AND not_before <= $4 ORDER BY seq LIMIT $5 FOR UPDATE SKIP LOCKED)
		UPDATE jobs SET claimed_by = $1, claimed_until = $2 FROM c WHERE jobs.seq = c.seq
		RETURNING jobs.seq, jobs.event_id, jobs.repository, jobs.digest, jobs.tag, jobs.media_type, jobs.received, jobs.attempts, jobs.recheck`,
	// The key is "signet-gate" folded into a bigint; any fixed number would do.
	lockMigrations: `SELECT pg_advisory_xact_lock(7308620364339721573)`,
}

// openPostgres connects to the database dsn names (its password from the
// URL or PGPASSWORD) and brings its schema up to date.
func openPostgres(ctx context.Context, dsn string) (*sqlStore, error) {
	where := RedactURL(dsn)
	if _, err := pgconn.ParseConfig(dsn); err != nil {
		// Not wrapped: the parser's message may quote the URL, password and all.
		return nil, fmt.Errorf("%w: %s is not a usable PostgreSQL URL (postgres://USER@HOST:PORT/DATABASE, the password in PGPASSWORD)", ErrState, where)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: opening %s: %w", ErrState, where, err)
	}
	db.SetMaxOpenConns(16)
	s := &sqlStore{db: db, d: postgres, where: where}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		// The cause as text, its password (should the driver quote it) removed.
		hint := ""
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) {
			hint = " (is PostgreSQL running there, does the database exist, and may this user connect? the password comes from PGPASSWORD or the URL)"
		}
		return nil, fmt.Errorf("%w: opening %s%s: %s", ErrState, where, hint, redactIn(err.Error(), dsn))
	}
	return s, nil
}

// RedactURL is a database URL as it may be shown: user@host:port/database,
// never the password (nor the query's parameters).
func RedactURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		return "the PostgreSQL database (its URL does not parse)"
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "5432"
	}
	out := net.JoinHostPort(host, port) + "/" + strings.TrimPrefix(u.Path, "/")
	if name := u.User.Username(); name != "" {
		out = name + "@" + out
	}
	return out
}

// redactIn removes dsn's password from a driver's message, should it quote it.
func redactIn(msg, dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return msg
	}
	if p, ok := u.User.Password(); ok && p != "" {
		msg = strings.ReplaceAll(msg, p, "REDACTED")
	}
	return msg
}
