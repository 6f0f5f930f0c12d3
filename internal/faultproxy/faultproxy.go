// Package faultproxy is a fault-injecting HTTP proxy for tests: it sits in
// front of a registry on 127.0.0.1 and, per rule (method, path pattern,
// which matching requests), answers with an error status, 429 with
// Retry-After, a rate limit that lets one request in several through, a
// reset connection, a stall, a slow body, a truncated body, or a body whose
// bytes do not match its digest. It can also hold every request for a fixed
// time (Latency: a registry 20 or 50 ms away) and counts the requests it
// sees by kind (Counts: the registry round trips a client made).
package faultproxy

import (
	"bytes"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
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
	client   http.RoundTripper
	mu       sync.Mutex
	rules    []*Rule
	// Faults counts the faults injected.
	faults  int
	latency time.Duration
	counts  map[string]int
	// inFlight and maxInFlight: requests being answered now, and the most
	// at once since the counts were reset.
	inFlight, maxInFlight int
}

// New starts a proxy to upstream (host:port, plain HTTP) that stops when
// the test ends.
func New(t testing.TB, upstream string, rules ...Rule) *Proxy {
	t.Helper()
	p, stop := Start(upstream, rules...)
	t.Cleanup(stop)
	return p
}

// Start is New for a program that is not a test (the benchmark): the proxy
// runs on 127.0.0.1 until stop is called.
func Start(upstream string, rules ...Rule) (p *Proxy, stop func()) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256 // many requests held at once reuse their connections
	p = &Proxy{upstream: &url.URL{Scheme: "http", Host: upstream}, closing: make(chan struct{}), client: tr, counts: map[string]int{}}
	p.Set(rules...)
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	u, _ := url.Parse(srv.URL)
	p.Host = u.Host
	// srv.Close waits for the requests in flight: a stalled one (which a
	// client's background request can leave behind) is let go first, so
	// the caller does not wait out its stall.
	return p, func() {
		close(p.closing)
		srv.Close()
		tr.CloseIdleConnections()
	}
}

// SetLatency holds every request for d before it is answered (0: none),
// as a registry d away would.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// Counts returns how many requests the proxy saw, by kind (see KindOf),
// since it started or ResetCounts.
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.counts)
}

// Total is the number of requests the proxy saw since it started or
// ResetCounts.
func (p *Proxy) Total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.counts {
		n += c
	}
	return n
}

// MaxInFlight is the most requests the proxy was answering at once since it
// started or ResetCounts.
func (p *Proxy) MaxInFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxInFlight
}

// ResetCounts sets the counts (and MaxInFlight) to zero.
func (p *Proxy) ResetCounts() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.counts)
	p.maxInFlight = p.inFlight
}

// KindOf names what a registry request asks for, by its method and the
// distribution API path: "ping" (/v2/), "HEAD manifest", "GET manifest",
// "GET blob", "GET referrers", "GET tags", and "METHOD other" for the rest
// (uploads, the catalog).
func KindOf(r *http.Request) string {
	path := r.URL.Path
	switch {
	case path == "/v2/" || path == "/v2":
		return "ping"
	case strings.Contains(path, "/manifests/"):
		return r.Method + " manifest"
	case strings.Contains(path, "/blobs/uploads"):
		return r.Method + " upload"
	case strings.Contains(path, "/blobs/"):
		return r.Method + " blob"
	case strings.Contains(path, "/referrers/"):
		return r.Method + " referrers"
	case strings.HasSuffix(path, "/tags/list"):
		return r.Method + " tags"
	}
	return r.Method + " other"
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

// arrive counts r and returns how long to hold it.
func (p *Proxy) arrive(r *http.Request) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[KindOf(r)]++
	p.inFlight++
	p.maxInFlight = max(p.maxInFlight, p.inFlight)
	return p.latency
}

func (p *Proxy) leave() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight--
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	hold := p.arrive(r)
	defer p.leave()
	if hold > 0 {
		select {
		case <-r.Context().Done():
			return
		case <-p.closing:
		case <-time.After(hold):
		}
	}
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
	resp, err := p.client.RoundTrip(out)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}
