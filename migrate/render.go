package migrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"go.yaml.in/yaml/v3"
)

// errNoPolicy is YAML or JSON asked of a Result without a policy.
var errNoPolicy = errors.New("nothing was imported, so there is no policy to write")

// YAML writes the policy as YAML, with comments that say which source
// rule each rule comes from and, above each placeholder, what it stands
// for.
func (r *Result) YAML() ([]byte, error) {
	if r.Policy == nil {
		return nil, errNoPolicy
	}
	var doc yaml.Node
	if err := doc.Encode(r.Policy); err != nil {
		return nil, err
	}
	doc.HeadComment = "Imported by signet policy import. Rules marked UNTRANSLATED refuse every image\n" +
		"they apply to until someone finishes them by hand: read the import report."
	if images := value(&doc, "images"); images != nil {
		for i, rule := range images.Content {
			if i < len(r.ruleComments) {
				rule.HeadComment = r.ruleComments[i]
			}
			atts := value(rule, "attestations")
			if atts == nil {
				continue
			}
			for j, a := range atts.Content {
				if c, ok := r.attComments[[2]int{i, j}]; ok {
					a.HeadComment = c
				}
			}
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// JSON writes the policy as indented JSON (without comments).
func (r *Result) JSON() ([]byte, error) {
	if r.Policy == nil {
		return nil, errNoPolicy
	}
	b, err := json.MarshalIndent(r.Policy, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Report writes the findings for a person, one paragraph each, most
// serious first: what was not translated, then what is stricter, then
// notes.
func (r *Result) Report() string {
	var b strings.Builder
	for _, sev := range []Severity{Untranslated, Stricter, Note} {
		for _, f := range r.Findings {
			if f.Severity == sev {
				writeFinding(&b, f)
			}
		}
	}
	return b.String()
}

var marks = map[Severity]string{Untranslated: "✗ UNTRANSLATED", Stricter: "! stricter", Note: "· note"}

func writeFinding(b *strings.Builder, f Finding) {
	b.WriteString(marks[f.Severity])
	if where := location(f); where != "" {
		b.WriteString(" " + where)
	}
	b.WriteString(": " + f.Message + "\n")
	if f.Original != "" {
		b.WriteString("    original:\n")
		for _, l := range strings.Split(f.Original, "\n") {
			b.WriteString("      " + l + "\n")
		}
	}
	if f.Suggestion != "" {
		b.WriteString("    suggested CEL: " + f.Suggestion + "\n")
	}
}

// location names where a finding is: "ClusterPolicy check-image rule
// check-image, verifyImages[0] (kyverno.yaml)".
func location(f Finding) string {
	var parts []string
	if f.Kind != "" || f.Policy != "" {
		parts = append(parts, strings.TrimSpace(f.Kind+" "+f.Policy))
	}
	if f.Rule != "" {
		parts = append(parts, "rule "+f.Rule)
	}
	s := strings.Join(parts, " ")
	if f.Field != "" {
		if s != "" {
			s += ", "
		}
		s += f.Field
	}
	if f.File != "" {
		s += " (" + f.File + ")"
	}
	return strings.TrimSpace(s)
}
