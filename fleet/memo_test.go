package fleet_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/signet-dev/signet/fleet"
)

// TestMemoTransport: registry content answered 200 or 404 is asked for
// once; failures, challenges, large bodies and everything that is not
// content go through every time.
func TestMemoTransport(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	large := bytes.Repeat([]byte("x"), 8<<20+1)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.Method+" "+r.URL.Path]++
		mu.Unlock()
		rw.Header().Set("Docker-Content-Digest", "sha256:abc")
		switch {
		case strings.HasSuffix(r.URL.Path, "/missing"):
			http.NotFound(rw, r)
		case strings.HasSuffix(r.URL.Path, "/flaky"):
			http.Error(rw, "busy", http.StatusServiceUnavailable)
		case strings.HasSuffix(r.URL.Path, "/auth"):
			http.Error(rw, "who are you", http.StatusUnauthorized)
		case strings.HasSuffix(r.URL.Path, "/large"):
			rw.Write(large)
		default:
			rw.Header().Set("Content-Length", "5")
			if r.Method == http.MethodGet {
				io.WriteString(rw, "hello")
			}
		}
	}))
	defer srv.Close()
	rt := fleet.NewMemoTransport(http.DefaultTransport)
	ctx, release := fleet.WithMemo(context.Background())
	defer release()
	for _, tt := range []struct {
		method, path string
		status       int
		body         string
		fetches      int
	}{
		{"GET", "/v2/team/app/manifests/sha256:abc", 200, "hello", 1},
		{"HEAD", "/v2/team/app/manifests/v1", 200, "", 1},
		{"GET", "/v2/team/app/referrers/sha256:abc", 200, "hello", 1},
		{"GET", "/v2/team/app/blobs/sha256:def", 200, "hello", 1},
		{"GET", "/v2/team/app/manifests/missing", 404, "", 1},
		{"GET", "/v2/team/app/manifests/flaky", 503, "busy\n", 3},
		{"GET", "/v2/team/app/manifests/auth", 401, "", 3},
		{"GET", "/v2/team/app/blobs/large", 200, string(large), 3},
		{"GET", "/v2/team/app/tags/list", 200, "hello", 3},
		{"GET", "/v2/", 200, "hello", 3},
		{"POST", "/v2/team/app/blobs/uploads/", 200, "", 3},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			for range 3 {
				req, _ := http.NewRequestWithContext(ctx, tt.method, srv.URL+tt.path, nil)
				resp, err := rt.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.status || tt.body != "" && string(body) != tt.body || resp.Request != req {
					t.Errorf("status %d, body %.20q, request %v: want %d, %.20q, the request sent", resp.StatusCode, body, resp.Request == req, tt.status, tt.body)
				}
				if tt.method == "HEAD" && (resp.ContentLength != 5 || resp.Header.Get("Docker-Content-Digest") != "sha256:abc") {
					t.Errorf("HEAD answer: Content-Length %d, digest %q; want the registry's 5 and sha256:abc", resp.ContentLength, resp.Header.Get("Docker-Content-Digest"))
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if got := hits[tt.method+" "+tt.path]; got != tt.fetches {
				t.Errorf("the registry was asked %d times, want %d", got, tt.fetches)
			}
		})
	}
}
