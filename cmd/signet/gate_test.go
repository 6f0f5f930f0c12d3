package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/gate"
)

func TestGateCommands(t *testing.T) {
	t.Setenv("SIGNET_HOME", t.TempDir())
	if _, stderr, code := signet(t, "gate", "serve", "--registry", "127.0.0.1:5000"); code != exitUsage || !strings.Contains(stderr, "--policy, --registry and --key are required") {
		t.Fatalf("missing flags: %d %s", code, stderr)
	}
	t.Setenv("SIGNET_GATE_SECRET", "")
	if _, stderr, code := signet(t, "gate", "serve", "--registry", "r", "--policy", "p", "--key", "k"); code != exitUsage || !strings.Contains(stderr, "SIGNET_GATE_SECRET") {
		t.Fatalf("missing secret: %d %s", code, stderr)
	}
	now := time.Now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer status-token" {
			http.Error(w, "missing or wrong status token", http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(gate.Status{Policy: "org 0123456789ab", Counts: map[string]int{"passed": 1, "unverified": 1}, Records: []gate.Record{
			{Repository: "team/app", Digest: "sha256:" + strings.Repeat("a", 64), Tags: []string{"v1"}, Pushed: now, State: "passed", VSAResult: "PASSED"},
			{Repository: "team/app", Digest: "sha256:" + strings.Repeat("b", 64), Tags: []string{"v2"}, Pushed: now, State: "unverified", VSAResult: "FAILED",
				Reason: "signatures [not-found]: 0 of 1 required signers: none; no signatures found"},
		}})
	}))
	defer srv.Close()
	t.Setenv("SIGNET_GATE_STATUS_TOKEN", "")
	if _, stderr, code := signet(t, "gate", "status", "--url", srv.URL); code != exitError || !strings.Contains(stderr, "401") ||
		!strings.Contains(stderr, "set $SIGNET_GATE_STATUS_TOKEN to its status token") {
		t.Fatalf("status without a token: %d %s", code, stderr)
	}
	// The shared secret is sent when no status token is set.
	t.Setenv("SIGNET_GATE_SECRET", "status-token")
	if _, stderr, code := signet(t, "gate", "status", "--url", srv.URL); code != exitOK {
		t.Fatalf("status with the shared secret: %d %s", code, stderr)
	}
	t.Setenv("SIGNET_GATE_SECRET", "the-registry-secret")
	t.Setenv("SIGNET_GATE_STATUS_TOKEN", "status-token")
	out, stderr, code := signet(t, "gate", "status", "--url", srv.URL)
	if code != exitOK || !strings.Contains(out, "passed 1 · allowed 0 · pending 0 · unverified 1") {
		t.Fatalf("status: %d %s %s", code, out, stderr)
	}
	// Problems first.
	if strings.Index(out, "unverified  team/app:v2") > strings.Index(out, "passed      team/app:v1") {
		t.Fatalf("unverified is not listed first:\n%s", out)
	}
}

// TestGateKeepFlag: --keep takes whole days or a Go duration, nothing
// negative or fractional.
func TestGateKeepFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"0d", 0, true},
		{"720h", 720 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"1.5d", 0, false},
		{"-1d", 0, false},
		{"-5h", 0, false},
		{"ninety", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d days
			err := d.Set(tt.in)
			if (err == nil) != tt.ok || (tt.ok && time.Duration(d) != tt.want) {
				t.Fatalf("--keep %s: %v %v, want %v (ok %v)", tt.in, time.Duration(d), err, tt.want, tt.ok)
			}
		})
	}
	d := days(90 * 24 * time.Hour)
	if d.String() != "90d" {
		t.Fatalf("90 days prints as %q, want 90d", d.String())
	}
}

// TestGateStatusPaging: gate status sends its filters and page to /status
// and says where the next page starts.
func TestGateStatusPaging(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.RawQuery
		json.NewEncoder(w).Encode(gate.Status{Counts: map[string]int{}, Records: []gate.Record{}, Next: 20})
	}))
	defer srv.Close()
	t.Setenv("SIGNET_GATE_STATUS_TOKEN", "status-token")
	out, stderr, code := signet(t, "gate", "status", "--url", srv.URL, "--state", "failed", "--repository", "team/app", "--limit", "10", "--offset", "10")
	if code != exitOK {
		t.Fatalf("gate status: %d %s", code, stderr)
	}
	if got != "limit=10&offset=10&repository=team%2Fapp&state=failed" {
		t.Fatalf("gate status asked /status?%s, want the filters and the page", got)
	}
	if !strings.Contains(out, "more: --offset 20") {
		t.Fatalf("gate status does not say where the next page starts:\n%s", out)
	}
}

// TestGateServeState: --lease below a second is a usage error, and a
// PostgreSQL --state is printed without its password, also when the
// database cannot be reached.
func TestGateServeState(t *testing.T) {
	t.Setenv("SIGNET_HOME", t.TempDir())
	t.Setenv("SIGNET_GATE_SECRET", "the-registry-secret")
	t.Setenv("SIGNET_PASSWORD", "pw")
	dir := t.TempDir()
	if _, stderr, code := signet(t, "keys", "generate", "--output-prefix", dir+"/gate"); code != exitOK {
		t.Fatalf("keys generate: %d %s", code, stderr)
	}
	pol := dir + "/policy.yaml"
	os.WriteFile(pol, []byte("apiVersion: signet.dev/v1alpha1\nkind: Policy\nmetadata: {name: p}\nimages:\n  - pattern: \"**\"\n    signers: [{name: k, key: "+dir+"/gate.pub}]\n"), 0o600)
	base := []string{"gate", "serve", "--no-tlog", "--policy", pol, "--registry", "127.0.0.1:5000", "--key", dir + "/gate.key", "--addr", "127.0.0.1:0"}
	if _, stderr, code := signet(t, append(base, "--lease", "100ms")...); code != exitUsage || !strings.Contains(stderr, "--lease 100ms: want at least 1s") {
		t.Fatalf("--lease 100ms: %d %s", code, stderr)
	}
	_, stderr, code := signet(t, append(base, "--state", "postgres://gate:hunter2pw@127.0.0.1:1/gatedb?connect_timeout=2")...)
	if code == exitOK || strings.Contains(stderr, "hunter2pw") || !strings.Contains(stderr, "gate@127.0.0.1:1/gatedb") {
		t.Fatalf("an unreachable PostgreSQL state: %d %s, want an error naming gate@127.0.0.1:1/gatedb without the password", code, stderr)
	}
	if got := gateStateName("postgres://gate:hunter2pw@db.example.com:5433/gate"); got != "gate@db.example.com:5433/gate" {
		t.Fatalf("gateStateName = %q", got)
	}
}
