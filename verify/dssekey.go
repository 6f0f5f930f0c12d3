package verify

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	in_toto "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"google.golang.org/protobuf/encoding/protojson"
)

// sigstore-go's limits on a statement's subjects (verify/signature.go).
const (
	maxSubjects       = 1024
	maxSubjectDigests = 32
)

// checkSubjectsAsSigstore refuses what sigstore-go's subject matching
// refuses besides a missing digest: too many subjects or digests, and a
// subject digest (of any subject) that is not hex.
func checkSubjectsAsSigstore(st *statement) error {
	if len(st.Subject) > maxSubjects {
		return fmt.Errorf("%w: the statement names %d subjects, more than %d", ErrMalformed, len(st.Subject), maxSubjects)
	}
	for _, s := range st.Subject {
		if len(s.Digest) > maxSubjectDigests {
			return fmt.Errorf("%w: a subject of the statement has %d digests, more than %d", ErrMalformed, len(s.Digest), maxSubjectDigests)
		}
		for alg, h := range s.Digest {
			if _, err := hex.DecodeString(h); err != nil {
				return fmt.Errorf("%w: the statement's %s digest of subject %q is not hex", ErrMalformed, alg, s.Name)
			}
		}
	}
	return nil
}

// bigStatementBytes is the statement size from which its predicate is
// checked apart from the rest (see protoStatementCheck).
var bigStatementBytes = 1 << 20

// protoStatementCheck refuses a statement sigstore-go's verifier refuses
// when it reads it as an in-toto protobuf message (protojson: a repeated
// member, a member it does not know such as "Subject", invalid UTF-8, a
// predicate that is not an object). A large statement is not parsed whole
// (its predicate would become a tree many times its size): the statement
// with its predicate replaced by {} goes to protojson, and the predicate
// to a streaming check that accepts only what protojson is sure to accept
// — anything else (a \u escape of a surrogate, a number out of range, deep
// nesting, a predicate the scan cannot find) goes to protojson whole.
func protoStatementCheck(raw []byte) error {
	if len(raw) >= bigStatementBytes {
		if ok, err := splitStatementCheck(raw); ok {
			return err
		}
	}
	return protojson.Unmarshal(raw, &in_toto.Statement{})
}

// splitStatementCheck is protoStatementCheck for a large statement; ok is
// false when only protojson on the whole can tell.
func splitStatementCheck(raw []byte) (bool, error) {
	s := &scan{b: raw}
	at, ok := s.member(s.ws(0), "predicate")
	if !ok || at < 0 || raw[at] != '{' {
		return false, nil
	}
	end, ok := s.value(at)
	if !ok {
		return false, nil
	}
	if !plainStruct(raw[at:end]) {
		return false, nil
	}
	rest := make([]byte, 0, len(raw)-(end-at)+2)
	rest = append(append(append(rest, raw[:at]...), "{}"...), raw[end:]...)
	return true, protojson.Unmarshal(rest, &in_toto.Statement{})
}

// plainStruct reports whether obj is a JSON object protojson surely reads
// as a google.protobuf.Struct: valid UTF-8, no escaped surrogates, no
// repeated member, numbers that are finite doubles, nesting under 1000.
func plainStruct(obj []byte) bool {
	if !utf8.Valid(obj) || hasSurrogateEscape(obj) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.UseNumber()
	type frame struct {
		keys    map[string]struct{} // nil for an array
		wantKey bool
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	stack := []frame{{keys: map[string]struct{}{}, wantKey: true}}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return len(stack) == 0
		}
		if err != nil || len(stack) > 1000 {
			return false
		}
		k, isStr := tok.(string)
		if isStr && len(stack) > 0 && stack[len(stack)-1].keys != nil && stack[len(stack)-1].wantKey {
			top := &stack[len(stack)-1]
			if _, dup := top.keys[k]; dup {
				return false
			}
			top.keys[k] = struct{}{}
			top.wantKey = false
			continue
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{keys: map[string]struct{}{}, wantKey: true})
				continue
			case '[':
				stack = append(stack, frame{})
				continue
			default:
				stack = stack[:len(stack)-1]
			}
		case json.Number:
			if _, err := strconv.ParseFloat(string(t), 64); err != nil {
				return false
			}
		}
		// A value ended: the object holding it wants a key next.
		if len(stack) > 0 && stack[len(stack)-1].keys != nil {
			stack[len(stack)-1].wantKey = true
		}
		if len(stack) == 0 && dec.More() {
			return false
		}
	}
}

// hasSurrogateEscape reports whether b holds a \u escape of a UTF-16
// surrogate (\uD800-\uDFFF) that is not half of a pair, which
// encoding/json and protojson read apart (a pair, as Python writes
// characters outside the BMP, they read alike).
func hasSurrogateEscape(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+1 < len(b) && b[i+1] != 'u' {
			i++
			continue
		}
		r, ok := hex4(b, i+2)
		if !ok {
			return true
		}
		i += 5
		switch {
		case r < 0xD800 || r > 0xDFFF:
		case r >= 0xDC00:
			return true
		default:
			lo, ok := hex4(b, i+3)
			if !ok || i+2 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 reads the 4 hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i < 0 || i+4 > len(b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[i:i+4]), 16, 32)
	return rune(v), err == nil
}

// checkKeyID refuses a signature whose keyid names another key than k, as
// the DSSE verifier sigstore-go uses does (it compares a keyid, when there
// is one, with the SHA256 fingerprint of the key).
func checkKeyID(keyID string, k trustedKey) error {
	if keyID == "" {
		return nil
	}
	pub, err := k.verifier.PublicKey()
	if err != nil {
		return fmt.Errorf("%w: reading key %s: %w", ErrBadSignature, k.name, err)
	}
	// A key without an SSH fingerprint has no id to compare (as there).
	if want, err := dsse.SHA256KeyID(pub); err == nil && want != keyID {
		return fmt.Errorf("%w: the envelope's signature names key id %s, not key %s", ErrBadSignature, printable(keyID), k.name)
	}
	return nil
}
