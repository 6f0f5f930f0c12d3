package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"
)

// Limits of what a MemoTransport keeps.
const (
	memoMaxBody  = 8 << 20   // one response body (the oci client's default artifact cap)
	memoMaxTotal = 256 << 20 // all of them
)

// NewMemoTransport returns a transport for one fleet check that asks the
// registry once for each manifest, blob and referrers list (GET or HEAD,
// by URL and Accept header), however many images, policies and rules need
// it: both policies then judge the same registry answers, and the
// registry sees one fetch per digest. It keeps answers of 200 and 404
// only; failures, authentication challenges and anything else go through
// every time, so a retry still reaches the registry. Use it for one run:
// it never forgets (tags are read once per run too).
func NewMemoTransport(base http.RoundTripper) http.RoundTripper {
	return &memo{base: base, kept: map[string]*memoEntry{}}
}

type memo struct {
	base   http.RoundTripper
	flight singleflight.Group
	mu     sync.Mutex
	kept   map[string]*memoEntry
	size   int
}

type memoEntry struct {
	status int
	header http.Header
	body   []byte
	length int64 // Content-Length: the body's, or for HEAD the one announced
}

// errTooLarge marks a response too large to keep; each caller then asks
// the registry itself.
var errTooLarge = errors.New("response too large to keep")

// memoable says whether a request reads registry content that can be kept
// for the run: GET or HEAD of a manifest, blob or referrers list, without a
// byte range.
func memoable(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead || r.Header.Get("Range") != "" {
		return false
	}
	p := r.URL.Path
	return strings.HasPrefix(p, "/v2/") && (strings.Contains(p, "/manifests/") || strings.Contains(p, "/blobs/") || strings.Contains(p, "/referrers/"))
}

func (m *memo) RoundTrip(r *http.Request) (*http.Response, error) {
	if !memoable(r) {
		return m.base.RoundTrip(r)
	}
	key := r.Method + " " + r.URL.String() + " " + r.Header.Get("Accept")
	m.mu.Lock()
	e, ok := m.kept[key]
	m.mu.Unlock()
	if ok {
		return e.response(r), nil
	}
	var own *http.Response // the leader's response when it is too large to share
	v, err, shared := m.flight.Do(key, func() (any, error) {
		resp, err := m.base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		e, whole, err := read(r.Method, resp)
		if err != nil {
			return nil, err
		}
		if !whole {
			own = resp
			return nil, errTooLarge
		}
		m.keep(key, e)
		return e, nil
	})
	switch {
	case own != nil:
		return own, nil
	case err != nil && shared:
		// Another request's failure (its context ended, its body was too
		// large): ask for ourselves.
		return m.base.RoundTrip(r)
	case err != nil:
		return nil, err
	}
	return v.(*memoEntry).response(r), nil
}

// read reads resp's body up to memoMaxBody; when larger, resp keeps a body
// that replays what was read, and whole is false.
func read(method string, resp *http.Response) (e *memoEntry, whole bool, err error) {
	buf, err := io.ReadAll(io.LimitReader(resp.Body, memoMaxBody+1))
	if err != nil {
		resp.Body.Close()
		return nil, false, err
	}
	if len(buf) > memoMaxBody {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(buf), resp.Body), resp.Body}
		return nil, false, nil
	}
	resp.Body.Close()
	length := int64(len(buf))
	if method == http.MethodHead {
		length = resp.ContentLength
	}
	return &memoEntry{status: resp.StatusCode, header: resp.Header.Clone(), body: buf, length: length}, true, nil
}

// keep stores e when it is a registry answer that holds for the run.
func (m *memo) keep(key string, e *memoEntry) {
	if e.status != http.StatusOK && e.status != http.StatusNotFound {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.size+len(e.body) > memoMaxTotal {
		return
	}
	m.kept[key] = e
	m.size += len(e.body)
}

// response is a fresh response to r with e's content.
func (e *memoEntry) response(r *http.Request) *http.Response {
	return &http.Response{Status: fmt.Sprintf("%d %s", e.status, http.StatusText(e.status)), StatusCode: e.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: e.header.Clone(), Body: io.NopCloser(bytes.NewReader(e.body)),
		ContentLength: e.length, Request: r}
}
