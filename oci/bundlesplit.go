package oci

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BundleParts is a Sigstore bundle's JSON held in two parts: the JSON with
// the text of its dsseEnvelope.payload string cut out (the string left
// empty), and that payload decoded. A 100 MB attestation is then held once,
// as its decoded statement, instead of as base64 text and statement both.
type BundleParts struct {
	// JSON is the bundle with its DSSE payload string emptied.
	JSON []byte
	// At is where in JSON the payload's text was (just after its opening
	// quote).
	At int
	// Payload is the DSSE payload, decoded.
	Payload []byte
}

// Join returns the bundle as it was read: the cut is only ever made where
// the text is padded standard base64 (the only spelling the splitter
// accepts), which encodes back to the same text.
func (p *BundleParts) Join() []byte {
	out := make([]byte, 0, len(p.JSON)+base64.StdEncoding.EncodedLen(len(p.Payload)))
	out = append(out, p.JSON[:p.At]...)
	out = base64.StdEncoding.AppendEncode(out, p.Payload)
	return append(out, p.JSON[p.At:]...)
}

// ErrNotSplit says SplitBundle could not be sure how a JSON parser reads the
// bundle's DSSE payload: the caller reads it whole and lets the parser
// decide, as it does for any small bundle.
var ErrNotSplit = errors.New("bundle left whole")

// maxSplitDepth bounds the nesting SplitBundle follows (protojson's own
// limit is far above what a bundle has).
const maxSplitDepth = 1000

// SplitBundle reads a Sigstore bundle's JSON from r and cuts out its
// top-level dsseEnvelope's payload string, decoding it as it streams. It is
// a lexer, not a validator: the JSON left is for protojson to parse, and it
// is valid exactly when the whole is, because only the content of one
// string is removed and that content is checked to be plain base64 text. It
// returns ErrNotSplit — never a guess — when the payload is not there
// exactly once, spelled so, as padded standard base64 with no escapes, or
// when a member name that could mean dsseEnvelope or payload is escaped or
// spelled otherwise (protojson also reads dsse_envelope). sizeHint, the
// bundle's size when known, sizes the payload's buffer (it cannot be larger
// than three quarters of it) so it is never copied while it grows.
func SplitBundle(r io.Reader, sizeHint int64) (*BundleParts, error) {
	s := &splitter{}
	if sizeHint > 0 {
		s.payload = make([]byte, 0, base64.StdEncoding.DecodedLen(int(sizeHint)))
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 && !s.feed(buf[:n]) {
			return nil, ErrNotSplit
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if s.state != outside || len(s.stack) != 0 || s.envelopes != 1 || s.payloads != 1 {
		return nil, ErrNotSplit
	}
	return &BundleParts{JSON: trimmed(s.out), At: s.at, Payload: trimmed(s.payload)}, nil
}

// trimmed returns b in a buffer of about its length when it holds much
// more room: the payload's buffer is sized for the largest payload the
// bundle could hold, and Discover keeps every artifact it reads, so a
// bundle whose bytes are not in its payload would otherwise be held about
// twice.
func trimmed(b []byte) []byte {
	if cap(b)-len(b) > len(b)/8+16<<10 {
		return bytes.Clone(b)
	}
	return b
}

type splitState int

const (
	outside splitState = iota
	inKey
	inValue
	inPayload
)

// splitter is SplitBundle's lexer state.
type splitter struct {
	out     []byte // the JSON without the payload's text
	payload []byte // the payload, decoded
	pending []byte // payload text not yet decoded
	at      int

	stack       []byte // '{' or '[' per open container
	expectKey   bool   // the next string in the open object is a member name
	state       splitState
	escaped     bool   // the previous byte of a string was a backslash
	key         []byte // the member name being read (where it matters)
	keyEsc      bool   // it holds an escape
	lastKey     string // the name of the member whose value comes next
	envDepth    int    // len(stack) inside the dsseEnvelope object, 0 outside
	envelopes   int    // dsseEnvelope members seen at the top level
	payloads    int    // payload strings seen in dsseEnvelope
	payloadKeys int    // payload members seen in dsseEnvelope
	padded      bool   // the payload text has reached its '=' padding
}

// watched says whether member names at the current depth matter: the top
// level (dsseEnvelope) and the envelope's own members (payload).
func (s *splitter) watched() bool {
	return len(s.stack) == 1 || (s.envDepth > 0 && len(s.stack) == s.envDepth)
}

// feed lexes the next bytes; false means the bundle is left whole.
func (s *splitter) feed(b []byte) bool {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch s.state {
		case inPayload:
			n := i
			for n < len(b) && b[n] != '"' {
				n++
			}
			if !s.payloadText(b[i:n]) {
				return false
			}
			if n == len(b) {
				return true
			}
			if !s.endPayload() {
				return false
			}
			s.out = append(s.out, '"')
			s.state = outside
			i = n
			continue
		case inKey, inValue:
			s.out = append(s.out, c)
			key := s.state == inKey
			switch {
			case s.escaped:
				s.escaped = false
			case c == '\\':
				s.escaped, s.keyEsc = true, s.keyEsc || key
			case c == '"':
				if key && !s.endKey() {
					return false
				}
				s.state = outside
			case key && len(s.key) <= 32:
				s.key = append(s.key, c)
			}
			continue
		}
		s.out = append(s.out, c)
		switch c {
		case '{', '[':
			if len(s.stack) >= maxSplitDepth {
				return false
			}
			isEnv := c == '{' && len(s.stack) == 1 && s.lastKey == "dsseEnvelope"
			s.stack = append(s.stack, c)
			s.expectKey = c == '{'
			s.lastKey = ""
			if isEnv {
				s.envDepth = len(s.stack)
			}
		case '}', ']':
			if len(s.stack) == 0 {
				return false
			}
			if len(s.stack) == s.envDepth {
				s.envDepth = 0
			}
			s.stack = s.stack[:len(s.stack)-1]
			s.expectKey = false
		case ',':
			s.expectKey = len(s.stack) > 0 && s.stack[len(s.stack)-1] == '{'
			s.lastKey = ""
		case ':':
			s.expectKey = false
		case '"':
			if len(s.stack) > 0 && s.stack[len(s.stack)-1] == '{' && s.expectKey {
				s.state, s.key, s.keyEsc = inKey, s.key[:0], false
				continue
			}
			if s.envDepth > 0 && len(s.stack) == s.envDepth && s.lastKey == "payload" {
				if s.payloads++; s.payloads > 1 {
					return false
				}
				s.state, s.at = inPayload, len(s.out)
				continue
			}
			s.state = inValue
		}
	}
	return true
}

// endKey records a member name that was just read.
func (s *splitter) endKey() bool {
	s.lastKey = ""
	if !s.watched() {
		return true
	}
	if s.keyEsc {
		return false // an escaped name may spell one of ours
	}
	name := string(s.key)
	switch {
	case len(s.stack) == 1 && name == "dsse_envelope":
		return false
	case len(s.stack) == 1 && name == "dsseEnvelope":
		if s.envelopes++; s.envelopes > 1 {
			return false
		}
	case len(s.stack) == s.envDepth && name == "payload":
		if s.payloadKeys++; s.payloadKeys > 1 {
			return false
		}
	}
	s.lastKey = name
	return true
}

// payloadText takes the next run of the payload's text (no closing quote).
func (s *splitter) payloadText(t []byte) bool {
	for _, c := range t {
		switch {
		case c == '=':
			s.padded = true
		case s.padded:
			return false
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/':
		default:
			return false
		}
	}
	s.pending = append(s.pending, t...)
	if !s.padded && len(s.pending) >= 64<<10 {
		n := len(s.pending) / 4 * 4
		if !s.decode(s.pending[:n]) {
			return false
		}
		s.pending = append(s.pending[:0], s.pending[n:]...)
	}
	return true
}

// endPayload decodes the rest of the payload's text at its closing quote.
func (s *splitter) endPayload() bool {
	if len(s.pending)%4 != 0 || !s.decode(s.pending) {
		return false
	}
	s.pending = nil
	return true
}

func (s *splitter) decode(text []byte) bool {
	n := len(s.payload)
	need := n + base64.StdEncoding.DecodedLen(len(text))
	if need > cap(s.payload) {
		grown := make([]byte, n, need+need/4)
		copy(grown, s.payload)
		s.payload = grown
	}
	m, err := base64.StdEncoding.Strict().Decode(s.payload[n:need], text)
	if err != nil {
		return false
	}
	s.payload = s.payload[:n+m]
	return true
}

// splitBundleBytes is the bundle size from which a registry client reads a
// Sigstore bundle split (see SplitBundle) instead of whole.
var splitBundleBytes int64 = 1 << 20

// bundleSplitter is a Reader that can read a bundle split as it streams it.
type bundleSplitter interface {
	splitBlob(ctx context.Context, repo name.Repository, desc v1.Descriptor) (*BundleParts, error)
}

// readBundle reads a referrer's bundle layer: split when it is large and
// the store can stream it, else whole. What the splitter leaves whole is
// read again whole (one more request, only for a bundle spelled unusually).
func readBundle(ctx context.Context, s Reader, repo name.Repository, desc v1.Descriptor) ([]byte, *BundleParts, error) {
	if sp, ok := s.(bundleSplitter); ok && desc.Size >= splitBundleBytes {
		parts, err := sp.splitBlob(ctx, repo, desc)
		if !errors.Is(err, ErrNotSplit) {
			return nil, parts, err
		}
	}
	b, err := s.Blob(ctx, repo, desc)
	return b, nil, err
}

// splitBlob streams a bundle blob through SplitBundle, checking its size
// and digest as readBlob does (a transfer that went wrong is tried again,
// then is a registry error).
func (c *Client) splitBlob(ctx context.Context, repo name.Repository, desc v1.Descriptor) (*BundleParts, error) {
	if desc.Size > c.maxBytes || desc.Size < 0 {
		return nil, fmt.Errorf("blob %s is %d bytes, over the %d-byte cap", desc.Digest, desc.Size, c.maxBytes)
	}
	var parts *BundleParts
	var err error
	for attempt := 1; attempt <= readAttempts; attempt++ {
		if parts, err = c.fetchSplit(ctx, repo, desc); errors.Is(err, ErrNotSplit) || errors.Is(err, errBlobSize) || !again(ctx, err) {
			break
		}
		time.Sleep(backoff(attempt))
	}
	if errors.Is(err, ErrNotSplit) || errors.Is(err, errBlobSize) {
		return nil, err
	}
	if err != nil {
		return nil, registryErr(fmt.Sprintf("fetching blob %s", desc.Digest), err)
	}
	return parts, nil
}

// errBlobSize says a blob's body was not the size its descriptor says
// (not a transfer to try again: readBlob does not either).
var errBlobSize = errors.New("wrong blob size")

type blobSizeError struct{ msg string }

func (e blobSizeError) Error() string        { return e.msg }
func (e blobSizeError) Is(target error) bool { return target == errBlobSize }

func (c *Client) fetchSplit(ctx context.Context, repo name.Repository, desc v1.Descriptor) (*BundleParts, error) {
	rc, err := c.openBlob(ctx, repo, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// One byte past the descriptor's size is read, so a longer body is
	// refused there; the reader checks the digest at its end, which the
	// splitter always reaches before it returns parts.
	cr := &CountingReader{R: io.LimitReader(rc, desc.Size+1)}
	parts, err := SplitBundle(cr, desc.Size)
	if err != nil {
		return nil, err
	}
	if cr.N != desc.Size {
		return nil, blobSizeError{fmt.Sprintf("blob %s: read %d bytes, its descriptor says %d", desc.Digest, cr.N, desc.Size)}
	}
	return parts, nil
}

// CountingReader counts the bytes read through it (a blob's size is checked
// against its descriptor's as it streams).
type CountingReader struct {
	R io.Reader
	N int64
}

func (c *CountingReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	return n, err
}
