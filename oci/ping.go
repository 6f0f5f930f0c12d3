package oci

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// pingTTL is how long a registry's answer to GET /v2/ is reused.
const pingTTL = 5 * time.Minute

// maxPingBody caps the body of a /v2/ answer kept for reuse.
const maxPingBody = 16 << 10

// pingCache answers go-containerregistry's GET /v2/ ping — made once per
// repository, to learn how the registry wants to be authenticated — from
// the registry's last answer (200 or 401 with its challenge) for pingTTL,
// so a repository of a registry already asked costs no extra round trip.
// The answer only says how to authenticate: if it is out of date, the
// requests that follow are refused (401) and fail; nothing more is
// allowed for it.
type pingCache struct {
	base   http.RoundTripper
	now    func() time.Time
	mu     sync.Mutex
	pings  map[string]*pingAnswer // by scheme://host
	flight singleflight.Group
}

type pingAnswer struct {
	status int
	header http.Header
	body   []byte
	at     time.Time
}

func newPingCache(base http.RoundTripper) *pingCache {
	return &pingCache{base: base, now: time.Now, pings: map[string]*pingAnswer{}}
}

func isPing(r *http.Request) bool {
	return r.Method == http.MethodGet && r.URL.Path == "/v2/" && r.URL.RawQuery == "" && r.Header.Get("Authorization") == ""
}

func (p *pingCache) RoundTrip(r *http.Request) (*http.Response, error) {
	if !isPing(r) {
		return p.base.RoundTrip(r)
	}
	key := r.URL.Scheme + "://" + r.URL.Host
	if a := p.fresh(key); a != nil {
		return a.response(r), nil
	}
	ch := p.flight.DoChan(key, func() (any, error) {
		resp, err := p.base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxPingBody+1))
		if err != nil {
			return nil, err
		}
		a := &pingAnswer{status: resp.StatusCode, header: resp.Header.Clone(), body: body, at: p.now()}
		if (a.status == http.StatusOK || a.status == http.StatusUnauthorized) && len(body) <= maxPingBody {
			p.mu.Lock()
			p.pings[key] = a
			p.mu.Unlock()
		}
		return a, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*pingAnswer).response(r), nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// fresh is key's kept answer while it is younger than pingTTL.
func (p *pingCache) fresh(key string) *pingAnswer {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.pings[key]
	if a == nil || p.now().Sub(a.at) >= pingTTL {
		delete(p.pings, key)
		return nil
	}
	return a
}

func (a *pingAnswer) response(r *http.Request) *http.Response {
	return &http.Response{Status: http.StatusText(a.status), StatusCode: a.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: a.header.Clone(), Body: io.NopCloser(bytes.NewReader(a.body)), ContentLength: int64(len(a.body)), Request: r}
}
