package migrate

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

var nodeType = reflect.TypeOf(yaml.Node{})

// unknownFields lists the fields of n that t does not have, as paths
// (spec.rules[0].verifyImages[0].foo). A field of type yaml.Node, a map
// and a struct with an inline map take anything.
func unknownFields(n *yaml.Node, t reflect.Type) []string {
	var out []string
	budget := 100000 // aliases can make a small document a large tree
	var walk func(n *yaml.Node, t reflect.Type, path string)
	walk = func(n *yaml.Node, t reflect.Type, path string) {
		if budget--; budget < 0 || n == nil {
			return
		}
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
			n = n.Content[0]
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case t == nodeType:
		case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
			fields, open := yamlFields(t)
			for k := 0; k+1 < len(n.Content); k += 2 {
				key := n.Content[k].Value
				f, ok := fields[key]
				switch {
				case ok:
					walk(n.Content[k+1], f, join(path, key))
				case !open && key != "<<":
					out = append(out, join(path, key))
				}
			}
		case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
			for i, e := range n.Content {
				walk(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(n, t, "")
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps t's yaml field names to their types; open is true when
// t has an inline map, which takes any other field.
func yamlFields(t reflect.Type) (map[string]reflect.Type, bool) {
	out := map[string]reflect.Type{}
	open := false
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case strings.Contains(opts, "inline"):
			open = true
		case f.IsExported() && name != "-":
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			out[name] = f.Type
		}
	}
	return out, open
}
