package attest

import (
	"encoding/json"
	"strings"
	"testing"
)

func compileTestSchema(t *testing.T, schema string) *jsonSchema {
	t.Helper()
	c, err := newSchemaCompiler(map[string][]byte{"s.json": []byte(schema)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.at("s.json", "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestJSONSchemaKeywords holds the validator to draft-07's meaning of each
// keyword the CycloneDX schemas use.
func TestJSONSchemaKeywords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, schema, value string
		want                string // "" when valid
	}{
		{"type", `{"type": ["string", "null"]}`, `null`, ""},
		{"type refused", `{"type": "integer"}`, `1.5`, "must be an integer, not a number"},
		{"keywords of another type do not apply", `{"required": ["a"], "minLength": 3, "items": false}`, `7`, ""},
		{"const", `{"const": "EC"}`, `"RSA"`, `"RSA" is not "EC"`},
		{"pattern searches", `{"pattern": "b+"}`, `"abbc"`, ""},
		{"additionalProperties schema", `{"properties": {"a": {}}, "additionalProperties": {"type": "number"}}`, `{"a": "x", "b": "y"}`, `b: must be a number`},
		{"tuple", `{"items": [{"type": "string"}], "additionalItems": false}`, `["a", "b"]`, "may have only 1 items"},
		{"tuple element", `{"items": [{"type": "string"}]}`, `[1]`, "[0]: must be a string"},
		{"uniqueItems ignores key order", `{"uniqueItems": true}`, `[{"a": 1, "b": 2}, {"b": 2, "a": 1}]`, "repeats"},
		{"oneOf: exactly one", `{"oneOf": [{"type": "string"}, {"minLength": 2}]}`, `"ab"`, "fits 2 of the forms"},
		{"oneOf: none", `{"oneOf": [{"type": "string"}, {"type": "object", "required": ["x"]}]}`, `{}`, `required field "x" is missing`},
		{"anyOf", `{"anyOf": [{"type": "string"}, {"type": "number"}]}`, `true`, "must be"},
		{"allOf", `{"allOf": [{"minimum": 1}, {"maximum": 2}]}`, `3`, "3 is more than 2"},
		{"if/then", `{"if": {"properties": {"k": {"const": "EC"}}}, "then": {"required": ["x"]}}`, `{"k": "EC"}`, `required field "x"`},
		{"if/then not taken", `{"if": {"properties": {"k": {"const": "EC"}}}, "then": {"required": ["x"]}}`, `{"k": "RSA"}`, ""},
		{"false schema", `{"properties": {"a": false}}`, `{"a": 1}`, "a: is not allowed here"},
		{"$ref replaces its siblings", `{"definitions": {"s": {"type": "string"}}, "properties": {"a": {"$ref": "#/definitions/s", "type": "number"}}}`, `{"a": "x"}`, ""},
		{"recursive $ref", `{"definitions": {"n": {"properties": {"c": {"items": {"$ref": "#/definitions/n"}}}, "required": ["name"]}}, "$ref": "#/definitions/n"}`,
			`{"name": "a", "c": [{"name": "b", "c": [{}]}]}`, `c[0] (name "b").c[0]: required field "name" is missing`},
		{"date-time", `{"format": "date-time"}`, `"2026-11-30t10:00:00.5+01:00"`, ""},
		{"date-time refused", `{"format": "date-time"}`, `"2026-11-30"`, "is not a date and time"},
		{"uri", `{"format": "uri"}`, `"ES256"`, "is not an absolute URI"},
		{"other formats are annotations", `{"format": "idn-email"}`, `"not an email"`, ""},
		{"field names that are not identifiers", `{"properties": {"c": {"properties": {"bom-ref": {"type": "string"}}}}}`, `{"c": {"bom-ref": 1}}`, `c["bom-ref"]: must be a string`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := compileTestSchema(t, tc.schema)
			var v any
			if err := json.Unmarshal([]byte(tc.value), &v); err != nil {
				t.Fatal(err)
			}
			err := s.validate(v, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestJSONSchemaUnknownKeyword: a keyword the validator does not check
// makes compiling fail, so a schema update cannot quietly check less.
func TestJSONSchemaUnknownKeyword(t *testing.T) {
	t.Parallel()
	c, _ := newSchemaCompiler(map[string][]byte{"s.json": []byte(`{"properties": {"a": {"patternProperties": {}}}}`)}, nil)
	if _, err := c.at("s.json", ""); err == nil || !strings.Contains(err.Error(), `keyword "patternProperties" is not supported`) {
		t.Fatalf("got %v", err)
	}
	if _, err := cdxSchemas(); err != nil {
		t.Fatalf("the embedded CycloneDX schemas do not compile: %v", err)
	}
}

func TestParseShape(t *testing.T) {
	t.Parallel()
	s, err := parseShape(`a b{c* d[]{e} f<>} g[] h<*> *`)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Field("zz"); !ok {
		t.Error("a bare * did not open the object")
	}
	b, _ := s.Field("b")
	if c, ok := b.Field("c"); !ok || c != nil {
		t.Errorf("c* is not anything: %v %v", c, ok)
	}
	if _, ok := b.Field("zz"); ok {
		t.Error("b is closed, yet has zz")
	}
	d, _ := b.Field("d")
	if d.Kind() != ShapeList || d.Elem().Fields()[0] != "e" {
		t.Errorf("d[]{e}: %+v", d)
	}
	if f, _ := b.Field("f"); f.Kind() != ShapeMap || f.Elem().Kind() != ShapeValue {
		t.Errorf("f<>: %+v", f)
	}
	for _, bad := range []string{`a{b`, `a a`, `a}`, `{`} {
		if _, err := parseShape(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
