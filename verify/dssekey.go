package verify

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"hash/maphash"
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
// It reads obj in place: a 100 MB SBOM is checked without a tree or a
// token per value (garbage the collector would let grow to the
// statement's size again). Anything it is not sure of — a member name
// with an escape, a number it would have to convert — it reports as not
// plain, leaving it to protojson.
func plainStruct(obj []byte) bool {
	ok, _ := checkStruct(obj)
	return ok
}

// checkStruct is plainStruct, also saying how many member names it
// compared or looked up.
func checkStruct(obj []byte) (bool, int) {
	if !utf8.Valid(obj) || hasSurrogateEscape(obj) {
		return false, 0
	}
	c := structCheck{b: obj, seed: maphash.MakeSeed()}
	c.i = c.ws(0)
	if c.i >= len(obj) || obj[c.i] != '{' || !c.value() {
		return false, c.compares
	}
	return c.ws(c.i) == len(obj), c.compares
}

// structCheck is plainStruct's reader; keys holds the member names of the
// objects open (slices of b), objects where each one's names start. An
// object with more than smallObject members has its names' hashes in a
// set instead (a linear search would make a flat map of a million
// members a trillion comparisons); sets are kept for reuse.
type structCheck struct {
	b        []byte
	i        int
	depth    int
	keys     [][]byte
	objects  []int
	seed     maphash.Seed
	sets     []map[uint64]struct{}
	setsUsed int
	compares int // member names compared or looked up (for tests)
}

// smallObject is the member count up to which names are compared one by
// one.
const smallObject = 32

// newSet returns an empty set for an object's names.
func (c *structCheck) newSet() map[uint64]struct{} {
	if c.setsUsed == len(c.sets) {
		c.sets = append(c.sets, make(map[uint64]struct{}))
	}
	c.setsUsed++
	return c.sets[c.setsUsed-1]
}

// addKey records a member name of the innermost object; false when it
// may repeat one (names are compared as written, none has an escape; a
// hash seen twice is left to protojson even if the names differ).
func (c *structCheck) addKey(set *map[uint64]struct{}, key []byte) bool {
	first := c.objects[len(c.objects)-1]
	if *set == nil {
		for _, k := range c.keys[first:] {
			c.compares++
			if bytes.Equal(k, key) {
				return false
			}
		}
		if c.keys = append(c.keys, key); len(c.keys)-first <= smallObject {
			return true
		}
		*set = c.newSet()
		for _, k := range c.keys[first:] {
			(*set)[maphash.Bytes(c.seed, k)] = struct{}{}
		}
		c.keys = c.keys[:first]
		return true
	}
	c.compares++
	h := maphash.Bytes(c.seed, key)
	if _, seen := (*set)[h]; seen {
		return false
	}
	(*set)[h] = struct{}{}
	return true
}

func (c *structCheck) ws(i int) int {
	for i < len(c.b) && (c.b[i] == ' ' || c.b[i] == '\t' || c.b[i] == '\n' || c.b[i] == '\r') {
		i++
	}
	return i
}

// value reads the value at c.i, leaving c.i after it.
func (c *structCheck) value() bool {
	if c.i >= len(c.b) {
		return false
	}
	switch ch := c.b[c.i]; {
	case ch == '{':
		return c.object()
	case ch == '[':
		return c.array()
	case ch == '"':
		end, _, ok := c.str(c.i)
		c.i = end
		return ok
	case ch == 't':
		return c.literal("true")
	case ch == 'f':
		return c.literal("false")
	case ch == 'n':
		return c.literal("null")
	default:
		return c.number()
	}
}

func (c *structCheck) literal(word string) bool {
	if !bytes.HasPrefix(c.b[c.i:], []byte(word)) {
		return false
	}
	c.i += len(word)
	return true
}

func (c *structCheck) object() bool {
	if c.depth++; c.depth >= 1000 {
		return false
	}
	c.objects = append(c.objects, len(c.keys))
	var set map[uint64]struct{}
	defer func() {
		if set != nil {
			clear(set)
			c.setsUsed--
		}
		c.keys = c.keys[:c.objects[len(c.objects)-1]]
		c.objects = c.objects[:len(c.objects)-1]
		c.depth--
	}()
	c.i = c.ws(c.i + 1)
	if c.i < len(c.b) && c.b[c.i] == '}' {
		c.i++
		return true
	}
	for {
		end, esc, ok := c.str(c.i)
		if !ok || esc {
			return false // an escaped name is compared unescaped: protojson decides
		}
		if !c.addKey(&set, c.b[c.i+1:end-1]) {
			return false
		}
		if c.i = c.ws(end); c.i >= len(c.b) || c.b[c.i] != ':' {
			return false
		}
		c.i = c.ws(c.i + 1)
		if !c.value() {
			return false
		}
		if more, ok := c.after('}'); !more {
			return ok
		}
	}
}

func (c *structCheck) array() bool {
	if c.depth++; c.depth >= 1000 {
		return false
	}
	defer func() { c.depth-- }()
	c.i = c.ws(c.i + 1)
	if c.i < len(c.b) && c.b[c.i] == ']' {
		c.i++
		return true
	}
	for {
		if !c.value() {
			return false
		}
		if more, ok := c.after(']'); !more {
			return ok
		}
	}
}

// after reads what follows a member or element: a comma (more is true), or
// the container's close (ok is true), else the JSON is not well formed.
func (c *structCheck) after(closer byte) (more, ok bool) {
	c.i = c.ws(c.i)
	if c.i >= len(c.b) {
		return false, false
	}
	switch c.b[c.i] {
	case ',':
		c.i = c.ws(c.i + 1)
		return true, true
	case closer:
		c.i++
		return false, true
	}
	return false, false
}

// str reads the string at i: the index after its closing quote and whether
// it has escapes; ok is false for a control character or a bad escape.
func (c *structCheck) str(i int) (int, bool, bool) {
	if i >= len(c.b) || c.b[i] != '"' {
		return 0, false, false
	}
	esc := false
	for j := i + 1; j < len(c.b); j++ {
		switch ch := c.b[j]; {
		case ch == '"':
			return j + 1, esc, true
		case ch < 0x20:
			return 0, false, false
		case ch == '\\':
			esc = true
			if j+1 >= len(c.b) {
				return 0, false, false
			}
			switch c.b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if _, ok := hex4(c.b, j+2); !ok {
					return 0, false, false
				}
				j += 5
			default:
				return 0, false, false
			}
		}
	}
	return 0, false, false
}

// number reads a JSON number. One of up to 15 digits with no exponent is
// always a finite double; any other is converted to be sure.
func (c *structCheck) number() bool {
	start, j := c.i, c.i
	if j < len(c.b) && c.b[j] == '-' {
		j++
	}
	digits := func() int {
		n := 0
		for j < len(c.b) && '0' <= c.b[j] && c.b[j] <= '9' {
			j++
			n++
		}
		return n
	}
	first := j
	n := digits()
	if n == 0 || (n > 1 && c.b[first] == '0') {
		return false
	}
	simple := true
	if j < len(c.b) && c.b[j] == '.' {
		j++
		f := digits()
		if f == 0 {
			return false
		}
		n += f
	}
	if j < len(c.b) && (c.b[j] == 'e' || c.b[j] == 'E') {
		simple = false
		j++
		if j < len(c.b) && (c.b[j] == '+' || c.b[j] == '-') {
			j++
		}
		if digits() == 0 {
			return false
		}
	}
	c.i = j
	if simple && n <= 15 {
		return true
	}
	_, err := strconv.ParseFloat(string(c.b[start:j]), 64)
	return err == nil
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
