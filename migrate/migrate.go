// Package migrate translates image verification policies written for
// Kyverno (ClusterPolicy and Policy verifyImages rules, kyverno.io/v1 and
// v2beta1) and for the sigstore policy-controller (ClusterImagePolicy,
// policy.sigstore.dev/v1alpha1 and v1beta1) into one Signet policy
// document, and reports everything it could not translate exactly.
//
// The translation is never more permissive than the original. What Signet
// can say exactly is written as it is; what it can only say more strictly
// (all of several attestors where the original wanted some, a requirement
// of one policy that overlaps another) is written the stricter way and
// reported as Stricter; a restriction Signet cannot express at all (a
// JMESPath, CUE or Rego condition, a certificate chain, a variable) is
// reported as Untranslated, and the rule keeps a requirement no image can
// meet in its place, so that the rule refuses the images it applies to
// until someone writes the check by hand. Import never drops a rule
// without a finding saying so.
package migrate

import (
	"errors"
	"fmt"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/policy"
)

// Errors Import returns.
var (
	// ErrInvalid marks an input file that is not YAML or JSON, or a
	// document in it that is not an object.
	ErrInvalid = errors.New("unreadable input")
	// ErrNoPolicies means no input document was a policy Import reads.
	ErrNoPolicies = errors.New("no image verification policy found")
)

// Severity says how a finding bears on the imported policy.
type Severity string

const (
	// Untranslated is a restriction of the original that Signet's policy
	// cannot express. Left out, it would make the import more permissive
	// than the original, so the import refuses the images that depended
	// on it instead (see the Finding's message): a person must finish the
	// rule before it is used.
	Untranslated Severity = "untranslated"
	// Stricter is a part translated into a requirement stricter than the
	// original's: some images the original admitted are refused.
	Stricter Severity = "stricter"
	// Note is a part translated exactly, with something worth knowing.
	Note Severity = "note"
)

// Finding is one thing the import reports about a source policy.
type Finding struct {
	Severity Severity `json:"severity"`
	// File is the input file, as given to Import.
	File string `json:"file,omitempty"`
	// Kind is the source document's kind: ClusterPolicy, Policy or
	// ClusterImagePolicy (or whatever else the file holds).
	Kind string `json:"kind,omitempty"`
	// Policy is the source policy's name (namespace/name for a namespaced one).
	Policy string `json:"policy,omitempty"`
	// Rule is the Kyverno rule or the policy-controller authority.
	Rule string `json:"rule,omitempty"`
	// Field is where in the source policy, e.g. verifyImages[0].attestations[0].conditions.
	Field string `json:"field,omitempty"`
	// Message says what was done and, where a person has work to do, what.
	Message string `json:"message"`
	// Original is the source text not translated, as written.
	Original string `json:"original,omitempty"`
	// Suggestion is a CEL condition that says what the original said, for
	// a person to check and put in place of the placeholder.
	Suggestion string `json:"suggestion,omitempty"`
}

// File is an input: its name (for the report) and its bytes.
type File struct {
	Name string
	Data []byte
}

// Result is the imported policy and what the import found.
type Result struct {
	// Policy is the translated document. Its rules that carry an
	// Untranslated finding refuse every image they apply to.
	Policy *policy.Policy
	// Findings lists everything not translated exactly, in input order.
	Findings []Finding
	// comments say where each rule came from, and what each placeholder
	// stands for, when the document is written as YAML.
	ruleComments []string
	attComments  map[[2]int]string
}

// Complete reports whether everything was translated (exactly or more
// strictly): no finding is Untranslated.
func (r *Result) Complete() bool {
	for _, f := range r.Findings {
		if f.Severity == Untranslated {
			return false
		}
	}
	return true
}

// Count returns how many findings have the severity.
func (r *Result) Count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// noKeys compiles patterns alone; it loads no key.
var noKeys = keys.Loader{}

// scope is where findings are made: a file, a policy, a rule.
type scope struct {
	where Finding
	out   *[]Finding
}

func (s scope) rule(name string) scope {
	s.where.Rule = name
	return s
}

func (s scope) add(sev Severity, field, original, suggestion, format string, a ...any) {
	f := s.where
	f.Severity, f.Field, f.Original, f.Suggestion = sev, field, original, suggestion
	f.Message = fmt.Sprintf(format, a...)
	*s.out = append(*s.out, f)
}

func (s scope) note(field, format string, a ...any) { s.add(Note, field, "", "", format, a...) }

func (s scope) stricter(field, format string, a ...any) { s.add(Stricter, field, "", "", format, a...) }

func (s scope) untranslated(field, original, suggestion, format string, a ...any) {
	s.add(Untranslated, field, original, suggestion, format, a...)
}
