package attest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/signet-dev/signet/internal/lazyre"
	"github.com/signet-dev/signet/internal/suggest"
)

// valuePath is where a value lies in a document, as a linked list from the
// value up to the root, built only as deep as validation goes.
type valuePath struct {
	parent *valuePath
	key    string // a field; or, with index >= 0, an array's element
	index  int
	name   string // the element's "name" field, when it has one
}

func (p *valuePath) field(k string) *valuePath { return &valuePath{parent: p, key: k, index: -1} }

func (p *valuePath) elem(i int, v any) *valuePath {
	e := &valuePath{parent: p, index: i}
	if m, ok := v.(map[string]any); ok {
		e.name, _ = m["name"].(string)
	}
	return e
}

func (p *valuePath) depth() int {
	n := 0
	for ; p != nil; p = p.parent {
		n++
	}
	return n
}

// String renders the path as a person writes it: components[3].licenses[0],
// with the name of the innermost named element: components[3] (name "zlib").
func (p *valuePath) String() string {
	var segs []*valuePath
	for q := p; q != nil; q = q.parent {
		segs = append(segs, q)
	}
	named := -1
	for i, q := range segs { // innermost first
		if q.index >= 0 && q.name != "" {
			named = i
			break
		}
	}
	var b strings.Builder
	for i := len(segs) - 1; i >= 0; i-- {
		q := segs[i]
		switch {
		case q.index >= 0:
			fmt.Fprintf(&b, "[%d]", q.index)
		case b.Len() == 0:
			b.WriteString(q.key)
		case isIdentifier(q.key):
			b.WriteString("." + q.key)
		default:
			fmt.Fprintf(&b, "[%q]", q.key)
		}
		if i == named {
			fmt.Fprintf(&b, " (name %q)", q.name)
		}
	}
	if b.Len() == 0 {
		return "the document"
	}
	return b.String()
}

func isIdentifier(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// schemaError is the first way a value breaks its schema.
type schemaError struct {
	path *valuePath
	msg  string
	// unknown is a field that is not allowed, and known the fields that
	// are: the guess at what was meant is made only when the error is shown
	// (alternatives that fail are many, and mostly not shown).
	unknown string
	known   map[string]*jsonSchema
	// wrongType marks a value of another JSON type than the schema's: of
	// alternatives that fail, one that got the type right is likelier meant.
	wrongType bool
}

func (e *schemaError) Error() string { return e.path.String() + ": " + e.message() }

// message says what is wrong, without where.
func (e *schemaError) message() string {
	if e.unknown == "" {
		return e.msg
	}
	if guess := suggest.Nearest(e.unknown, sortedKeys(e.known)); guess != "" {
		return fmt.Sprintf("%s (did you mean %q?)", e.msg, guess)
	}
	return e.msg
}

func fail(p *valuePath, format string, a ...any) *schemaError {
	return &schemaError{path: p, msg: fmt.Sprintf(format, a...)}
}

// validate checks a decoded JSON value (as encoding/json decodes into any)
// against s and returns the first error.
func (s *jsonSchema) validate(v any, p *valuePath) *schemaError {
	if s.ref != nil {
		return s.ref.validate(v, p)
	}
	if s.always != nil {
		if !*s.always {
			return fail(p, "is not allowed here")
		}
		return nil
	}
	if len(s.types) > 0 && !hasType(s.types, v) {
		err := fail(p, "must be %s, not %s", orList(articled(s.types)), jsonKind(v))
		err.wrongType = true
		return err
	}
	if len(s.enum) > 0 && !containsValue(s.enum, v) {
		return fail(p, "%s is not one of %s", short(v), enumList(s.enum))
	}
	if s.isConst && !reflect.DeepEqual(s.konst, v) {
		return fail(p, "%s is not %s", short(v), short(s.konst))
	}
	var err *schemaError
	switch v := v.(type) {
	case map[string]any:
		err = s.validateObject(v, p)
	case []any:
		err = s.validateArray(v, p)
	case string:
		err = s.validateString(v, p)
	case float64:
		err = s.validateNumber(v, p)
	}
	if err != nil {
		return err
	}
	return s.validateCombined(v, p)
}

func (s *jsonSchema) validateObject(m map[string]any, p *valuePath) *schemaError {
	// A misspelt field first: it also explains a required one missing.
	if s.noExtra {
		if k := firstKey(m, func(k string) bool { return s.props[k] == nil }); k != "" {
			err := fail(p, "field %q is not allowed here", k)
			err.unknown, err.known = k, s.props
			return err
		}
	}
	for _, r := range s.required {
		if _, ok := m[r]; !ok {
			return fail(p, "required field %q is missing", r)
		}
	}
	// Every field is checked, and of several errors the one under the
	// first field in sorted order is reported, so the message is stable.
	var first *schemaError
	var firstAt string
	for k, v := range m {
		sub, ok := s.props[k]
		if !ok {
			sub = s.extra
		}
		if sub == nil || first != nil && k > firstAt {
			continue
		}
		if err := sub.validate(v, p.field(k)); err != nil {
			first, firstAt = err, k
		}
	}
	return first
}

// firstKey returns the first key of m in sorted order that pred holds for,
// or "".
func firstKey(m map[string]any, pred func(string) bool) string {
	found := false
	var first string
	for k := range m {
		if pred(k) && (!found || k < first) {
			first, found = k, true
		}
	}
	return first
}

func (s *jsonSchema) validateArray(a []any, p *valuePath) *schemaError {
	if len(a) < s.minItems {
		return fail(p, "has %d items, fewer than the %d it needs", len(a), s.minItems)
	}
	if s.maxItems >= 0 && len(a) > s.maxItems {
		return fail(p, "has %d items, more than the %d it may have", len(a), s.maxItems)
	}
	for i, e := range a {
		if err := s.validateItem(i, e, p); err != nil {
			return err
		}
	}
	if s.unique {
		seen := uniqueItems{}
		for i, e := range a {
			if err := seen.add(i, e, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateItem checks the i-th element of an array.
func (s *jsonSchema) validateItem(i int, e any, p *valuePath) *schemaError {
	switch {
	case s.items != nil:
		return s.items.validate(e, p.elem(i, e))
	case i < len(s.tuple):
		return s.tuple[i].validate(e, p.elem(i, e))
	case s.tuple != nil && s.noExtraItems:
		return fail(p, "may have only %d items", len(s.tuple))
	}
	return nil
}

// uniqueItems finds repeated array elements by the first 64 bits of the
// SHA-256 of their canonical form: a large SBOM's components are not held,
// and a 1 GB SBOM's millions of them cost about 25 bytes each. Two
// different elements taken for equal (a 2^-64 chance a pair) are refused,
// never the reverse: a repeat is always found.
type uniqueItems map[uint64]int32

func (u uniqueItems) add(i int, e any, p *valuePath) *schemaError {
	sum := sha256.Sum256(canonical(nil, e))
	key := binary.BigEndian.Uint64(sum[:8])
	if j, ok := u[key]; ok {
		return fail(p.elem(i, e), "repeats %s; the items must be unique", p.elem(int(j), e))
	}
	if i > math.MaxInt32 {
		return fail(p, "has more than %d items, more than Signet checks for repeats", math.MaxInt32)
	}
	u[key] = int32(i)
	return nil
}

// canonical appends a decoded JSON value to b so that equal values (object
// keys in any order) give the same bytes: each value is tagged by its type,
// and strings and containers are length-prefixed.
func canonical(b []byte, v any) []byte {
	switch v := v.(type) {
	case map[string]any:
		b = strconv.AppendInt(append(b, '{'), int64(len(v)), 10)
		for _, k := range sortedKeys(v) {
			b = canonical(canonical(b, k), v[k])
		}
	case []any:
		b = strconv.AppendInt(append(b, '['), int64(len(v)), 10)
		for _, e := range v {
			b = canonical(b, e)
		}
	case string:
		b = append(append(strconv.AppendInt(append(b, 's'), int64(len(v)), 10), ':'), v...)
	case float64:
		b = append(strconv.AppendFloat(append(b, 'n'), v, 'g', -1, 64), ';')
	case bool:
		b = strconv.AppendBool(append(b, 'b'), v)
	case nil:
		b = append(b, 'z')
	}
	return b
}

func (s *jsonSchema) validateString(v string, p *valuePath) *schemaError {
	n := utf8.RuneCountInString(v)
	switch {
	case n < s.minLen && n == 0:
		return fail(p, "is empty")
	case n < s.minLen:
		return fail(p, "%s is shorter than %d characters", short(v), s.minLen)
	case s.maxLen >= 0 && n > s.maxLen:
		return fail(p, "%s is longer than %d characters", short(v), s.maxLen)
	case s.pattern != nil && !s.pattern.MatchString(v):
		return fail(p, "%s does not match the pattern %s", short(v), s.pattern)
	case s.format == "date-time" && !isDateTime(v):
		return fail(p, "%s is not a date and time as RFC 3339 writes them, like 2026-11-30T10:00:00Z", short(v))
	case s.format == "uri" && !uriPattern.MatchString(v):
		return fail(p, "%s is not an absolute URI", short(v))
	}
	return nil
}

// uriPattern matches an absolute URI (RFC 3986): a scheme, a colon, and no
// white space.
var uriPattern = lazyre.New(`^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$`)

// isDateTime reports whether s is an RFC 3339 date-time (whose T and Z may
// be lower case).
func isDateTime(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
	return err == nil
}

func (s *jsonSchema) validateNumber(v float64, p *valuePath) *schemaError {
	switch {
	case s.min != nil && v < *s.min:
		return fail(p, "%v is less than %v", v, *s.min)
	case s.max != nil && v > *s.max:
		return fail(p, "%v is more than %v", v, *s.max)
	}
	return nil
}

// validateCombined checks allOf, anyOf, oneOf and if/then/else.
func (s *jsonSchema) validateCombined(v any, p *valuePath) *schemaError {
	for _, sub := range s.allOf {
		if err := sub.validate(v, p); err != nil {
			return err
		}
	}
	if len(s.anyOf) > 0 {
		var errs []*schemaError
		for _, sub := range s.anyOf {
			err := sub.validate(v, p)
			if err == nil {
				errs = nil
				break
			}
			errs = append(errs, err)
		}
		if errs != nil {
			return closest(errs)
		}
	}
	if len(s.oneOf) > 0 {
		var errs []*schemaError
		for _, sub := range s.oneOf {
			if err := sub.validate(v, p); err != nil {
				errs = append(errs, err)
			}
		}
		switch matched := len(s.oneOf) - len(errs); {
		case matched == 0:
			return closest(errs)
		case matched > 1:
			return fail(p, "fits %d of the forms the schema allows here, and must fit exactly one", matched)
		}
	}
	if s.ifS != nil {
		if s.ifS.validate(v, p) == nil {
			if s.thenS != nil {
				return s.thenS.validate(v, p)
			}
		} else if s.elseS != nil {
			return s.elseS.validate(v, p)
		}
	}
	return nil
}

// closest picks, of the errors of alternatives that all failed, the one
// that got furthest into the value, and then one that got its type right:
// most likely the alternative meant.
func closest(errs []*schemaError) *schemaError {
	best := errs[0]
	for _, e := range errs[1:] {
		d, bd := e.path.depth(), best.path.depth()
		if d > bd || d == bd && best.wrongType && !e.wrongType {
			best = e
		}
	}
	return best
}

func hasType(types []string, v any) bool {
	for _, t := range types {
		switch t {
		case "object":
			if _, ok := v.(map[string]any); ok {
				return true
			}
		case "array":
			if _, ok := v.([]any); ok {
				return true
			}
		case "string":
			if _, ok := v.(string); ok {
				return true
			}
		case "number":
			if _, ok := v.(float64); ok {
				return true
			}
		case "integer":
			if f, ok := v.(float64); ok && f == math.Trunc(f) {
				return true
			}
		case "boolean":
			if _, ok := v.(bool); ok {
				return true
			}
		case "null":
			if v == nil {
				return true
			}
		}
	}
	return false
}

func jsonKind(v any) string {
	switch v := v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case float64:
		if v == math.Trunc(v) {
			return "the number " + strconv.FormatFloat(v, 'f', -1, 64)
		}
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func articled(types []string) []string {
	names := map[string]string{"object": "an object", "array": "a list", "string": "a string", "number": "a number",
		"integer": "an integer", "boolean": "a boolean", "null": "null"}
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = names[t]
	}
	return out
}

func orList(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

func containsValue(list []any, v any) bool {
	for _, e := range list {
		if reflect.DeepEqual(e, v) {
			return true
		}
	}
	return false
}

// enumList lists an enum's values, a dozen at most.
func enumList(list []any) string {
	var parts []string
	for i, e := range list {
		if i == 12 {
			parts = append(parts, fmt.Sprintf("... (%d in all)", len(list)))
			break
		}
		parts = append(parts, short(e))
	}
	return strings.Join(parts, ", ")
}

// short renders a value for a message, cut to a readable length.
func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
