package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/singleflight"
)

// Limits of what a MemoTransport keeps.
const (
	memoMaxBody  = 8 << 20   // one response body (the oci client's default artifact cap)
	memoMaxTotal = 256 << 20 // all of them, in the scopes open at once
)

// NewMemoTransport returns a transport that, within a memo scope
// (WithMemo), asks the registry once for each manifest, blob and referrers
// list (GET or HEAD, by URL and Accept header), however many policies and
// rules need it: both policies then judge the same registry answers for
// an image. It keeps answers of 200 and 404 only; failures, authentication
// challenges and anything else go through every time, so a retry still
// reaches the registry. What a scope kept is dropped when the scope ends,
// so the next image asks the registry afresh (a tag moved or a signature
// added since is seen) and memory does not grow with the images checked.
// A request outside any scope goes straight through.
func NewMemoTransport(base http.RoundTripper) *MemoTransport {
	return &MemoTransport{base: base, id: strconv.FormatInt(memoIDs.Add(1), 10)}
}

// MemoTransport is NewMemoTransport's transport.
type MemoTransport struct {
	base    http.RoundTripper
	id      string // tells its entries from another transport's in a shared scope
	mu      sync.Mutex
	size    int // bytes kept in scopes still open
	entries int
}

var memoIDs atomic.Int64

// Held reports how many answers, and bytes of body, the transport keeps in
// scopes still open: none once every scope has ended.
func (m *MemoTransport) Held() (entries, bytes int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.entries, m.size
}

// memoScope is what one scope keeps, and what it charged to each
// transport's budget.
type memoScope struct {
	flight  singleflight.Group
	mu      sync.Mutex
	closed  bool
	kept    map[string]*memoEntry
	charged map[*MemoTransport][2]int // entries, bytes
}

type memoScopeKey struct{}

// WithMemo starts a memo scope: registry answers to requests made with the
// returned context (or one derived from it) are shared through a
// MemoTransport until release is called. Check opens one per image.
func WithMemo(ctx context.Context) (context.Context, func()) {
	s := &memoScope{kept: map[string]*memoEntry{}, charged: map[*MemoTransport][2]int{}}
	return context.WithValue(ctx, memoScopeKey{}, s), s.release
}

// release ends the scope: its answers go, and so do their charges.
func (s *memoScope) release() {
	s.mu.Lock()
	charged := s.charged
	s.closed, s.kept, s.charged = true, nil, nil
	s.mu.Unlock()
	for m, c := range charged {
		m.mu.Lock()
		m.entries -= c[0]
		m.size -= c[1]
		m.mu.Unlock()
	}
}

func (s *memoScope) get(key string) (*memoEntry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.kept[key]
	return e, ok
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

func (m *MemoTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s, _ := r.Context().Value(memoScopeKey{}).(*memoScope)
	if s == nil || !memoable(r) {
		return m.base.RoundTrip(r)
	}
	key := m.id + " " + r.Method + " " + r.URL.String() + " " + r.Header.Get("Accept")
	if e, ok := s.get(key); ok {
		return e.response(r), nil
	}
	var own *http.Response // the leader's response when it is too large to share
	v, err, shared := s.flight.Do(key, func() (any, error) {
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
		m.keep(s, key, e)
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

// keep stores e in the scope when it is a registry answer that holds for
// the image, and the scope is open, and the transport's budget allows.
func (m *MemoTransport) keep(s *memoScope, key string, e *memoEntry) {
	if e.status != http.StatusOK && e.status != http.StatusNotFound {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	m.mu.Lock()
	fits := m.size+len(e.body) <= memoMaxTotal
	if fits {
		m.size += len(e.body)
		m.entries++
	}
	m.mu.Unlock()
	if !fits {
		return
	}
	s.kept[key] = e
	c := s.charged[m]
	s.charged[m] = [2]int{c[0] + 1, c[1] + len(e.body)}
}

// response is a fresh response to r with e's content.
func (e *memoEntry) response(r *http.Request) *http.Response {
	return &http.Response{Status: fmt.Sprintf("%d %s", e.status, http.StatusText(e.status)), StatusCode: e.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: e.header.Clone(), Body: io.NopCloser(bytes.NewReader(e.body)),
		ContentLength: e.length, Request: r}
}
