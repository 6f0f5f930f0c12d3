package verify

import (
	"bytes"
	"encoding/base64"

	"github.com/sigstore/sigstore-go/pkg/bundle"
)

// bigBundleBytes is the bundle size from which the DSSE payload is cut out
// of the JSON and decoded apart (see unmarshalBundle).
var bigBundleBytes = 1 << 20

// unmarshalBundle parses a Sigstore bundle. A large one (an attached 100 MB
// SBOM) would be held three times by protojson — the JSON, a copy of the
// payload's base64 text, the decoded payload — so its dsseEnvelope.payload
// is found by a plain scan, decoded straight from the JSON, and the rest
// parsed by sigstore-go with an empty payload in its place. Anything the
// scan is not sure of (escapes, another spelling of the names, a repeated
// member, base64 other than padded standard) is left to protojson whole,
// which then decides as it always does.
func unmarshalBundle(data []byte) (*bundle.Bundle, error) {
	var b bundle.Bundle
	if len(data) >= bigBundleBytes {
		if start, end, ok := findPayload(data); ok {
			if payload, ok := decodeStd(data[start:end]); ok {
				small := make([]byte, 0, len(data)-(end-start))
				small = append(append(small, data[:start]...), data[end:]...)
				if err := b.UnmarshalJSON(small); err != nil {
					return nil, err
				}
				if env := b.GetDsseEnvelope(); env != nil && len(env.GetPayload()) == 0 {
					env.Payload = payload
					return &b, nil
				}
				b = bundle.Bundle{}
			}
		}
	}
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return &b, nil
}

// decodeStd decodes padded standard base64 (what Signet and cosign write),
// refusing anything else so protojson decides those.
func decodeStd(s []byte) ([]byte, bool) {
	if len(s)%4 != 0 {
		return nil, false
	}
	for _, c := range s {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=') {
			return nil, false
		}
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Strict().Decode(out, s)
	if err != nil {
		return nil, false
	}
	return out[:n], true
}

// findPayload returns where the text of the top-level object's
// "dsseEnvelope" member's "payload" string is in data (between its quotes),
// if both members appear exactly once, spelled so, and the string has no
// escapes.
func findPayload(data []byte) (int, int, bool) {
	s := &scan{b: data}
	env, ok := s.member(s.ws(0), "dsseEnvelope")
	if !ok || env < 0 || s.b[env] != '{' {
		return 0, 0, false
	}
	p, ok := s.member(env, "payload")
	if !ok || p < 0 || s.b[p] != '"' {
		return 0, 0, false
	}
	end, esc, ok := s.str(p)
	if !ok || esc {
		return 0, 0, false
	}
	return p + 1, end - 1, true
}

// scan is a minimal JSON reader: just enough to find a member's value, not
// a validator (protojson validates what is parsed after).
type scan struct{ b []byte }

func (s *scan) ws(i int) int {
	for i < len(s.b) && (s.b[i] == ' ' || s.b[i] == '\t' || s.b[i] == '\n' || s.b[i] == '\r') {
		i++
	}
	return i
}

// member returns where the value of the member key of the object at i
// starts (-1 if it has none); ok is false when the object cannot be read
// or the key appears twice or escaped.
func (s *scan) member(i int, key string) (int, bool) {
	if i >= len(s.b) || s.b[i] != '{' {
		return -1, false
	}
	at := -1
	i = s.ws(i + 1)
	if i < len(s.b) && s.b[i] == '}' {
		return -1, true
	}
	for i < len(s.b) {
		end, esc, ok := s.str(i)
		if !ok || esc {
			return -1, false
		}
		k := s.b[i+1 : end-1]
		i = s.ws(end)
		if i >= len(s.b) || s.b[i] != ':' {
			return -1, false
		}
		i = s.ws(i + 1)
		if string(k) == key {
			if at >= 0 {
				return -1, false
			}
			at = i
		}
		if i, ok = s.value(i); !ok {
			return -1, false
		}
		i = s.ws(i)
		if i < len(s.b) && s.b[i] == ',' {
			i = s.ws(i + 1)
			continue
		}
		if i < len(s.b) && s.b[i] == '}' {
			return at, true
		}
		return -1, false
	}
	return -1, false
}

// str reads the string at i: the index after its closing quote, and whether
// it has escapes.
func (s *scan) str(i int) (int, bool, bool) {
	if i >= len(s.b) || s.b[i] != '"' {
		return 0, false, false
	}
	esc := false
	for j := i + 1; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			esc = true
			j++
		case '"':
			return j + 1, esc, true
		}
	}
	return 0, false, false
}

// value skips the value at i.
func (s *scan) value(i int) (int, bool) {
	if i >= len(s.b) {
		return 0, false
	}
	switch s.b[i] {
	case '"':
		end, _, ok := s.str(i)
		return end, ok
	case '{', '[':
		depth := 0
		for j := i; j < len(s.b); j++ {
			switch s.b[j] {
			case '"':
				end, _, ok := s.str(j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	}
	j := i
	for j < len(s.b) && !bytes.ContainsRune([]byte(",}] \t\n\r"), rune(s.b[j])) {
		j++
	}
	return j, j > i
}
