// Package dbtest starts real database servers for tests: PostgreSQL and
// MariaDB, from the machine's Debian packages (`make deps` installs them),
// each listening on 127.0.0.1 only, with its data in a temporary directory,
// stopped by its PID when the test ends.
//
// A server that cannot start (its package is not installed, or it fails)
// skips the test with the reason — except when CI=true, where a suite that
// needs a real server must not skip, and the test fails instead.
package dbtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is one running database server.
type Server struct {
	// Engine is "postgres" or "mariadb".
	Engine string
	// Host and Port are where it listens (Host is always 127.0.0.1).
	Host string
	Port int
	// User is the superuser the DSNs name; it has no password.
	User string
	// Dir holds the server's data, socket and log.
	Dir string

	bin  string              // the directory of the server's binaries
	cred *syscall.Credential // whom the server runs as; nil: as this process
	cmd  *exec.Cmd
	exit chan error
	log  string // the server's log file
	args func() []string
}

// unavailable skips t with why, or fails it under CI=true.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: a suite that needs this server must not skip; run make deps)", msg)
	}
	t.Skipf("%s; run `make deps` (as root) to install it", msg)
}

// serviceUser returns the credential to run a server as when this process
// is root (PostgreSQL refuses to run as root; MariaDB only with --user=root),
// and chowns dir to it.
func serviceUser(name, dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("running as root, the server must run as the %q user, which does not exist: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// tempDir is a directory the server's user can reach: t.TempDir's parent
// is private to this process's user, so the server gets one of its own under
// the system temp dir, removed when t ends.
func tempDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// run runs a helper binary as s's user and returns its output on failure.
func (s *Server) run(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	cmd.Dir = s.Dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// freePort returns a TCP port on 127.0.0.1 nobody listens on now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Start starts the server (again, after Stop or Kill) on the same port and
// data, and waits until it accepts connections.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
}

func (s *Server) start() error {
	// A server killed a moment ago may still hold its data directory (a
	// PostgreSQL backend's shared memory outlives its process briefly):
	// a start that fails right away is tried again for a few seconds.
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; {
		if err = s.startOnce(); err == nil || !errors.Is(err, errExited) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// errExited is a server that exited while starting.
var errExited = errors.New("exited while starting")

func (s *Server) startOnce() error {
	if s.cmd != nil {
		return fmt.Errorf("the %s server is already running (PID %d)", s.Engine, s.cmd.Process.Pid)
	}
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	args := s.args()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = s.Dir
	// Pdeathsig: a test binary that dies does not leave a server behind.
	// Setpgid: the server's own children are in its process group, so a
	// Kill ends them too (a PostgreSQL backend outliving its postmaster
	// keeps the next start from taking the data directory).
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", args[0], err)
	}
	s.cmd, s.exit = cmd, make(chan error, 1)
	go func(exit chan error) { exit <- cmd.Wait() }(s.exit)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), time.Second)
		if err == nil {
			c.Close()
			if err = s.ready(); err == nil {
				return nil
			}
		}
		select {
		case werr := <-s.exit:
			s.cmd = nil
			return fmt.Errorf("the %s server %w (%v); its log:\n%s", s.Engine, errExited, werr, tail(s.log))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop(syscall.SIGKILL)
			return fmt.Errorf("the %s server did not accept connections on %s:%d within 60s (%v); its log:\n%s", s.Engine, s.Host, s.Port, err, tail(s.log))
		}
	}
}

// ready reports whether the server answers queries.
func (s *Server) ready() error {
	switch s.Engine {
	case "postgres":
		return s.run("pg_isready", "-h", s.Host, "-p", strconv.Itoa(s.Port), "-q")
	default:
		return s.client("SELECT 1")
	}
}

// Stop shuts the server down cleanly (by its PID) and waits for it: what it
// committed is on disk. Start brings it back.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	sig := syscall.SIGTERM // MariaDB: a normal shutdown
	if s.Engine == "postgres" {
		sig = syscall.SIGINT // PostgreSQL's fast shutdown: ends sessions, no waiting for clients
	}
	if err := s.stop(sig); err != nil {
		t.Fatal(err)
	}
}

// Kill ends the server with SIGKILL, as a crash would.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	if err := s.stop(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

func (s *Server) stop(sig syscall.Signal) error {
	if s.cmd == nil {
		return nil
	}
	defer func() { s.cmd = nil }()
	pid := s.cmd.Process.Pid
	if sig == syscall.SIGKILL {
		_ = syscall.Kill(-pid, sig) // the server's process group: it and its children
	} else {
		_ = s.cmd.Process.Signal(sig)
	}
	select {
	case <-s.exit:
		waitGroupGone(pid)
		return nil
	case <-time.After(30 * time.Second):
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-s.exit
	waitGroupGone(pid)
	return fmt.Errorf("the %s server (PID %d) did not stop within 30s of %v; killed", s.Engine, s.cmd.Process.Pid, sig)
}

// waitGroupGone waits (up to 10s) until no process of the group pgid is
// left.
func waitGroupGone(pgid int) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tail returns the last lines of a log file, for a failure message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// NewDatabase creates an empty database called name and returns its URL:
// postgres://postgres@127.0.0.1:PORT/NAME?sslmode=disable, or
// mysql://root@127.0.0.1:PORT/NAME.
func (s *Server) NewDatabase(t testing.TB, name string) string {
	t.Helper()
	var err error
	switch s.Engine {
	case "postgres":
		err = s.run("createdb", "-h", s.Host, "-p", strconv.Itoa(s.Port), "-U", s.User, name)
	default:
		err = s.client("CREATE DATABASE `" + name + "`")
	}
	if err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	return s.URL(name)
}

// URL is the URL of database name on s.
func (s *Server) URL(name string) string {
	hostPort := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	if s.Engine == "postgres" {
		return "postgres://" + s.User + "@" + hostPort + "/" + name + "?sslmode=disable"
	}
	return "mysql://" + s.User + "@" + hostPort + "/" + name
}

// MySQLDSN is database name's DSN in go-sql-driver/mysql's form
// (root@tcp(127.0.0.1:PORT)/NAME), for MariaDB.
func (s *Server) MySQLDSN(name string) string {
	return s.User + "@tcp(" + net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) + ")/" + name
}

// Exec runs SQL statements on database name (empty: none) with the
// engine's own client (psql or mariadb), as the superuser.
func (s *Server) Exec(t testing.TB, name, sql string) {
	t.Helper()
	var err error
	switch s.Engine {
	case "postgres":
		args := []string{"-h", s.Host, "-p", strconv.Itoa(s.Port), "-U", s.User, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql}
		if name != "" {
			args = append(args, name)
		}
		err = s.run("psql", args...)
	default:
		if name != "" {
			sql = "USE `" + name + "`;\n" + sql
		}
		err = s.client(sql)
	}
	if err != nil {
		t.Fatalf("running SQL on %s: %v", s.Engine, err)
	}
}

var errNoBinary = errors.New("not installed")

// findBinary returns the first of paths (globs) that exists.
func findBinary(paths ...string) (string, error) {
	for _, p := range paths {
		m, _ := filepath.Glob(p)
		for i := len(m) - 1; i >= 0; i-- { // the highest version first
			if fi, err := os.Stat(m[i]); err == nil && fi.Mode()&0o111 != 0 {
				return m[i], nil
			}
		}
	}
	return "", errNoBinary
}
