package oci

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestPingCache: a registry's answer to GET /v2/ (200, or 401 with its
// challenge) is reused for pingTTL, per scheme and host; other answers and
// other requests always go to the registry.
func TestPingCache(t *testing.T) {
	t.Parallel()
	var pings, others atomic.Int64
	status := atomic.Int64{}
	status.Store(http.StatusUnauthorized)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/" {
			others.Add(1)
			return
		}
		pings.Add(1)
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://auth.example/token",service="reg"`)
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	now := time.Unix(1000, 0)
	p := newPingCache(http.DefaultTransport)
	p.now = func() time.Time { return now }
	get := func(path string, auth bool) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer x")
		}
		resp, err := p.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for i := range 3 {
		resp := get("/v2/", false)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("ping %d answered %d with challenge %q, want the registry's 401 and its challenge", i, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	get("/v2/app/manifests/v1", false)
	get("/v2/", true) // an authenticated request is never answered from the cache
	if pings.Load() != 2 || others.Load() != 1 {
		t.Errorf("the registry saw %d pings and %d other requests, want 2 (one anonymous, one authenticated) and 1", pings.Load(), others.Load())
	}
	now = now.Add(pingTTL)
	status.Store(http.StatusServiceUnavailable)
	get("/v2/", false)
	get("/v2/", false)
	if pings.Load() != 4 {
		t.Errorf("after the TTL, with the registry answering 503: %d pings in all, want 4 (the old answer expired, a 503 is not kept)", pings.Load())
	}
}
