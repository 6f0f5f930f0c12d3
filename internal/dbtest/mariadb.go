package dbtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// MariaDB starts a MariaDB server (Debian's mariadb-server package) on
// 127.0.0.1 for t, ignoring the machine's /etc/mysql configuration. Its
// superuser is root without a password, reachable over TCP from 127.0.0.1
// only. When this process is root the server runs as the mysql user.
func MariaDB(t testing.TB) *Server {
	t.Helper()
	server, err := findBinary("/usr/sbin/mariadbd", "/usr/bin/mariadbd", "/usr/local/bin/mariadbd")
	if err != nil {
		unavailable(t, "MariaDB is not installed (no mariadbd)")
	}
	installDB, err := exec.LookPath("mariadb-install-db")
	if err != nil {
		unavailable(t, "MariaDB is not installed (no mariadb-install-db)")
	}
	s := &Server{Engine: "mariadb", Host: "127.0.0.1", User: "root", bin: filepath.Dir(installDB)}
	root := tempDir(t, "signet-mariadb-")
	s.Dir = filepath.Join(root, "data")
	s.log = filepath.Join(root, "server.log")
	if err := os.Mkdir(s.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	as := ""
	if s.cred, err = serviceUser("mysql", root); err != nil {
		unavailable(t, "cannot start MariaDB: %v", err)
	} else if s.cred != nil {
		as = "mysql"
	}
	args := []string{"--no-defaults", "--datadir=" + s.Dir, "--auth-root-authentication-method=normal", "--skip-test-db"}
	if as != "" {
		args = append(args, "--user="+as)
	}
	if err := s.run(filepath.Base(installDB), args...); err != nil {
		unavailable(t, "cannot start MariaDB: %v", err)
	}
	s.args = func() []string {
		a := []string{server, "--no-defaults", "--datadir=" + s.Dir, "--bind-address=" + s.Host,
			"--port=" + strconv.Itoa(s.Port), "--socket=" + s.socket(), "--pid-file=" + filepath.Join(s.Dir, "server.pid"),
			"--skip-name-resolve", "--max-connections=500", "--innodb-buffer-pool-size=128M"}
		if as != "" {
			a = append(a, "--user="+as)
		}
		return a
	}
	startOrSkip(t, s)
	// root@localhost is the socket's; the DSNs reach the server over TCP.
	if err := s.client("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;"); err != nil {
		t.Fatalf("letting root connect from 127.0.0.1: %v", err)
	}
	return s
}

func (s *Server) socket() string { return filepath.Join(s.Dir, "s.sock") }

// client runs sql with the mariadb client over the server's socket, as root.
func (s *Server) client(sql string) error {
	cmd := exec.Command("mariadb", "--no-defaults", "--socket="+s.socket(), "-u", "root", "--batch")
	cmd.Stdin = strings.NewReader(sql)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("mariadb: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
