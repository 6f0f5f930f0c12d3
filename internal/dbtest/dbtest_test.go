package dbtest

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

// TestServers starts each engine, makes a database, writes a row, stops
// and restarts the server, and finds the row again: what the servers are
// for (durable state across a restart) works before any suite relies on it.
func TestServers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(testing.TB) *Server
		check string // selects the row, failing when it is not there
	}{
		{"postgres", Postgres, `DO $$ BEGIN IF (SELECT count(*) FROM t WHERE v = 'kept') <> 1 THEN RAISE EXCEPTION 'row lost'; END IF; END $$;`},
		{"mariadb", MariaDB, `SELECT IF((SELECT count(*) FROM t WHERE v = 'kept') = 1, 1, (SELECT 1 UNION SELECT 2));`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.start(t)
			if s.Host != "127.0.0.1" {
				t.Fatalf("server listens on %s, want 127.0.0.1", s.Host)
			}
			url := s.NewDatabase(t, "signet_test")
			if !strings.Contains(url, "@127.0.0.1:"+strconv.Itoa(s.Port)+"/signet_test") {
				t.Fatalf("URL %q does not name the server and database", url)
			}
			s.Exec(t, "signet_test", "CREATE TABLE t (v VARCHAR(16)); INSERT INTO t VALUES ('kept');")
			s.Stop(t)
			if c, err := net.Dial("tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port))); err == nil {
				c.Close()
				t.Fatal("the server still accepts connections after Stop")
			}
			s.Start(t)
			s.Exec(t, "signet_test", tc.check)
			s.Kill(t)
			s.Start(t)
			s.Exec(t, "signet_test", tc.check)
		})
	}
}
