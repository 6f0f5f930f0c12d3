package oci

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/singleflight"
)

// resilientTransport is the HTTP layer every registry call goes through:
// it bounds the requests in flight per registry host, and retries
// idempotent requests that failed for reasons that pass, never past the
// caller's deadline. go-containerregistry's own retries are turned off (see
// remoteOpts), so there is one policy, here:
//
//   - A registry that is rate limiting — 429, or 503 with Retry-After — is
//     alive and pacing its clients: the request is retried for as long as
//     the caller's deadline allows (rateBudget when it set none), waiting
//     at least what Retry-After asks, with jitter and a growing floor. The
//     pause is the host's: every request to it waits it out, so a
//     throttled registry is not met with a storm of retries.
//   - Any other passing failure (a reset connection, no answer in time,
//     500, 502, 503 or 504 without Retry-After) is tried at most
//     maxAttempts times in all, with exponential backoff and jitter: a
//     registry that is down fails fast. A refused connection is not retried.
type resilientTransport struct {
	base          http.RoundTripper
	maxAttempts   int
	perHost       int
	headerTimeout time.Duration // per attempt, until the response headers arrive
	// rateBudget bounds the time a request without a deadline spends
	// waiting out rate limits.
	rateBudget time.Duration
	// unit scales the backoff (100ms; tests shrink it).
	unit time.Duration

	mu     sync.Mutex
	slots  map[string]chan struct{}
	pause  map[string]pause // host -> no request before its last Retry-After
	flight singleflight.Group
}

// defaultRateBudget is how long a request with no deadline may wait out a
// registry's rate limit in all.
const defaultRateBudget = 2 * time.Minute

func newResilientTransport(base http.RoundTripper, attempts, perHost int, headerTimeout time.Duration) *resilientTransport {
	return &resilientTransport{base: base, maxAttempts: max(1, attempts), perHost: max(1, perHost), headerTimeout: headerTimeout,
		rateBudget: defaultRateBudget, unit: 100 * time.Millisecond, slots: map[string]chan struct{}{}, pause: map[string]pause{}}
}

// attempt sends one request; a registry that does not start answering
// within headerTimeout fails it (a stalled server must not hang a caller
// that set no deadline). The body then reads under the caller's context.
func (t *resilientTransport) attempt(req *http.Request) (*http.Response, error) {
	if t.headerTimeout <= 0 {
		return t.base.RoundTrip(req)
	}
	ctx, cancel := context.WithCancel(req.Context())
	timer := time.AfterFunc(t.headerTimeout, cancel)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if !timer.Stop() && err != nil && req.Context().Err() == nil {
		cancel()
		return nil, errHeaderTimeout
	}
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

var errHeaderTimeout = errors.New("the registry did not answer in time")

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func (t *resilientTransport) slot(host string) chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.slots[host]
	if !ok {
		s = make(chan struct{}, t.perHost)
		t.slots[host] = s
	}
	return s
}

// retryable says whether a request may be sent again: its method is
// idempotent and its body (if any) can be replayed.
func retryable(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return r.Body == nil || r.Body == http.NoBody || r.GetBody != nil
	}
	return false
}

func transientStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// coalescable: identical manifest reads in flight at once (a busy webhook
// asking for one tag, say) share one request and its (small) body.
func coalescable(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.URL.Path, "/manifests/")
}

// maxShared caps a body shared between coalesced requests; a manifest
// larger than that is not shared (the reader's own cap refuses it anyway).
const maxShared = 4 << 20

type shared struct {
	resp *http.Response
	body []byte
}

func (t *resilientTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !coalescable(r) {
		return t.roundTrip(r)
	}
	key := r.Method + " " + r.URL.String() + " " + r.Header.Get("Authorization") + " " + r.Header.Get("Accept")
	ch := t.flight.DoChan(key, func() (any, error) {
		// The shared request must not die with whichever caller came
		// first; it is bounded on its own, and each caller by its context.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Minute)
		defer cancel()
		resp, err := t.roundTrip(r.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxShared+1))
		if err != nil {
			return nil, err
		}
		return &shared{resp: resp, body: body}, nil
	})
	var res singleflight.Result
	select {
	case res = <-ch:
	case <-r.Context().Done():
		// The context's own error, unwrapped: callers above (the ping's
		// scheme fallback among them) tell a deadline from a failed
		// registry by it, and a wrapped one sent a review that ran out of
		// budget on to a stalled shared ping (TestOverload).
		return nil, r.Context().Err()
	}
	if res.Err != nil {
		return nil, res.Err
	}
	sh := res.Val.(*shared)
	if len(sh.body) > maxShared {
		return t.roundTrip(r) // too big to share: this caller asks on its own
	}
	out := *sh.resp
	out.Header = sh.resp.Header.Clone()
	out.Body = io.NopCloser(bytes.NewReader(sh.body))
	out.Request = r
	return &out, nil
}

func (t *resilientTransport) roundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	host := r.URL.Host
	slot := t.slot(host)
	select {
	case slot <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-slot }()

	start := time.Now()
	limit, hasDeadline := ctx.Deadline() // when rate-limit waits must end
	if !hasDeadline {
		limit = start.Add(t.rateBudget)
	}
	failures, limited := 0, 0 // attempts that failed (bounded), and that were rate limited (not)
	for attempt := 1; ; attempt++ {
		if err := t.holdOff(ctx, host, limit, hasDeadline, attempt-1, start); err != nil {
			return nil, err
		}
		req := r
		if attempt > 1 && r.GetBody != nil {
			body, err := r.GetBody()
			if err != nil {
				return nil, err
			}
			req = r.Clone(ctx)
			req.Body = body
		}
		resp, err := t.attempt(req)
		if !retryable(r) || ctx.Err() != nil {
			return resp, err
		}
		var wait time.Duration
		switch {
		case err != nil:
			if failures++; !passingErr(err) || failures >= t.maxAttempts {
				return nil, err
			}
			wait = t.backoff(failures)
		case !transientStatus(resp.StatusCode):
			return resp, nil
		default:
			ra, hasRA := retryAfter(resp.Header.Get("Retry-After"), time.Now())
			if resp.StatusCode == http.StatusTooManyRequests || hasRA {
				// Rate limited: Retry-After is the least to wait; the floor
				// grows so that "Retry-After: 0" is no licence to hammer.
				limited++
				wait = max(ra, t.backoff(limited))
				wait += jitter(wait)
				t.setPause(host, pause{time.Now().Add(ra), resp.StatusCode})
				if time.Now().Add(wait).After(limit) {
					drain(resp)
					return nil, &RateLimitError{Status: resp.StatusCode, RetryAfter: ra, Attempts: attempt, Waited: time.Since(start),
						Left: time.Until(limit), Deadline: hasDeadline}
				}
				break
			}
			if failures++; failures >= t.maxAttempts {
				return resp, nil
			}
			wait = t.backoff(failures)
			if time.Now().Add(wait).After(limit) {
				// Waiting would outlive the caller: give it the answer we have.
				return resp, nil
			}
		}
		if err != nil && time.Now().Add(wait).After(limit) {
			return nil, err
		}
		drain(resp)
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// RateLimitError is a request the registry kept rate limiting (429, or 503
// with Retry-After) until waiting again would pass the caller's deadline.
// It is a deadline error: errors.Is(err, context.DeadlineExceeded) holds.
type RateLimitError struct {
	Status     int           // the last answer's status
	RetryAfter time.Duration // what the registry last asked to wait
	Attempts   int
	Waited     time.Duration // since the first attempt
	Left       time.Duration // until the deadline, when given up
	Deadline   bool          // false: the caller set none; the budget ran out
}

func (e *RateLimitError) Error() string {
	what := fmt.Sprintf("the registry is rate limiting (%d %s, Retry-After %s): %d attempts over %s",
		e.Status, http.StatusText(e.Status), e.RetryAfter.Round(time.Millisecond), e.Attempts, e.Waited.Round(time.Millisecond))
	if !e.Deadline {
		return what + fmt.Sprintf(", and the wait budget of a request without a deadline (%s) is spent; try again later", defaultRateBudget)
	}
	return what + fmt.Sprintf("; waiting again would pass the deadline (%s away): allow more time or try again later", max(e.Left, 0).Round(time.Millisecond))
}

// Unwrap makes a RateLimitError a deadline error.
func (e *RateLimitError) Unwrap() error { return context.DeadlineExceeded }

// holdOff waits until the host's rate-limit pause (another request's
// Retry-After) is over, plus jitter so that the requests it held do not
// all return at once. A pause that ends past limit fails the request now.
func (t *resilientTransport) holdOff(ctx context.Context, host string, limit time.Time, hasDeadline bool, attempts int, start time.Time) error {
	t.mu.Lock()
	p := t.pause[host]
	t.mu.Unlock()
	d := time.Until(p.until)
	if d <= 0 {
		return nil
	}
	d += jitter(d)
	if time.Now().Add(d).After(limit) {
		return &RateLimitError{Status: p.status, RetryAfter: time.Until(p.until), Attempts: attempts, Waited: time.Since(start),
			Left: time.Until(limit), Deadline: hasDeadline}
	}
	return sleep(ctx, d)
}

// pause is a host's last Retry-After: no request before until.
type pause struct {
	until  time.Time
	status int
}

func (t *resilientTransport) setPause(host string, p pause) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p.until.After(t.pause[host].until) {
		t.pause[host] = p
	}
}

// jitter is a random share, up to a quarter, of d.
func jitter(d time.Duration) time.Duration {
	return time.Duration(rand.Int64N(int64(d/4) + 1))
}

func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func drain(resp *http.Response) {
	if resp != nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
}

// passingErr says whether a failed attempt may succeed if repeated: a
// connection reset or cut short, or no answer in time. Anything else — a
// refused connection, a TLS or protocol mismatch (go-containerregistry's
// https-then-http ping of a local registry meets one on every new
// transport), a cancelled context — is answered at once.
func passingErr(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, errHeaderTimeout) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// backoff is 100ms, 200ms, 400ms, ... up to 2s, with ±25% jitter.
func backoff(attempt int) time.Duration { return backoffFrom(100*time.Millisecond, attempt) }

func (t *resilientTransport) backoff(attempt int) time.Duration { return backoffFrom(t.unit, attempt) }

func backoffFrom(unit time.Duration, attempt int) time.Duration {
	d := min(unit<<min(attempt-1, 20), 20*unit)
	return d*3/4 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date. Waits
// over a minute are capped there.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(min(s, 60)) * time.Second, true // capped before multiplying: no overflow
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), time.Minute), true
	}
	return 0, false
}

// readAttempts is how many times a read whose body came back wrong (cut
// short, or not matching its digest) is made in all.
const readAttempts = 3

// again reports whether a failed read is worth repeating: the body went
// wrong on the way (a short or corrupted body, a reset mid-body). HTTP
// status errors were already retried by the transport when that made
// sense, and the caller's deadline or cancellation ends it.
func again(ctx context.Context, err error) bool {
	// A rate limit that outlasts the deadline is final; any other deadline
	// error while ctx is alive is not this caller's (a request or a
	// verification shared with another caller whose deadline passed) and
	// is worth repeating under ctx.
	var rle *RateLimitError
	if err == nil || ctx.Err() != nil || isNotFound(err) || errors.As(err, &rle) {
		return false
	}
	var terr *transport.Error
	return !errors.As(err, &terr)
}

// get is remote.Get, repeated when the manifest's body came back wrong.
func (c *Client) get(ctx context.Context, ref name.Reference) (*remote.Descriptor, error) {
	var d *remote.Descriptor
	var err error
	for attempt := 1; attempt <= readAttempts; attempt++ {
		if d, err = remote.Get(ref, c.remoteOpts(ctx, nil)...); !again(ctx, err) {
			return d, err
		}
		time.Sleep(backoff(attempt))
	}
	return d, err
}
