package dbtest

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// Postgres starts a PostgreSQL server (Debian's postgresql package, the
// newest version in /usr/lib/postgresql) on 127.0.0.1 for t. Its superuser
// is postgres, without a password (trust authentication, loopback only).
// When this process is root the server runs as the postgres user, since it
// refuses root.
func Postgres(t testing.TB) *Server {
	t.Helper()
	initdb, err := findBinary("/usr/lib/postgresql/*/bin/initdb")
	if err != nil {
		unavailable(t, "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)")
	}
	s := &Server{Engine: "postgres", Host: "127.0.0.1", User: "postgres", bin: filepath.Dir(initdb)}
	root := tempDir(t, "signet-pg-")
	s.Dir = filepath.Join(root, "data")
	s.log = filepath.Join(root, "server.log")
	if err := os.Mkdir(s.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if s.cred, err = serviceUser("postgres", root); err != nil {
		unavailable(t, "cannot start PostgreSQL: %v", err)
	}
	if err := s.run("initdb", "-D", s.Dir, "-A", "trust", "-U", s.User, "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		unavailable(t, "cannot start PostgreSQL: %v", err)
	}
	s.args = func() []string {
		return []string{filepath.Join(s.bin, "postgres"), "-D", s.Dir, "-h", s.Host, "-p", strconv.Itoa(s.Port),
			"-k", s.Dir, "-c", "max_connections=200", "-c", "logging_collector=off"}
	}
	startOrSkip(t, s)
	return s
}

// startOrSkip picks a free port and starts s, trying another port when the
// one picked was taken in between; it skips (or fails under CI) when the
// server will not start, and stops it when t ends.
func startOrSkip(t testing.TB, s *Server) {
	t.Helper()
	var err error
	for range 3 {
		if s.Port, err = freePort(); err != nil {
			break
		}
		if err = s.start(); err == nil {
			t.Cleanup(func() { s.stop(syscall.SIGKILL) })
			return
		}
	}
	unavailable(t, "cannot start %s: %v", s.Engine, err)
}
