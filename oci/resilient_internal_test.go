package oci

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// answers serves the i-th request (from 0) with answer(i): a status and a
// Retry-After ("" for none); it counts the requests.
func answers(t *testing.T, answer func(i int) (int, string)) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		code, ra := answer(int(n.Add(1) - 1))
		if ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func testTransport() *resilientTransport {
	tr := newResilientTransport(http.DefaultTransport, 4, 16, 10*time.Second)
	tr.unit = time.Millisecond
	return tr
}

func get(t *testing.T, tr *resilientTransport, ctx context.Context, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v2/team/app/blobs/sha256:00", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	return resp, err
}

func TestRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		answer   func(i int) (int, string)
		timeout  time.Duration
		want     int // status; 0: an error
		requests int64
	}{
		// Rate limits are retried past maxAttempts, as long as the deadline allows.
		{"429, eight times", func(i int) (int, string) { return pick(i < 8, 429, 200), "0" }, 30 * time.Second, 200, 9},
		{"429 without Retry-After, six times", func(i int) (int, string) { return pick(i < 6, 429, 200), "" }, 30 * time.Second, 200, 7},
		{"503 with Retry-After, eight times", func(i int) (int, string) { return pick(i < 8, 503, 200), "0" }, 30 * time.Second, 200, 9},
		{"429 and 503 with Retry-After in turn", func(i int) (int, string) { return []int{429, 503, 429, 503, 429, 503, 200}[min(i, 6)], "0" }, 30 * time.Second, 200, 7},
		// A registry that is down fails in maxAttempts.
		{"503 without Retry-After, always", func(int) (int, string) { return 503, "" }, 30 * time.Second, 503, 4},
		{"500, always", func(int) (int, string) { return 500, "" }, 30 * time.Second, 500, 4},
		{"503 without Retry-After, three times", func(i int) (int, string) { return pick(i < 3, 503, 200), "" }, 30 * time.Second, 200, 4},
		{"404 is an answer", func(int) (int, string) { return 404, "" }, 30 * time.Second, 404, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, n := answers(t, tc.answer)
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			resp, err := get(t, testTransport(), ctx, srv.URL)
			switch {
			case err != nil:
				t.Fatalf("error %v, want status %d", err, tc.want)
			case resp.StatusCode != tc.want:
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			case n.Load() != tc.requests:
				t.Fatalf("%d requests, want %d", n.Load(), tc.requests)
			}
		})
	}
}

func pick(cond bool, a, b int) int {
	if cond {
		return a
	}
	return b
}

// TestRateLimitStopsAtDeadline: a registry that always answers 429
// Retry-After: 1 is asked again until waiting once more would pass the
// deadline; the error says so and is a deadline error.
func TestRateLimitStopsAtDeadline(t *testing.T) {
	t.Parallel()
	srv, n := answers(t, func(int) (int, string) { return 429, "1" })
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	_, err := get(t, testTransport(), ctx, srv.URL)
	var rl *RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want a RateLimitError that is a deadline error", err)
	}
	if !strings.Contains(err.Error(), "deadline") || !strings.Contains(err.Error(), "429 Too Many Requests") {
		t.Errorf("error %q does not name the rate limit and the deadline", err)
	}
	// Retried, and each time after the Retry-After it asked for: 2 or 3 in 2.5s.
	if got := n.Load(); got < 2 || got > 3 {
		t.Errorf("%d requests in 2.5s at Retry-After: 1, want 2 or 3", got)
	}
}

// TestRateLimitBudget: with no deadline, rate-limit waits end with the budget.
func TestRateLimitBudget(t *testing.T) {
	t.Parallel()
	srv, n := answers(t, func(int) (int, string) { return 429, "0" })
	tr := testTransport()
	tr.rateBudget = 50 * time.Millisecond
	_, err := get(t, tr, context.Background(), srv.URL)
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.Deadline || !strings.Contains(err.Error(), "budget") {
		t.Fatalf("error %v, want a RateLimitError naming the budget", err)
	}
	if n.Load() < 2 {
		t.Errorf("%d requests, want retries", n.Load())
	}
}

// TestRateLimitPausesHost: one request's Retry-After holds the host's other
// requests; one that cannot wait that long fails without asking.
func TestRateLimitPausesHost(t *testing.T) {
	t.Parallel()
	srv, n := answers(t, func(i int) (int, string) { return pick(i == 0, 429, 200), "5" })
	tr := testTransport()
	first, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := get(t, tr, first, srv.URL); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("first request: %v, want a deadline error (Retry-After: 5, deadline 200ms)", err)
	}
	second, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	_, err := get(t, tr, second, srv.URL)
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.Attempts != 0 {
		t.Fatalf("second request: %v, want a RateLimitError with no attempt", err)
	}
	if n.Load() != 1 {
		t.Errorf("the registry saw %d requests during its pause, want 1", n.Load())
	}
}

// TestDownFailsFast: a refused connection is not retried and not waited on.
func TestDownFailsFast(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = get(t, testTransport(), ctx, "http://"+addr)
	var rl *RateLimitError
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &rl) {
		t.Fatalf("error %v, want the refused connection", err)
	}
}

// TestNotRetryable: a POST is sent once, whatever the answer.
func TestNotRetryable(t *testing.T) {
	t.Parallel()
	srv, n := answers(t, func(int) (int, string) { return 429, "0" })
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v2/team/app/blobs/uploads/", strings.NewReader("x"))
	req.GetBody = nil
	resp, err := testTransport().RoundTrip(req)
	if err != nil || resp.StatusCode != 429 || n.Load() != 1 {
		t.Fatalf("POST: %v, %d requests; want the 429, one request", err, n.Load())
	}
	resp.Body.Close()
}

// FuzzRetryAfter: any Retry-After header is read as a wait between 0 and a
// minute, or refused.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "1", "120", "-1", "99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT", "Sat, 05 Dec 2026 23:00:00 GMT", "", "1.5", " 1"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := retryAfter(v, now)
		if !ok && d != 0 {
			t.Fatalf("retryAfter(%q) refused it but waits %s", v, d)
		}
		if d < 0 || d > time.Minute {
			t.Fatalf("retryAfter(%q) = %s, want 0 to a minute", v, d)
		}
	})
}

// TestAgainAfterAnothersDeadline: a deadline error while the caller's own
// context is alive came from a request or verification shared with another
// caller (TestOverload: reviews kept being denied after the registry
// recovered) and is repeated; a rate limit that outlasts the deadline, and
// the caller's own deadline, are final.
func TestAgainAfterAnothersDeadline(t *testing.T) {
	alive := context.Background()
	if !again(alive, fmt.Errorf("get: %w", context.DeadlineExceeded)) {
		t.Error("another caller's deadline is not repeated")
	}
	if again(alive, &RateLimitError{Status: 429, Deadline: true}) {
		t.Error("a rate limit past the deadline is repeated")
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if again(done, fmt.Errorf("get: %w", context.DeadlineExceeded)) {
		t.Error("the caller's own end is repeated")
	}
}
