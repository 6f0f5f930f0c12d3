package logserver

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	tmysql "github.com/transparency-dev/tessera/storage/mysql"
)

// ErrBadStorage means a --storage value could not be understood.
var ErrBadStorage = errors.New("invalid log storage")

// ErrStorageUnreachable means the log's database could not be reached.
var ErrStorageUnreachable = errors.New("log storage unreachable")

// mysqlMinCheckpoint is the shortest checkpoint interval Tessera's MySQL driver accepts.
const mysqlMinCheckpoint = time.Second

// MySQLTarget is a parsed mysql:// storage URL.
type MySQLTarget struct {
	cfg *mysql.Config
}

// ParseMySQL parses mysql://USER[:PASSWORD]@HOST:PORT/DATABASE[?tls=true].
// With tls=true the server's certificate must verify for HOST; without it
// the connection is not encrypted. Errors never contain the password.
func ParseMySQL(s string) (MySQLTarget, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url's errors quote the input, password included.
		return MySQLTarget{}, fmt.Errorf("%w: want mysql://USER[:PASSWORD]@HOST:PORT/DATABASE", ErrBadStorage)
	}
	if u.Scheme != "mysql" {
		return MySQLTarget{}, fmt.Errorf("%w: scheme %q, want mysql://USER[:PASSWORD]@HOST:PORT/DATABASE", ErrBadStorage, u.Scheme)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if u.User == nil || u.User.Username() == "" || db == "" || strings.Contains(db, "/") {
		return MySQLTarget{}, fmt.Errorf("%w: %s needs a user and one database name, as in mysql://USER[:PASSWORD]@HOST:PORT/DATABASE", ErrBadStorage, redactURL(u))
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return MySQLTarget{}, fmt.Errorf("%w: %s needs HOST:PORT", ErrBadStorage, redactURL(u))
	}
	cfg := mysql.NewConfig()
	switch u.RawQuery {
	case "":
	case "tls=true":
		// Verified against the system's roots (or $SSL_CERT_FILE) for the
		// host's name; never a fallback to plain text.
		cfg.TLS = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	default:
		// Other driver parameters (allowAllFiles, allowCleartextPasswords,
		// tls=skip-verify, ...) would weaken the connection: none passes.
		return MySQLTarget{}, fmt.Errorf("%w: %s: the only query parameter supported is tls=true", ErrBadStorage, redactURL(u))
	}
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", u.Host, db
	cfg.Timeout = 10 * time.Second
	return MySQLTarget{cfg: cfg}, nil
}

// String is the target without its password: USER@HOST:PORT/DATABASE, and
// " (TLS)" when the connection is encrypted.
func (t MySQLTarget) String() string {
	if t.cfg == nil {
		return ""
	}
	s := fmt.Sprintf("%s@%s/%s", t.cfg.User, t.cfg.Addr, t.cfg.DBName)
	if t.cfg.TLS != nil {
		s += " (TLS)"
	}
	return s
}

func redactURL(u *url.URL) string {
	user := ""
	if u.User != nil {
		user = u.User.Username() + "@"
	}
	return user + u.Host + u.Path
}

// mysqlSchema is the schema Tessera's MySQL driver (compatibility version 1)
// reads and writes, plus the de-duplication index.
var mysqlSchema = []string{
	"CREATE TABLE IF NOT EXISTS `Tessera` (`id` TINYINT UNSIGNED NOT NULL, `compatibilityVersion` BIGINT UNSIGNED NOT NULL, PRIMARY KEY (`id`))",
	"INSERT IGNORE INTO `Tessera` (`id`, `compatibilityVersion`) VALUES (0, 1)",
	"CREATE TABLE IF NOT EXISTS `Checkpoint` (`id` TINYINT UNSIGNED NOT NULL, `note` MEDIUMBLOB NOT NULL, `published_at` BIGINT NOT NULL, PRIMARY KEY (`id`))",
	"CREATE TABLE IF NOT EXISTS `TreeState` (`id` TINYINT UNSIGNED NOT NULL, `size` BIGINT UNSIGNED NOT NULL, `root` TINYBLOB NOT NULL, PRIMARY KEY (`id`))",
	"CREATE TABLE IF NOT EXISTS `Subtree` (`level` TINYINT UNSIGNED NOT NULL, `index` BIGINT UNSIGNED NOT NULL, `nodes` MEDIUMBLOB NOT NULL, PRIMARY KEY (`level`, `index`))",
	"CREATE TABLE IF NOT EXISTS `TiledLeaves` (`tile_index` BIGINT UNSIGNED NOT NULL, `size` SMALLINT UNSIGNED NOT NULL, `data` LONGBLOB NOT NULL, PRIMARY KEY (`tile_index`))",
	"CREATE TABLE IF NOT EXISTS `SignetDedup` (`id` BINARY(32) NOT NULL, `idx` BIGINT UNSIGNED NOT NULL, PRIMARY KEY (`id`))",
	"CREATE TABLE IF NOT EXISTS `SignetDedupFollowed` (`id` TINYINT UNSIGNED NOT NULL, `size` BIGINT UNSIGNED NOT NULL, PRIMARY KEY (`id`))",
	"INSERT IGNORE INTO `SignetDedupFollowed` (`id`, `size`) VALUES (0, 0)",
}

// openMySQL connects to t, creates the tables if missing, and returns
// Tessera's driver on it and the de-duplication index in it.
func openMySQL(ctx context.Context, t MySQLTarget) (*tmysql.Storage, *mysqlStore, error) {
	conn, err := mysql.NewConnector(t.cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to %s: %w", t, err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	fail := func(what string, err error) (*tmysql.Storage, *mysqlStore, error) {
		db.Close()
		return nil, nil, fmt.Errorf("%s %s: %w", what, t, err)
	}
	if err := db.PingContext(ctx); err != nil {
		return fail("connecting to", fmt.Errorf("%w: %w", ErrStorageUnreachable, err))
	}
	for _, stmt := range mysqlSchema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fail("creating the log's tables in", err)
		}
	}
	driver, err := tmysql.New(ctx, db)
	if err != nil {
		return fail("opening log storage in", err)
	}
	return driver, &mysqlStore{db: db}, nil
}

// mysqlStore is the de-duplication index in the log's MySQL database,
// shared by every front-end on it.
type mysqlStore struct{ db *sql.DB }

func (s *mysqlStore) lookup(ctx context.Context, id []byte) (uint64, bool, error) {
	var idx uint64
	err := s.db.QueryRowContext(ctx, "SELECT `idx` FROM `SignetDedup` WHERE `id` = ?", id).Scan(&idx)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return idx, err == nil, err
}

func (s *mysqlStore) followed(ctx context.Context) (uint64, error) {
	var n uint64
	err := s.db.QueryRowContext(ctx, "SELECT `size` FROM `SignetDedupFollowed` WHERE `id` = 0").Scan(&n)
	return n, err
}

func (s *mysqlStore) record(ctx context.Context, from uint64, ids [][]byte) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var at uint64
	if err := tx.QueryRowContext(ctx, "SELECT `size` FROM `SignetDedupFollowed` WHERE `id` = 0 FOR UPDATE").Scan(&at); err != nil {
		return err
	}
	if at != from {
		return errOutOfSync
	}
	const chunk = 256
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, 0, 2*len(part))
		for i, id := range part {
			args = append(args, id, from+uint64(start+i))
		}
		q := "INSERT IGNORE INTO `SignetDedup` (`id`, `idx`) VALUES " + strings.TrimSuffix(strings.Repeat("(?, ?),", len(part)), ",")
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE `SignetDedupFollowed` SET `size` = ? WHERE `id` = 0", from+uint64(len(ids))); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *mysqlStore) reset(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "UPDATE `SignetDedupFollowed` SET `size` = 0 WHERE `id` = 0"); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM `SignetDedup`"); err != nil {
		return err
	}
	return tx.Commit()
}

// checkpoint returns the checkpoint in the database, nil if there is none.
func (s *mysqlStore) checkpoint(ctx context.Context) ([]byte, error) {
	var note []byte
	err := s.db.QueryRowContext(ctx, "SELECT `note` FROM `Checkpoint` WHERE `id` = 0").Scan(&note)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return note, err
}

func (s *mysqlStore) close() error { return s.db.Close() }
