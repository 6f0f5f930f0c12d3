package migrate

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/signet-dev/signet/internal/lazyre"
)

// jmesPath is a key that is one plain JMESPath field path: {{ a.b.c }}.
var jmesPath = lazyre.New(`^\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}$`)

// kyvernoNames are the variables Kyverno puts beside the predicate's
// fields in a condition's context: a path starting with one of them may
// not read the predicate at all.
var kyvernoNames = map[string]bool{
	"request": true, "images": true, "image": true, "element": true, "elementIndex": true,
	"serviceAccountName": true, "serviceAccountNamespace": true, "target": true, "@": true,
}

// suggestCEL writes Kyverno attestation conditions as a CEL condition over
// one attestation, where each condition is an Equals or NotEquals of a
// plain field path of the predicate and a value Kyverno compares as text
// or a boolean: conditions in a list all hold, an any block needs one and
// an all block every one. Kyverno compares text as a wildcard pattern, or
// as a duration or a quantity when both sides read as one (1h is 60m), so
// only values that cannot be read so are written. It returns "" and the
// reason when the conditions cannot be written so.
func suggestCEL(n *yaml.Node, attestationName string) (string, string) {
	var blocks []kyAnyAll
	if err := n.Decode(&blocks); err != nil {
		return "", "the conditions are not a list of any/all blocks"
	}
	var parts []string
	for _, b := range blocks {
		var sub []string
		if len(b.Any) > 0 {
			var any []string
			for _, c := range b.Any {
				e, why := conditionCEL(c, attestationName)
				if e == "" {
					return "", why
				}
				any = append(any, e)
			}
			sub = append(sub, "("+strings.Join(any, " || ")+")")
		}
		for _, c := range b.All {
			e, why := conditionCEL(c, attestationName)
			if e == "" {
				return "", why
			}
			sub = append(sub, e)
		}
		parts = append(parts, sub...)
	}
	if len(parts) == 0 {
		return "", "there is no condition"
	}
	return strings.Join(parts, " && "), ""
}

// conditionCEL writes one condition, or says why it cannot.
func conditionCEL(c kyCondition, attestationName string) (string, string) {
	key, ok := c.Key.(string)
	if !ok {
		return "", fmt.Sprintf("the key %s is not a field path", jsonText(c.Key))
	}
	m := jmesPath.FindStringSubmatch(strings.TrimSpace(key))
	if m == nil {
		return "", fmt.Sprintf("%q is not a plain field path (a JMESPath function, filter or text around it)", key)
	}
	path := strings.Split(m[1], ".")
	if kyvernoNames[path[0]] || path[0] == attestationName {
		return "", fmt.Sprintf("%q may name Kyverno's own variable %s rather than the predicate", key, path[0])
	}
	var op string
	switch strings.ToLower(c.Operator) {
	case "equals", "equal":
		op = "=="
	case "notequals", "notequal":
		op = "!="
	default:
		return "", fmt.Sprintf("the operator %s has no faithful CEL equivalent here (only Equals and NotEquals of plain text are written)", c.Operator)
	}
	val, why := celValue(c.Value)
	if val == "" {
		return "", why
	}
	var b strings.Builder
	b.WriteString("predicate")
	for _, p := range path {
		b.WriteString("[" + strconv.Quote(p) + "]")
	}
	return b.String() + " " + op + " " + val, ""
}

// celValue writes a value Kyverno compares exactly.
func celValue(v any) (string, string) {
	switch x := v.(type) {
	case bool:
		return strconv.FormatBool(x), ""
	case string:
		switch {
		case x == "":
			return "", "an empty value"
		case strings.ContainsAny(x, "*?"):
			return "", fmt.Sprintf("the value %q is a wildcard pattern to Kyverno", x)
		case strings.ContainsAny(x[:1], "0123456789+-."):
			return "", fmt.Sprintf("Kyverno may compare %q as a number, duration or quantity", x)
		case hasVariable(x):
			return "", fmt.Sprintf("the value %q is a variable", x)
		}
		return strconv.Quote(x), ""
	}
	return "", fmt.Sprintf("the value %s is not text or a boolean", jsonText(v))
}

// jsonText writes a value from the document as JSON.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
