package oci

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// referrersProbe records whether the registry answered the referrers API
// during one call, so callers can tell a referrers-API registry from one
// that needs the fallback tag. A call carries it in its context (withProbe);
// the client's transport (probeTransport) fills it in, so the call can use
// the client's shared, already authenticated transport.
type referrersProbe struct {
	// subject is the digest whose referrers the call lists: only the API
	// request for it is recorded (GET /v2/<repo>/referrers/<subject>), not
	// every URL with /referrers/ in it (a token realm, say).
	subject  string
	mu       sync.Mutex
	answered bool // a GET /v2/.../referrers/... returned 200 with an index
	missing  bool // ... returned 404 or 400
	// unsupported: the answer is one on which go-containerregistry reads
	// the fallback tag instead — 404, 400 or 406, or 200 with any other
	// content type than exactly an OCI index.
	unsupported bool
}

type probeKey struct{}

func withProbe(ctx context.Context, p *referrersProbe) context.Context {
	return context.WithValue(ctx, probeKey{}, p)
}

// probeTransport reports referrers-API answers to the probe in the
// request's context, if any.
type probeTransport struct{ base http.RoundTripper }

func (t probeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	p, _ := req.Context().Value(probeKey{}).(*referrersProbe)
	if p == nil || err != nil || !p.isAPIRequest(req) {
		return resp, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// The last answer is the one the call acted on (a retried request).
	p.answered, p.missing, p.unsupported = false, false, false
	switch {
	case resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/vnd.oci.image.index.v1+json"):
		p.answered = true
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusOK:
		p.missing = true
	}
	switch resp.StatusCode {
	case http.StatusNotFound, http.StatusBadRequest, http.StatusNotAcceptable:
		p.unsupported = true
	case http.StatusOK:
		p.unsupported = resp.Header.Get("Content-Type") != string(types.OCIImageIndex)
	}
	return resp, err
}

// isAPIRequest says whether req is the referrers API request for the
// probe's subject.
func (p *referrersProbe) isAPIRequest(req *http.Request) bool {
	path := req.URL.Path
	return req.Method == http.MethodGet && p.subject != "" && strings.HasPrefix(path, "/v2/") &&
		strings.HasSuffix(path, "/referrers/"+p.subject)
}

// notSupported says whether the referrers API answer was one on which the
// fallback tag is read.
func (p *referrersProbe) notSupported() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unsupported
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
