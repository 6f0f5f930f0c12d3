package oci

import (
	"net/http"
	"strings"
	"sync"
)

// referrersProbe watches the requests a registry call makes and records
// whether the registry answered the referrers API, so callers can tell a
// referrers-API registry from one that needs the fallback tag.
type referrersProbe struct {
	base http.RoundTripper

	mu       sync.Mutex
	answered bool // a GET /v2/.../referrers/... returned 200 with an index
	missing  bool // ... returned 404 or 400
}

func (p *referrersProbe) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := p.base.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || !strings.Contains(req.URL.Path, "/referrers/") {
		return resp, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/vnd.oci.image.index.v1+json"):
		p.answered = true
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusOK:
		p.missing = true
	}
	return resp, err
}

// layout returns the layout the probed call used to list referrers.
func (p *referrersProbe) layout() Layout {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.answered {
		return LayoutReferrersAPI
	}
	return LayoutFallbackTag
}

func (p *referrersProbe) usedFallback() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.missing && !p.answered
}
