package policy

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/signet-dev/signet/internal/suggest"
)

// checkShape walks the document against the Go type it is decoded into and
// reports every unknown field and every value of the wrong kind, each with
// its place in the document and its line, in the document's own terms (the
// decoder's own errors name Go types and stop at the first kind of error).
func checkShape(root *yaml.Node) Errors {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	switch {
	case n.Kind == 0 || n.Kind == yaml.DocumentNode || isNull(n):
		return Errors{{Msg: "the policy document is empty: it needs apiVersion: " + APIVersion + ", kind: " + Kind + " and images"}}
	case n.Kind != yaml.MappingNode:
		return Errors{{Line: n.Line, Msg: "the policy must be a mapping of fields (apiVersion: ..., kind: Policy, images: ...), not " + describe(n)}}
	}
	w := &walk{budget: maxShapeNodes}
	w.shape(n, reflect.TypeOf(Policy{}), nil)
	return w.errs
}

// maxShapeNodes bounds the walk, aliases included. The decoder refuses a
// document that expands much further before the walk is ever made.
const maxShapeNodes = 1 << 20

// walk is one walk over a document: the problems so far and how many more
// nodes may be visited.
type walk struct {
	errs   Errors
	budget int
}

func (w *walk) fail(path []any, line int, msg string) {
	w.errs = append(w.errs, &FieldError{Path: pathString(path), Line: line, Msg: msg})
}

// shape checks n against t at path.
func (w *walk) shape(n *yaml.Node, t reflect.Type, path []any) {
	if w.budget--; w.budget < 0 {
		return
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if isNull(n) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.fail(path, n.Line, "must be a mapping of fields (name: value), not "+describe(n))
			return
		}
		w.fields(n, t, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.fail(path, n.Line, "must be a list, not "+describe(n))
			return
		}
		for i, e := range n.Content {
			w.shape(e, t.Elem(), append(append([]any{}, path...), i))
		}
	default:
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			w.fail(path, n.Line, "must be "+kindName(t)+", not "+describe(n))
		}
	}
}

// fields checks the keys of mapping n against the yaml names of struct t,
// following merge keys (<<: *anchor) as the decoder does.
func (w *walk) fields(n *yaml.Node, t reflect.Type, path []any) {
	known := yamlFields(t)
	seen := map[string]int{}
	for k := 0; k+1 < len(n.Content); k += 2 {
		key, val := n.Content[k], n.Content[k+1]
		if key.ShortTag() == "!!merge" {
			w.merge(val, t, path)
			continue
		}
		if first, ok := seen[key.Value]; ok {
			w.fail(path, key.Line, fmt.Sprintf("%s is given twice (first on line %d); keep one", key.Value, first))
			continue
		}
		seen[key.Value] = key.Line
		f, ok := known[key.Value]
		if !ok {
			msg, meant := unknownField(key.Value, known)
			w.fail(path, key.Line, msg)
			last := w.errs[len(w.errs)-1]
			last.unknown, last.meant = true, meant
			continue
		}
		w.shape(val, f.Type, append(append([]any{}, path...), key.Value))
	}
}

func (w *walk) merge(val *yaml.Node, t reflect.Type, path []any) {
	if w.budget--; w.budget < 0 {
		return
	}
	if val.Kind == yaml.AliasNode && val.Alias != nil {
		val = val.Alias
	}
	if val.Kind == yaml.SequenceNode {
		for _, m := range val.Content {
			w.merge(m, t, path)
		}
		return
	}
	w.shape(val, t, path)
}

// yamlFields maps the yaml names of t's fields to the fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.IsExported() && name != "-" {
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			out[name] = f
		}
	}
	return out
}

// unknownField says a field is unknown and suggests the nearest valid one
// (returned as meant), or lists the valid ones when none is near.
func unknownField(name string, known map[string]reflect.StructField) (msg, meant string) {
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, k)
	}
	sort.Strings(names)
	if s := suggest.Nearest(name, names); s != "" {
		return fmt.Sprintf("unknown field %s; did you mean %s?", name, s), s
	}
	return fmt.Sprintf("unknown field %s (the fields here are %s)", name, strings.Join(names, ", ")), ""
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "must be X, not Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	}
	return "text"
}
