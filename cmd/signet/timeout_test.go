package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestVerifyTimeout: verify retries a rate-limited registry until --timeout
// and then fails as a registry error that names the deadline; a negative
// --timeout is a usage error.
func TestVerifyTimeout(t *testing.T) {
	t.Setenv("SIGNET_HOME", t.TempDir())
	t.Setenv("SIGNET_PASSWORD", "pw")
	prefix := filepath.Join(t.TempDir(), "release")
	if _, stderr, code := signet(t, "keys", "generate", "--output-prefix", prefix); code != exitOK {
		t.Fatalf("keys generate: %d %s", code, stderr)
	}
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	img := u.Host + "/team/app@sha256:" + strings.Repeat("a", 64)
	for _, cmd := range [][]string{
		{"verify", "--key", prefix + ".pub", "--timeout", "2500ms", img},
		{"verify-attestation", "--key", prefix + ".pub", "--type", "cyclonedx", "--timeout", "2500ms", img},
	} {
		t.Run(cmd[0], func(t *testing.T) {
			before := requests.Load()
			stdout, stderr, code := signet(t, cmd...)
			stderr += stdout
			if code != exitRegistry || !strings.Contains(stderr, "rate limiting") || !strings.Contains(stderr, "deadline") {
				t.Fatalf("exit %d, want %d naming the rate limit and the deadline:\n%s", code, exitRegistry, stderr)
			}
			if n := requests.Load() - before; n < 2 {
				t.Fatalf("%d requests, want the rate limit retried", n)
			}
		})
	}
	if _, stderr, code := signet(t, "verify", "--key", prefix+".pub", "--timeout", "-1s", img); code != exitUsage || !strings.Contains(stderr, "--timeout") {
		t.Fatalf("--timeout -1s: exit %d, want %d\n%s", code, exitUsage, stderr)
	}
}
