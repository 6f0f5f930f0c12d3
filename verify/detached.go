package verify

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/oci"
)

// Detached predicates (attest --detached): a small signed statement of type
// attest.DetachedPredicateType names a document stored as its own OCI
// artifact. It meets a requirement for the document's predicate type once
// the statement verified as any attestation does and the document, fetched
// after that, has the digest, size and media type it names.
const (
	// DefaultMaxDetachedBytes is the largest detached predicate read.
	DefaultMaxDetachedBytes = 2 << 30
	// DefaultDetachedMemoryBytes is the largest detached predicate, or
	// attached statement, a condition sees whole; a larger one is seen
	// through its small members and summary.
	DefaultDetachedMemoryBytes = 16 << 20
	// summaryMemberBytes is the largest top-level member of a document over
	// the memory cap kept for a condition; summaryLicenses the most
	// distinct licenses the summary lists.
	summaryMemberBytes = 1 << 20
	summaryLicenses    = 10_000
)

// ErrDetachedPredicate means a detached predicate's document is missing, or
// is not the document its signed statement names (digest, size or media
// type), or is over the size cap.
var ErrDetachedPredicate = errors.New("detached predicate refused")

// WithMaxDetachedBytes caps the size of a detached predicate document read
// (default DefaultMaxDetachedBytes); a larger one is refused unread.
func WithMaxDetachedBytes(n int64) Option {
	return func(v *Verifier) { v.maxDetached = n }
}

// WithEngineMaxPredicateBytes caps the size of a detached predicate document
// the engine's verifiers read, as WithMaxDetachedBytes does for one verifier
// (default DefaultMaxDetachedBytes): a larger one is refused unread, with
// the cap named in the reason.
func WithEngineMaxPredicateBytes(n int64) EngineOption {
	return func(e *Engine) { e.maxPredicate = n }
}

// WithDetachedMemoryBytes sets the size up to which a condition sees a
// predicate whole (default DefaultDetachedMemoryBytes): a detached
// predicate's document, or an attached attestation's statement. Over it, a
// condition sees the predicate's small top-level members and its summary.
func WithDetachedMemoryBytes(n int64) Option {
	return func(v *Verifier) { v.detachedMemory = n }
}

// detachedFor checks a verified bundle of type attest.DetachedPredicateType
// (sig, from checkBundle) for a requirement of type want: nil when it names
// a document of another type or cannot be read far enough to tell, else sig
// with the document fetched and checked and sig.expanded set to the
// statement a condition and maxAge see.
func (v *Verifier) detachedFor(ctx context.Context, t *oci.Target, sig *Signature, want string) *Signature {
	if sig == nil || sig.statement == nil {
		return nil
	}
	var st struct {
		Predicate json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(sig.statement.raw, &st); err != nil {
		return nil
	}
	p, err := attest.ParseDetachedPredicate(st.Predicate)
	if err != nil {
		if sig.err == nil {
			sig.fail("detached", fmt.Errorf("%w: %w", ErrMalformed, err))
		}
		return sig
	}
	if p.PredicateType != want {
		return nil
	}
	sig.Detached = p
	if sig.err != nil {
		return sig
	}
	doc, err := v.fetchDetached(ctx, t, p)
	if err != nil {
		sig.fail("detached", err)
		return sig
	}
	sig.check("detached", Pass, fmt.Sprintf("document %s (%d bytes, %s) matches the signed statement", p.Digest, p.Size, p.MediaType))
	sig.expanded, sig.summary, sig.partial = expandStatement(sig.statement.raw, want, doc)
	return sig
}

// detachedDoc is what a condition sees of a fetched document.
type detachedDoc struct {
	whole   []byte         // the document, when under the memory cap
	reduced map[string]any // else its small top-level members
	summary map[string]any
}

// fetchDetached reads the document p names: the artifact's manifest must
// exist and hold one layer of p's digest, size and media type; the blob is
// streamed through its digest, refused unread over the cap.
func (v *Verifier) fetchDetached(ctx context.Context, t *oci.Target, p *attest.DetachedPredicate) (*detachedDoc, error) {
	limit := v.maxDetached
	if limit <= 0 {
		limit = DefaultMaxDetachedBytes
	}
	rc, err := attest.OpenDetached(ctx, v.client, t, p, limit, ErrDetachedPredicate, "the signed statement")
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readDetached(rc, p, v.memCap())
}

// readDetached streams a document through its digest check (and, over
// memCap, its summary): at most p.Size+1 bytes are read.
func readDetached(r io.Reader, p *attest.DetachedPredicate, memCap int64) (*detachedDoc, error) {
	h := sha256.New()
	counted := &oci.CountingReader{R: io.LimitReader(r, p.Size+1)}
	tee := io.TeeReader(counted, h)
	doc := &detachedDoc{}
	var sumErr error
	if p.Size <= memCap {
		data, err := io.ReadAll(tee)
		if err != nil {
			return nil, fmt.Errorf("%w: reading document %s: %w", ErrDetachedPredicate, p.Digest, err)
		}
		doc.whole = data
	} else {
		doc.reduced, doc.summary, sumErr = summarize(bufio.NewReaderSize(tee, 1<<16))
		if _, err := io.Copy(io.Discard, tee); err != nil {
			return nil, fmt.Errorf("%w: reading document %s: %w", ErrDetachedPredicate, p.Digest, err)
		}
	}
	if counted.N != p.Size {
		return nil, fmt.Errorf("%w: document %s is %s bytes, the signed statement says %d", ErrDetachedPredicate, p.Digest, sizeSeen(counted.N, p.Size), p.Size)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != p.Digest {
		return nil, fmt.Errorf("%w: the document read hashes to %s, the signed statement names %s (it was replaced or damaged)", ErrDetachedPredicate, got, p.Digest)
	}
	if doc.whole != nil {
		doc.summary = summaryOf(doc.whole)
	} else if sumErr != nil {
		// The right document, but not JSON a condition can read.
		doc.reduced, doc.summary = nil, nil
	}
	return doc, nil
}

func sizeSeen(n, want int64) string {
	if n > want {
		return fmt.Sprintf("more than %d", want)
	}
	return fmt.Sprint(n)
}

// expandStatement is the statement a condition and maxAge see for a
// detached predicate: the signed statement's subjects, the document's
// predicate type, and the document (whole, or its reduced form).
func expandStatement(raw []byte, predicateType string, doc *detachedDoc) ([]byte, map[string]any, bool) {
	var st map[string]any
	if json.Unmarshal(raw, &st) != nil {
		return nil, nil, false
	}
	out := map[string]any{"_type": st["_type"], "subject": st["subject"], "predicateType": predicateType}
	partial := doc.whole == nil
	if doc.whole != nil {
		out["predicate"] = json.RawMessage(doc.whole)
	} else if doc.reduced != nil {
		out["predicate"] = doc.reduced
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, nil, false
	}
	return b, doc.summary, partial
}

// summarize reads a JSON object's top-level members: members of at most
// summaryMemberBytes are kept (reduced); arrays are streamed element by
// element and counted. The summary (see docs/attestations.md) holds
// counts (top-level array lengths), licenses (distinct license IDs, names
// and expressions of CycloneDX components and SPDX packages; absent when
// there are more than summaryLicenses) and omitted (the top-level members
// left out of reduced).
func summarize(r io.Reader) (map[string]any, map[string]any, error) {
	return summarizeFrom(json.NewDecoder(r))
}

// summarizeFrom is summarize of the JSON object dec reads next: it leaves
// dec past the object's end, so the object may be a member of a larger one
// (an attached statement's predicate, see conditionView).
func summarizeFrom(dec *json.Decoder) (map[string]any, map[string]any, error) {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, errors.New("the document is not a JSON object")
	}
	reduced := map[string]any{}
	counts := map[string]any{}
	omitted := []any{}
	lic := licenseSet{seen: map[string]bool{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key, _ := tok.(string)
		if !dec.More() {
			return nil, nil, errors.New("truncated")
		}
		n, kept, err := summarizeMember(dec, key, &lic)
		if err != nil {
			return nil, nil, err
		}
		if n >= 0 {
			counts[key] = int64(n)
		}
		if kept != nil {
			reduced[key] = kept
		} else {
			omitted = append(omitted, key)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	summary := map[string]any{"counts": counts, "omitted": omitted}
	if !lic.over {
		summary["licenses"] = lic.list
	}
	return reduced, summary, nil
}

// summarizeMember reads one member's value: an array is streamed (its
// length returned), anything else read whole. kept is the value when small
// enough, else nil.
func summarizeMember(dec *json.Decoder, key string, lic *licenseSet) (int, any, error) {
	var first json.RawMessage
	// Peek: an array starts with '['; decode a non-array whole.
	tok, err := dec.Token()
	if err != nil {
		return -1, nil, err
	}
	if tok != json.Delim('[') {
		if d, ok := tok.(json.Delim); ok && d == '{' {
			// An object: read the rest of it as raw members.
			obj := map[string]json.RawMessage{}
			size := 0
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return -1, nil, err
				}
				if err := dec.Decode(&first); err != nil {
					return -1, nil, err
				}
				size += len(first)
				if size <= summaryMemberBytes {
					obj[fmt.Sprint(kt)] = slices.Clone(first)
				} else if !numbersFit(first) {
					return -1, nil, errNumberRange
				}
			}
			if _, err := dec.Token(); err != nil {
				return -1, nil, err
			}
			if size > summaryMemberBytes {
				return -1, nil, nil
			}
			var v any
			b, _ := json.Marshal(obj)
			if err := json.Unmarshal(b, &v); err != nil {
				return -1, nil, err
			}
			return -1, v, nil
		}
		return -1, tok, nil
	}
	n, size := 0, 0
	kept := []any{}
	for dec.More() {
		var el json.RawMessage
		if err := dec.Decode(&el); err != nil {
			return -1, nil, err
		}
		n++
		if key == "components" || key == "packages" {
			lic.addFrom(el)
		}
		size += len(el)
		if size <= summaryMemberBytes {
			var v any
			if err := json.Unmarshal(el, &v); err != nil {
				return -1, nil, err
			}
			kept = append(kept, v)
		} else if !numbersFit(el) {
			return -1, nil, errNumberRange
		} else {
			kept = nil
		}
	}
	if _, err := dec.Token(); err != nil {
		return -1, nil, err
	}
	if size > summaryMemberBytes {
		return n, nil, nil
	}
	return n, kept, nil
}

// licenseSet collects distinct licenses, giving up (over) past the cap so a
// condition never sees a partial list.
type licenseSet struct {
	seen map[string]bool
	list []any
	over bool
}

func (l *licenseSet) add(s string) {
	if s == "" || l.over || l.seen[s] {
		return
	}
	if len(l.seen) == summaryLicenses {
		l.over, l.list, l.seen = true, nil, nil
		return
	}
	l.seen[s] = true
	l.list = append(l.list, s)
}

// addFrom adds a CycloneDX component's or an SPDX package's licenses.
func (l *licenseSet) addFrom(el json.RawMessage) {
	var c struct {
		Licenses []struct {
			License struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"license"`
			Expression string `json:"expression"`
		} `json:"licenses"`
		Concluded string `json:"licenseConcluded"`
		Declared  string `json:"licenseDeclared"`
	}
	if json.Unmarshal(el, &c) != nil {
		return
	}
	for _, x := range c.Licenses {
		l.add(x.License.ID)
		l.add(x.License.Name)
		l.add(x.Expression)
	}
	for _, s := range []string{c.Concluded, c.Declared} {
		if s != "NOASSERTION" && s != "NONE" {
			l.add(s)
		}
	}
}

// summaryOf is the summary of a document held whole.
func summaryOf(doc []byte) map[string]any {
	_, s, err := summarize(bytes.NewReader(doc))
	if err != nil {
		return nil
	}
	return s
}

// omittedOf is the summary's list of the members left out of a partial
// document.
func omittedOf(summary map[string]any) []string {
	list, _ := summary["omitted"].([]any)
	out := make([]string, 0, len(list))
	for _, k := range list {
		if s, ok := k.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
