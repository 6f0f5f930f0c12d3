package resilience_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-dev/signet/internal/faultproxy"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/verify"
)

func verifyOnce(ctx context.Context, t *testing.T, w *world, image string) error {
	v, err := verify.New(w.client, []verify.Key{{Name: "release", PublicKey: mustPub(t, w.pub)}})
	if err != nil {
		return err
	}
	_, err = v.Verify(ctx, image, verify.Request{})
	return err
}

// TestVerifyThroughRateLimits: through a registry that lets one request in
// three through and answers the others 429 or 503 with Retry-After: 1,
// verify succeeds every time (9 runs at once, each bounded by 2 minutes;
// about 30 s in all, waiting out the Retry-Afters).
func TestVerifyThroughRateLimits(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.proxy.Set(faultproxy.Rule{Kind: faultproxy.Throttle, Every: 3, RetryAfter: "1"})
	const runs = 9
	errs := make([]error, runs)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			errs[i] = verifyOnce(ctx, t, w, w.signed)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("run %d of %d: %v", i+1, runs, err)
		}
	}
	if w.proxy.Faults() == 0 {
		t.Fatal("no rate limit was injected")
	}
}

// TestVerifyRegistryDown: a registry that is down fails verify fast — with
// the registry's error, not by waiting out the deadline.
func TestVerifyRegistryDown(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	for _, tc := range []struct {
		name  string
		rule  *faultproxy.Rule
		image string
	}{
		{"503 without Retry-After, always", &faultproxy.Rule{Kind: faultproxy.Status, Code: 503}, w.signed},
		{"429 and 503 in turn without Retry-After", &faultproxy.Rule{Kind: faultproxy.Throttle, Every: 1 << 30}, w.signed},
		{"connection refused", nil, closed + "/team/app@" + strings.SplitN(w.signed, "@", 2)[1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.rule != nil {
				w.proxy.Set(*tc.rule)
				defer w.proxy.Set()
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := verifyOnce(ctx, t, w, tc.image)
			var rl *oci.RateLimitError
			switch {
			case err == nil:
				t.Fatal("verify succeeded")
			case !errors.Is(err, oci.ErrRegistry):
				t.Fatalf("%v is not a registry error", err)
			case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &rl) || ctx.Err() != nil:
				t.Fatalf("%v: waited for the deadline instead of failing fast", err)
			}
			t.Logf("verify: %v", err)
		})
	}
}

// TestVerifyRateLimitedToDeadline: a registry that always answers 429
// Retry-After: 1 is retried until the deadline, and the error says so.
func TestVerifyRateLimitedToDeadline(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.proxy.Set(faultproxy.Rule{Kind: faultproxy.TooMany, RetryAfter: "1"})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := verifyOnce(ctx, t, w, w.signed)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("error %v, want one that names the deadline", err)
	}
	t.Logf("verify: %v", err)
	if w.proxy.Faults() < 2 {
		t.Fatalf("%d requests rate limited, want retries", w.proxy.Faults())
	}
}
