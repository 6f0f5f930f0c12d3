package verify

import (
	"bytes"

	"github.com/signet-dev/signet/oci"
	"github.com/sigstore/sigstore-go/pkg/bundle"
)

// bigBundleBytes is the bundle size from which the DSSE payload is cut out
// of the JSON and decoded apart (see unmarshalBundle).
var bigBundleBytes = 1 << 20

// unmarshalBundle parses a Sigstore bundle. A large one (an attached 100 MB
// SBOM) would be held three times by protojson — the JSON, a copy of the
// payload's base64 text, the decoded payload — so it is split first (see
// oci.SplitBundle) and parsed as unmarshalParts does. What the splitter is
// not sure of is left to protojson whole, which then decides as it always
// does.
func unmarshalBundle(data []byte) (*bundle.Bundle, error) {
	if len(data) >= bigBundleBytes {
		if parts, err := oci.SplitBundle(bytes.NewReader(data), int64(len(data))); err == nil {
			if b, ok := unmarshalParts(parts); ok {
				return b, nil
			}
		}
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return &b, nil
}

// unmarshalParts parses a split bundle: protojson reads the JSON (its
// payload string empty) and the decoded payload is put in its place. ok is
// false when protojson does not read the envelope's payload as that empty
// string, or refuses the JSON: the caller then parses the bundle whole, so
// what is refused is refused in protojson's words.
func unmarshalParts(parts *oci.BundleParts) (*bundle.Bundle, bool) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(parts.JSON); err != nil {
		return nil, false
	}
	env := b.GetDsseEnvelope()
	if env == nil || len(env.GetPayload()) != 0 {
		return nil, false
	}
	env.Payload = parts.Payload
	return &b, true
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
