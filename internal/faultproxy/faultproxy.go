// Package faultproxy is a fault-injecting HTTP proxy for tests: it sits in
// front of a registry on 127.0.0.1 and, per rule (method, path pattern,
// which matching requests), answers with an error status, 429 with
// Retry-After, a rate limit that lets one request in several through, a
// reset connection, a stall, a slow body, a truncated body, or a body whose
// bytes do not match its digest.
package faultproxy

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"
)

// Kind is what a rule does to a request.
type Kind string

// Faults.
const (
	Status    Kind = "status"   // answer Code (500, 502, 503, ...)
	TooMany   Kind = "429"      // 429 with Retry-After: RetryAfter
	Reset     Kind = "reset"    // close the connection without an answer
	Stall     Kind = "stall"    // hold the request until the client gives up, the test ends, or Delay
	SlowBody  Kind = "slow"     // forward, sending the body a byte every Delay
	Truncate  Kind = "truncate" // forward, cutting the body in half
	BadDigest Kind = "corrupt"  // forward, with the body's bytes changed

	// Throttle lets one matching request in Every through and answers the
	// others 429 and 503 in turn, each with Retry-After: RetryAfter (none
	// when it is ""): a busy registry pacing its clients.
	Throttle Kind = "throttle"
)

// Rule says which requests get which fault.
type Rule struct {
	Kind   Kind
	Method string         // "" matches any
	Path   *regexp.Regexp // nil matches any
	// First applies the fault to the first First matching requests only
	// (0: to every one) — a fault that passes.
	First int
	// Probability, when above 0, applies the fault to that share of the
	// matching requests, at random.
	Probability float64
	Code        int
	RetryAfter  string
	Delay       time.Duration
	Every       int // Throttle: one request in Every passes (default 3)

	seen int
}

// Proxy is a running fault proxy.
type Proxy struct {
	// Host is host:port of the proxy; name images with it.
	Host string

	upstream *url.URL
	closing  chan struct{} // closed when the test ends: stalls let go
	mu       sync.Mutex
	rules    []*Rule
	// Faults counts the faults injected.
	faults int
}

// New starts a proxy to upstream (host:port, plain HTTP) that stops when
// the test ends.
func New(t testing.TB, upstream string, rules ...Rule) *Proxy {
	t.Helper()
	p := &Proxy{upstream: &url.URL{Scheme: "http", Host: upstream}, closing: make(chan struct{})}
	p.Set(rules...)
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	// srv.Close waits for the requests in flight: a stalled one (which a
	// client's background request can leave behind) is let go first, so
	// the test does not wait out its stall.
	t.Cleanup(func() {
		close(p.closing)
		srv.Close()
	})
	u, _ := url.Parse(srv.URL)
	p.Host = u.Host
	return p
}

// Set replaces the rules.
func (p *Proxy) Set(rules ...Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
	for i := range rules {
		r := rules[i]
		p.rules = append(p.rules, &r)
	}
}

// Faults reports how many faults were injected.
func (p *Proxy) Faults() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults
}

func (p *Proxy) match(r *http.Request) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rule := range p.rules {
		if (rule.Method != "" && rule.Method != r.Method) || (rule.Path != nil && !rule.Path.MatchString(r.URL.Path)) {
			continue
		}
		if rule.First > 0 && rule.seen >= rule.First {
			continue
		}
		if rule.Probability > 0 && rand.Float64() >= rule.Probability {
			continue
		}
		if rule.Kind == Throttle {
			return p.throttle(rule)
		}
		rule.seen++
		p.faults++
		return rule
	}
	return nil
}

// throttle lets the first of every rule.Every requests through (nil) and
// answers the others 429, then 503. Called with p.mu held.
func (p *Proxy) throttle(rule *Rule) *Rule {
	every := rule.Every
	if every <= 0 {
		every = 3
	}
	n := rule.seen % every
	rule.seen++
	if n == 0 {
		return nil
	}
	p.faults++
	out := *rule
	out.Code = http.StatusTooManyRequests
	if n%2 == 0 {
		out.Code = http.StatusServiceUnavailable
	}
	return &out
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	rule := p.match(r)
	if rule != nil {
		switch rule.Kind {
		case Throttle:
			if rule.RetryAfter != "" {
				w.Header().Set("Retry-After", rule.RetryAfter)
			}
			http.Error(w, "injected rate limit", rule.Code)
			return
		case Status:
			http.Error(w, "injected fault", rule.Code)
			return
		case TooMany:
			w.Header().Set("Retry-After", rule.RetryAfter)
			http.Error(w, "injected rate limit", http.StatusTooManyRequests)
			return
		case Reset:
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		case Stall:
			d := rule.Delay
			if d == 0 {
				d = time.Minute
			}
			select {
			case <-r.Context().Done():
			case <-p.closing:
			case <-time.After(d):
			}
			return
		}
	}
	resp, body, err := p.forward(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	if rule != nil && rule.Kind == Truncate && len(body) > 1 {
		// Declare the whole length, send half, and end the connection.
		w.WriteHeader(resp.StatusCode)
		w.Write(body[:len(body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	if rule != nil && rule.Kind == BadDigest && len(body) > 0 {
		body = bytes.Clone(body)
		for i := range body {
			body[i] ^= 0x20
		}
	}
	w.WriteHeader(resp.StatusCode)
	if rule != nil && rule.Kind == SlowBody {
		for i := 0; i < len(body); i += 256 {
			if _, err := w.Write(body[i:min(i+256, len(body))]); err != nil {
				return
			}
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(rule.Delay):
			}
		}
		return
	}
	w.Write(body)
}

// forward sends r upstream and reads the whole answer (test bodies are small).
func (p *Proxy) forward(r *http.Request) (*http.Response, []byte, error) {
	u := *r.URL
	u.Scheme, u.Host = p.upstream.Scheme, p.upstream.Host
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), r.Body)
	if err != nil {
		return nil, nil, err
	}
	out.Header = r.Header.Clone()
	out.ContentLength = r.ContentLength
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}
