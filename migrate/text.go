package migrate

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// describe names a source rule for comments and messages.
func describe(w Finding) string {
	s := w.Kind + " " + w.Policy
	if w.Rule != "" {
		s += ", rule " + w.Rule
	}
	return s
}

// yamlText writes a node back as YAML text.
func yamlText(n *yaml.Node) string {
	b, err := yaml.Marshal(n)
	if err != nil {
		return n.Value
	}
	return strings.TrimRight(string(b), "\n")
}

// oneLine writes a node as YAML on one line (flow style).
func oneLine(n *yaml.Node) string {
	c := *n
	setFlow(&c)
	return yamlText(&c)
}

func setFlow(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style = yaml.FlowStyle
	}
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	content := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		cc := *c
		setFlow(&cc)
		content[i] = &cc
	}
	n.Content = content
}

// decodeError says what is wrong with a document in its own terms.
func decodeError(err error) string {
	var te *yaml.TypeError
	if ok := asTypeError(err, &te); ok && len(te.Errors) > 0 {
		var parts []string
		for _, m := range te.Errors {
			line, rest, found := strings.Cut(m, ": ")
			if !found {
				line, rest = "", m
			}
			value := ""
			if i := strings.Index(rest, "`"); i >= 0 {
				if j := strings.Index(rest[i+1:], "`"); j >= 0 {
					value = rest[i+1 : i+1+j]
				}
			}
			parts = append(parts, strings.TrimSpace(fmt.Sprintf("%s: the value %q is not of the kind its field takes", line, value)))
		}
		return strings.Join(parts, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

func asTypeError(err error, te **yaml.TypeError) bool {
	t, ok := err.(*yaml.TypeError)
	if ok {
		*te = t
	}
	return ok
}

// count writes a number with its noun: 1 attestor, 2 attestors, 0 were.
func count(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
