package attest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// jsonSchema is one compiled node of a JSON Schema (draft-07), for the
// keywords the CycloneDX schemas use. Annotations (title, description,
// examples, default, deprecated, $comment) are not checked, nor are formats
// other than date-time and uri (format is an annotation in later drafts,
// and validators differ on it; the CycloneDX schemas need uri to tell a
// signature algorithm's name from its URI).
type jsonSchema struct {
	where   string      // file#pointer, for messages about the schema itself
	always  *bool       // a boolean schema: true accepts anything, false nothing
	ref     *jsonSchema // $ref: in draft-07 it replaces every sibling keyword
	types   []string
	enum    []any
	konst   any
	isConst bool

	props    map[string]*jsonSchema
	required []string
	noExtra  bool        // additionalProperties: false
	extra    *jsonSchema // additionalProperties: a schema

	items          *jsonSchema   // items: one schema for every element
	tuple          []*jsonSchema // items: a schema per position
	noExtraItems   bool          // additionalItems: false, with a tuple
	minItems       int
	maxItems       int // -1: no limit
	unique         bool
	minLen, maxLen int // maxLen -1: no limit
	pattern        *regexp.Regexp
	format         string // date-time or uri; others are not checked
	min, max       *float64

	allOf, anyOf, oneOf []*jsonSchema
	ifS, thenS, elseS   *jsonSchema
}

// schemaAnnotations are keywords that do not constrain a value.
var schemaAnnotations = map[string]bool{
	"$schema": true, "$id": true, "$comment": true, "title": true, "description": true, "examples": true,
	"default": true, "deprecated": true, "meta:enum": true, "definitions": true,
}

// schemaCompiler compiles schema files, resolving $ref between them.
type schemaCompiler struct {
	files    map[string]any // file name → parsed JSON
	compiled map[string]*jsonSchema
	// replaced are whole files given as compiled schemas instead.
	replaced map[string]*jsonSchema
}

func newSchemaCompiler(files map[string][]byte, replaced map[string]*jsonSchema) (*schemaCompiler, error) {
	c := &schemaCompiler{files: map[string]any{}, compiled: map[string]*jsonSchema{}, replaced: replaced}
	for name, data := range files {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		c.files[name] = v
	}
	return c, nil
}

// at compiles the schema at a JSON pointer ("" for the root) of a file.
func (c *schemaCompiler) at(file, pointer string) (*jsonSchema, error) {
	key := file + "#" + pointer
	if s, ok := c.compiled[key]; ok {
		return s, nil
	}
	if s, ok := c.replaced[file]; ok && pointer == "" {
		return s, nil
	}
	doc, ok := c.files[file]
	if !ok {
		return nil, fmt.Errorf("schema %s is not known", file)
	}
	raw, err := resolvePointer(doc, pointer)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", key, err)
	}
	s := &jsonSchema{where: key}
	c.compiled[key] = s // before the children, so cycles end here
	if err := c.fill(s, file, pointer, raw); err != nil {
		return nil, err
	}
	return s, nil
}

func resolvePointer(doc any, pointer string) (any, error) {
	if pointer == "" {
		return doc, nil
	}
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[tok]
			if !ok {
				return nil, fmt.Errorf("no %q", tok)
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) {
				return nil, fmt.Errorf("no index %q", tok)
			}
			cur = v[i]
		default:
			return nil, fmt.Errorf("cannot descend into %q", tok)
		}
	}
	return cur, nil
}

// fill compiles the keywords of one schema object into s.
func (c *schemaCompiler) fill(s *jsonSchema, file, pointer string, raw any) error {
	if b, ok := raw.(bool); ok {
		s.always = &b
		return nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf("schema %s#%s is not an object", file, pointer)
	}
	s.maxItems, s.maxLen = -1, -1
	if ref, ok := m["$ref"].(string); ok {
		target, err := c.ref(file, ref)
		s.ref = target
		return err
	}
	sub := func(key string) (*jsonSchema, error) { return c.at(file, pointer+"/"+key) }
	for k, v := range m {
		var err error
		switch k {
		case "type":
			s.types, err = stringList(v)
		case "enum":
			s.enum, _ = v.([]any)
		case "const":
			s.konst, s.isConst = v, true
		case "properties":
			s.props = map[string]*jsonSchema{}
			props, _ := v.(map[string]any)
			for name := range props {
				if s.props[name], err = c.at(file, pointer+"/properties/"+escapePointer(name)); err != nil {
					return err
				}
			}
		case "required":
			s.required, err = stringList(v)
		case "additionalProperties":
			if b, ok := v.(bool); ok {
				s.noExtra = !b
			} else {
				s.extra, err = sub(k)
			}
		case "items":
			if list, ok := v.([]any); ok {
				for i := range list {
					t, err := c.at(file, fmt.Sprintf("%s/items/%d", pointer, i))
					if err != nil {
						return err
					}
					s.tuple = append(s.tuple, t)
				}
			} else {
				s.items, err = sub(k)
			}
		case "additionalItems":
			b, isBool := v.(bool)
			s.noExtraItems = isBool && !b
			if !isBool {
				err = fmt.Errorf("additionalItems as a schema is not supported")
			}
		case "minItems", "maxItems", "minLength", "maxLength":
			err = intKeyword(s, k, v)
		case "uniqueItems":
			s.unique, _ = v.(bool)
		case "pattern":
			p, _ := v.(string)
			s.pattern, err = regexp.Compile(p)
		case "format":
			if f, _ := v.(string); f == "date-time" || f == "uri" {
				s.format = f
			}
		case "minimum", "maximum":
			f, ok := v.(float64)
			if !ok {
				err = fmt.Errorf("%s is not a number", k)
			} else if k == "minimum" {
				s.min = &f
			} else {
				s.max = &f
			}
		case "allOf", "anyOf", "oneOf":
			list, _ := v.([]any)
			var out []*jsonSchema
			for i := range list {
				t, err := c.at(file, fmt.Sprintf("%s/%s/%d", pointer, k, i))
				if err != nil {
					return err
				}
				out = append(out, t)
			}
			switch k {
			case "allOf":
				s.allOf = out
			case "anyOf":
				s.anyOf = out
			default:
				s.oneOf = out
			}
		case "if":
			s.ifS, err = sub(k)
		case "then":
			s.thenS, err = sub(k)
		case "else":
			s.elseS, err = sub(k)
		default:
			if !schemaAnnotations[k] {
				// A keyword this validator does not know would go unchecked.
				err = fmt.Errorf("keyword %q is not supported", k)
			}
		}
		if err != nil {
			return fmt.Errorf("schema %s#%s: %w", file, pointer, err)
		}
	}
	return nil
}

func (c *schemaCompiler) ref(file, ref string) (*jsonSchema, error) {
	target, pointer, _ := strings.Cut(ref, "#")
	if target == "" {
		target = file
	}
	return c.at(target, pointer)
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func stringList(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a string", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%v is not a string or a list of strings", v)
}

func intKeyword(s *jsonSchema, k string, v any) error {
	f, ok := v.(float64)
	if !ok || f < 0 || f != math.Trunc(f) {
		return fmt.Errorf("%s is not a non-negative integer", k)
	}
	n := int(f)
	switch k {
	case "minItems":
		s.minItems = n
	case "maxItems":
		s.maxItems = n
	case "minLength":
		s.minLen = n
	default:
		s.maxLen = n
	}
	return nil
}

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
	if guess := nearestName(e.unknown, sortedKeys(e.known)); guess != "" {
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

// uniqueItems finds repeated array elements, by the SHA-256 of their
// canonical form (a large SBOM's components are not held).
type uniqueItems map[[sha256.Size]byte]int

func (u uniqueItems) add(i int, e any, p *valuePath) *schemaError {
	sum := sha256.Sum256(canonical(nil, e))
	if j, ok := u[sum]; ok {
		return fail(p.elem(i, e), "repeats %s; the items must be unique", p.elem(j, e))
	}
	u[sum] = i
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
var uriPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$`)

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
