package oci

import (
	"bytes"
	"context"
	"errors"
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
// idempotent requests that failed for reasons that pass (a reset
// connection, 429, 500, 502, 503, 504) with exponential backoff and
// jitter, honouring Retry-After — never past the caller's deadline, and
// never more than maxAttempts times. go-containerregistry's own retries
// are turned off (see remoteOpts), so there is one policy, here.
type resilientTransport struct {
	base          http.RoundTripper
	maxAttempts   int
	perHost       int
	headerTimeout time.Duration // per attempt, until the response headers arrive

	mu     sync.Mutex
	slots  map[string]chan struct{}
	flight singleflight.Group
}

func newResilientTransport(base http.RoundTripper, attempts, perHost int, headerTimeout time.Duration) *resilientTransport {
	return &resilientTransport{base: base, maxAttempts: max(1, attempts), perHost: max(1, perHost), headerTimeout: headerTimeout,
		slots: map[string]chan struct{}{}}
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
	slot := t.slot(r.URL.Host)
	select {
	case slot <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-slot }()

	for attempt := 1; ; attempt++ {
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
		last := attempt >= t.maxAttempts || !retryable(r) || ctx.Err() != nil
		switch {
		case err != nil && (last || !passingErr(err)):
			return nil, err
		case err == nil && (!transientStatus(resp.StatusCode) || last):
			return resp, nil
		}
		wait := backoff(attempt)
		if err == nil {
			if ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				wait = ra
			}
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			// Waiting would outlive the caller: give it the answer we have.
			if err != nil {
				return nil, err
			}
			return resp, nil
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		}
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
func backoff(attempt int) time.Duration {
	d := min(100*time.Millisecond<<(attempt-1), 2*time.Second)
	return d*3/4 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date. Waits
// over a minute are capped there.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, time.Minute), true
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
	if err == nil || ctx.Err() != nil || isNotFound(err) {
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
