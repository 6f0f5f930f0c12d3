package attest

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// CheckCycloneDX validates a CycloneDX JSON BOM against the specification's
// JSON schema for the version it declares (1.4, 1.5 or 1.6) while streaming
// it: the top level is read token by token and each element of a top-level
// array (components, dependencies, services, ...) is decoded and checked one
// at a time, so a 100 MB SBOM is checked without holding it in memory.
func CheckCycloneDX(r io.Reader) error {
	const kind = "cyclonedx"
	schemas, err := cdxSchemas()
	if err != nil {
		return fmt.Errorf("loading the CycloneDX schemas: %w", err)
	}
	dec := json.NewDecoder(r)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return invalid(kind, "not a JSON object")
	}
	bom := newBOMCheck(schemas)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return invalid(kind, "reading BOM: %v", err)
		}
		key, _ := t.(string)
		if err := bom.field(dec, key); err != nil {
			return err
		}
		if err := bom.settled(); err != nil {
			return err // the declared version's schema already failed
		}
	}
	if _, err := dec.Token(); err != nil {
		return invalid(kind, "reading BOM: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid(kind, "trailing data after the BOM")
	}
	return bom.finish()
}

// bomCheck follows a BOM's top level against the schemas of the versions it
// may still be: all of them until specVersion is read (it may come last).
type bomCheck struct {
	versions map[string]*bomVersion
	format   any
	version  any
	seen     map[string]bool
}

// bomVersion is one candidate version: its schema and the first way the
// BOM breaks it.
type bomVersion struct {
	name string
	root *jsonSchema
	err  *schemaError
}

func newBOMCheck(schemas map[string]*jsonSchema) *bomCheck {
	b := &bomCheck{versions: map[string]*bomVersion{}, seen: map[string]bool{}}
	for v, s := range schemas {
		b.versions[v] = &bomVersion{name: v, root: s}
	}
	return b
}

// field reads and checks the value of one top-level field.
func (b *bomCheck) field(dec *json.Decoder, key string) error {
	if b.seen[key] {
		// Readers differ on which of the two counts.
		return invalid("cyclonedx", "field %q appears twice at the top level", key)
	}
	b.seen[key] = true
	for _, v := range b.versions {
		if v.err == nil && v.root.props[key] == nil && v.root.noExtra {
			v.err = fail(nil, "field %q is not allowed at the top level", key)
			v.err.unknown, v.err.known = key, v.root.props
		}
	}
	t, err := dec.Token()
	if err != nil {
		return invalid("cyclonedx", "%s: %v", key, err)
	}
	if t == json.Delim('[') && key != "bomFormat" && key != "specVersion" {
		return b.array(dec, key)
	}
	val, err := decodeAfter(dec, t)
	if err != nil {
		return invalid("cyclonedx", "%s: %v", key, err)
	}
	switch key {
	case "bomFormat":
		b.format = val
	case "specVersion":
		b.version = val
		if err := b.declare(val); err != nil {
			return err
		}
	}
	p := (*valuePath)(nil).field(key)
	for _, v := range b.versions {
		if s := v.root.props[key]; v.err == nil && s != nil {
			v.err = s.validate(val, p)
		}
	}
	return nil
}

// array checks a top-level array element by element, each decoded alone.
func (b *bomCheck) array(dec *json.Decoder, key string) error {
	p := (*valuePath)(nil).field(key)
	type state struct {
		s      *jsonSchema
		unique uniqueItems
		held   []any // the elements, for a schema that needs them together
	}
	states := map[*bomVersion]*state{}
	for _, v := range b.versions {
		if s := v.root.props[key]; v.err == nil && s != nil {
			states[v] = &state{s: s.deref(), unique: uniqueItems{}}
		}
	}
	n := 0
	for ; dec.More(); n++ {
		var e any
		if err := dec.Decode(&e); err != nil {
			return invalid("cyclonedx", "%s[%d]: %v", key, n, err)
		}
		for v, st := range states {
			switch {
			case v.err != nil:
			case !st.s.plainArray():
				st.held = append(st.held, e)
			case st.s.unique:
				if v.err = st.s.validateItem(n, e, p); v.err == nil {
					v.err = st.unique.add(n, e, p)
				}
			default:
				v.err = st.s.validateItem(n, e, p)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return invalid("cyclonedx", "%s: %v", key, err)
	}
	for v, st := range states {
		switch {
		case v.err != nil:
		case !st.s.plainArray():
			if st.held == nil {
				st.held = []any{}
			}
			v.err = st.s.validate(st.held, p)
		case n < st.s.minItems:
			v.err = fail(p, "has %d items, fewer than the %d it needs", n, st.s.minItems)
		case st.s.maxItems >= 0 && n > st.s.maxItems:
			v.err = fail(p, "has %d items, more than the %d it may have", n, st.s.maxItems)
		}
	}
	return nil
}

// declare narrows the candidates to the version the BOM declares.
func (b *bomCheck) declare(val any) error {
	s, ok := val.(string)
	if !ok {
		return invalid("cyclonedx", "specVersion is %s; it is a string such as \"1.6\"", short(val))
	}
	v, ok := b.versions[s]
	if !ok {
		return invalid("cyclonedx", "specVersion %q: Signet accepts CycloneDX %s", s, orList(cdxVersions))
	}
	b.versions = map[string]*bomVersion{s: v}
	return nil
}

// settled returns the declared version's first error, once there is one.
func (b *bomCheck) settled() error {
	if s, ok := b.version.(string); ok && b.versions[s].err != nil {
		return schemaInvalid(b.versions[s])
	}
	return nil
}

// finish says whether the whole BOM fits the version it declares.
func (b *bomCheck) finish() error {
	const kind = "cyclonedx"
	if b.format != "CycloneDX" {
		if b.format == nil {
			return invalid(kind, "bomFormat is missing; a CycloneDX BOM has \"bomFormat\": \"CycloneDX\"")
		}
		return invalid(kind, "bomFormat is %s, want \"CycloneDX\"", short(b.format))
	}
	if b.version == nil {
		return invalid(kind, "specVersion is missing; Signet accepts CycloneDX %s", orList(cdxVersions))
	}
	v := b.versions[b.version.(string)]
	if v.err == nil {
		for _, r := range v.root.required {
			if !b.seen[r] {
				v.err = fail(nil, "required field %q is missing at the top level", r)
				break
			}
		}
	}
	if v.err != nil {
		return schemaInvalid(v)
	}
	return nil
}

func schemaInvalid(v *bomVersion) error {
	where, msg := v.err.path.String(), v.err.message()
	if v.err.path == nil {
		return invalid("cyclonedx", "not valid CycloneDX %s (checked against its JSON schema): %s", v.name, msg)
	}
	return invalid("cyclonedx", "not valid CycloneDX %s (checked against its JSON schema): %s: %s", v.name, where, msg)
}

// decodeAfter decodes the rest of a value whose first token is t.
func decodeAfter(dec *json.Decoder, t json.Token) (any, error) {
	switch t {
	case json.Delim('{'):
		m := map[string]any{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			var v any
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			m[k.(string)] = v
		}
		_, err := dec.Token()
		return m, err
	case json.Delim('['):
		var a []any
		for dec.More() {
			var v any
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.Token()
		return append([]any{}, a...), err
	}
	if d, ok := t.(json.Delim); ok {
		return nil, fmt.Errorf("unexpected %s", strings.TrimSpace(d.String()))
	}
	return t, nil
}

// skipValue consumes one JSON value without keeping it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}
