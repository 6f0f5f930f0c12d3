package attest

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
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
	for k, v := range m {
		handled, err := c.subschemaKeyword(s, file, pointer, k, v)
		if !handled {
			err = valueKeyword(s, k, v)
		}
		if err != nil {
			return fmt.Errorf("schema %s#%s: %w", file, pointer, err)
		}
	}
	return nil
}

// subschemaKeyword compiles a keyword whose value holds schemas; handled is
// false for other keywords.
func (c *schemaCompiler) subschemaKeyword(s *jsonSchema, file, pointer, k string, v any) (handled bool, err error) {
	sub := func(rest string) (*jsonSchema, error) { return c.at(file, pointer+"/"+rest) }
	list := func() ([]*jsonSchema, error) {
		items, _ := v.([]any)
		var out []*jsonSchema
		for i := range items {
			t, err := sub(fmt.Sprintf("%s/%d", k, i))
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		}
		return out, nil
	}
	switch k {
	case "properties":
		s.props = map[string]*jsonSchema{}
		props, _ := v.(map[string]any)
		for name := range props {
			if s.props[name], err = sub("properties/" + escapePointer(name)); err != nil {
				return true, err
			}
		}
	case "additionalProperties":
		if b, ok := v.(bool); ok {
			s.noExtra = !b
		} else {
			s.extra, err = sub(k)
		}
	case "items":
		if _, ok := v.([]any); ok {
			s.tuple, err = list()
		} else {
			s.items, err = sub(k)
		}
	case "allOf":
		s.allOf, err = list()
	case "anyOf":
		s.anyOf, err = list()
	case "oneOf":
		s.oneOf, err = list()
	case "if":
		s.ifS, err = sub(k)
	case "then":
		s.thenS, err = sub(k)
	case "else":
		s.elseS, err = sub(k)
	default:
		return false, nil
	}
	return true, err
}

// valueKeyword compiles a keyword that constrains a value directly.
func valueKeyword(s *jsonSchema, k string, v any) (err error) {
	switch k {
	case "type":
		s.types, err = stringList(v)
	case "enum":
		s.enum, _ = v.([]any)
	case "const":
		s.konst, s.isConst = v, true
	case "required":
		s.required, err = stringList(v)
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
		switch {
		case !ok:
			err = fmt.Errorf("%s is not a number", k)
		case k == "minimum":
			s.min = &f
		default:
			s.max = &f
		}
	default:
		if !schemaAnnotations[k] {
			// A keyword this validator does not know would go unchecked.
			err = fmt.Errorf("keyword %q is not supported", k)
		}
	}
	return err
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
