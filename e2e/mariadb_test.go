//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mariaDB is a MariaDB server on 127.0.0.1 for the test, root without a
// password.
type mariaDB struct {
	addr string
}

// startMariaDB starts mariadbd in a temp dir (stopped by PID at exit).
func startMariaDB(t *testing.T) *mariaDB {
	t.Helper()
	bin, err := exec.LookPath("mariadbd")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/mariadbd"); err2 != nil {
			mustNotSkip(t, "no mariadbd (install mariadb-server with make deps)")
		}
		bin = "/usr/sbin/mariadbd"
	}
	dir := filepath.Join(stateDir, "mariadb")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	r, err := execCLI(toolEnv(), "mariadb-install-db", "--no-defaults", "--datadir="+filepath.Join(dir, "data"), "--user=root",
		"--auth-root-authentication-method=normal", "--skip-test-db")
	if err != nil || r.code != 0 {
		t.Fatalf("mariadb-install-db: %v %s", err, r)
	}
	addr := mustFreeAddr(t)
	if _, err := startProcess("mariadb", bin, "--no-defaults", "--datadir="+filepath.Join(dir, "data"), "--user=root",
		"--bind-address=127.0.0.1", "--port="+splitPort(addr), "--socket="+filepath.Join(dir, "s.sock"), "--skip-name-resolve"); err != nil {
		t.Fatal(err)
	}
	m := &mariaDB{addr: addr}
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := m.sql("", "SELECT 1")
		if err == nil && r.code == 0 {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("mariadbd did not answer within 60s: %v %s", err, r)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (m *mariaDB) sql(db, stmt string) (result, error) {
	host, port := strings.Split(m.addr, ":")[0], splitPort(m.addr)
	args := []string{"--no-defaults", "--protocol=tcp", "-h", host, "-P", port, "-uroot", "-e", stmt}
	if db != "" {
		args = append(args, db)
	}
	return execCLI(toolEnv(), "mariadb", args...)
}

// newDatabase creates database name, runs the SQL file schema in it (if
// any) and returns a go-sql-driver DSN for it.
func (m *mariaDB) newDatabase(t *testing.T, name, schema string) string {
	t.Helper()
	if r, err := m.sql("", "CREATE DATABASE "+name); err != nil || r.code != 0 {
		t.Fatalf("creating database %s: %v %s", name, err, r)
	}
	if schema != "" {
		if r, err := m.sql(name, "SOURCE "+schema); err != nil || r.code != 0 {
			t.Fatalf("loading %s into %s: %v %s", schema, name, err, r)
		}
	}
	return fmt.Sprintf("root@tcp(%s)/%s", m.addr, name)
}
