package migrate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/signet-dev/signet/policy"
)

// importer gathers the translated rules of every input.
type importer struct {
	findings    []Finding
	rules       []srcRule
	policies    int
	fromKyverno bool
}

// srcRule is a source rule: the patterns it matches and what it requires.
type srcRule struct {
	patterns []pattern
	req      *requirement
}

func (im *importer) add(patterns []pattern, req *requirement) {
	if len(patterns) == 0 {
		req.sc.note("", "none of its image patterns could be imported, so the rule applies to no image")
		return
	}
	im.rules = append(im.rules, srcRule{patterns: patterns, req: req})
}

// Import reads the Kyverno and policy-controller policies in files (YAML
// or JSON, several documents to a file, Kubernetes Lists) and translates
// them into one Signet policy. A file that cannot be read is an error
// wrapping ErrInvalid; a policy that cannot be translated is a finding.
// When no rule could be imported, the error wraps ErrNoPolicies and the
// Result, without a Policy, still holds the findings that say why.
func Import(files []File) (*Result, error) {
	im := &importer{}
	for _, f := range files {
		docs, err := documents(f.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %v", f.Name, ErrInvalid, err)
		}
		for _, d := range docs {
			im.document(f.Name, d)
		}
	}
	res := im.build()
	if res.Policy == nil {
		if im.policies == 0 {
			return res, fmt.Errorf("%w: the files hold no Kyverno ClusterPolicy or Policy, and no policy-controller ClusterImagePolicy", ErrNoPolicies)
		}
		return res, fmt.Errorf("%w: none of the %d policies has a rule that could be imported", ErrNoPolicies, im.policies)
	}
	return res, nil
}

// maxDocuments bounds the documents read from one file.
const maxDocuments = 10000

// documents splits a file into its documents, and Lists into their items.
func documents(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []*yaml.Node
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if i >= maxDocuments {
			return nil, fmt.Errorf("more than %d documents", maxDocuments)
		}
		out = append(out, items(&n, 0)...)
	}
}

// items returns a document, or the items of a List, depth first.
func items(n *yaml.Node, depth int) []*yaml.Node {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode || depth > 8 {
		return []*yaml.Node{n}
	}
	if kind := scalar(n, "kind"); strings.HasSuffix(kind, "List") {
		if list := value(n, "items"); list != nil && list.Kind == yaml.SequenceNode {
			var out []*yaml.Node
			for _, it := range list.Content {
				out = append(out, items(it, depth+1)...)
			}
			return out
		}
	}
	return []*yaml.Node{n}
}

// value is the value of a mapping's key, or nil.
func value(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for k := 0; k+1 < len(n.Content); k += 2 {
		if n.Content[k].Value == key {
			return n.Content[k+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node, key string) string {
	if v := value(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// document translates one document by its kind.
func (im *importer) document(file string, n *yaml.Node) {
	sc := scope{where: Finding{File: file}, out: &im.findings}
	if n.Kind != yaml.MappingNode {
		if !(n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null") {
			sc.note("", "a document (line %d) is not a Kubernetes object; it is skipped", n.Line)
		}
		return
	}
	apiVersion, kind := scalar(n, "apiVersion"), scalar(n, "kind")
	sc.where.Kind = kind
	if meta := value(n, "metadata"); meta != nil {
		sc.where.Policy = scalar(meta, "name")
	}
	group, version, _ := strings.Cut(apiVersion, "/")
	switch {
	case group == "kyverno.io" && (kind == "ClusterPolicy" || kind == "Policy"):
		im.policies++
		if version != "v1" && version != "v2beta1" {
			sc.note("apiVersion", "%s is read as kyverno.io/v1", apiVersion)
		}
		im.kyverno(sc, n)
	case (group == "policy.sigstore.dev" || group == "cosigned.sigstore.dev") && kind == "ClusterImagePolicy":
		im.policies++
		if version != "v1alpha1" && version != "v1beta1" || group != "policy.sigstore.dev" {
			sc.note("apiVersion", "%s is read as policy.sigstore.dev/v1beta1", apiVersion)
		}
		im.policyController(sc, n)
	case group == "policy.sigstore.dev" && kind == "TrustRoot":
		sc.note("", "a TrustRoot is not a policy: give Signet the same roots with signet trust (its trusted root), which every rule then uses")
	case strings.HasSuffix(group, "kyverno.io") || strings.HasSuffix(group, "sigstore.dev"):
		im.policies++
		sc.untranslated("", "", "", "%s %s is not a kind the importer translates (it reads Kyverno ClusterPolicy and Policy verifyImages rules and policy-controller ClusterImagePolicy); nothing of it is imported — write its rules by hand", apiVersion, kind)
	default:
		sc.note("", "%s %s is not an image verification policy; it is skipped", orText(apiVersion, "(no apiVersion)"), orText(kind, "(no kind)"))
	}
}

// group is the rules that share one pattern in the output.
type group struct {
	pat  pattern
	str  string
	reqs []*requirement // the rules' own requirements, then those carried
	own  int            // how many of reqs are the rules' own
}

// build writes the Signet policy: one rule per distinct pattern; where
// patterns overlap, the rule Signet applies to the images both match
// carries the other's requirements too.
func (im *importer) build() *Result {
	groups := im.groups()
	carry(groups)
	im.carryEverywhere(groups)
	res := &Result{attComments: map[[2]int]string{}}
	if im.fromKyverno {
		sc := scope{where: Finding{}, out: &im.findings}
		sc.stricter("", "Kyverno admits images that no verifyImages rule matches; the imported policy denies them (defaultAction deny). To admit them as Kyverno did, set defaultAction: allow")
	}
	if len(groups) == 0 {
		res.Findings = im.findings
		return res
	}
	p := &policy.Policy{APIVersion: policy.APIVersion, Kind: policy.Kind, Metadata: policy.Metadata{Name: "imported"}, DefaultAction: "deny"}
	for i, g := range groups {
		r := render(g.str, g.reqs)
		p.Images = append(p.Images, r.rule)
		var from []string
		for _, q := range g.reqs[:g.own] {
			from = append(from, q.origin+" ("+q.sc.where.File+")")
		}
		res.ruleComments = append(res.ruleComments, "from "+strings.Join(from, "; "))
		for j, c := range r.attComments {
			res.attComments[[2]int{i, j}] = c
		}
	}
	res.Policy = p
	res.Findings = im.findings
	return res
}

// groups gathers the source rules by the patterns Signet matches them as.
func (im *importer) groups() []*group {
	var groups []*group
	index := map[string]*group{}
	for _, r := range im.rules {
		for _, p := range r.patterns {
			if p.isEvery() {
				continue // carried by build, after carry
			}
			s := p.String()
			if err := checkPattern(p); err != nil {
				r.req.sc.note("", "Signet refuses the pattern %s (%v); no image can have such a name, so it is left out", s, err)
				continue
			}
			g := index[s]
			if g == nil {
				g = &group{pat: p, str: s}
				index[s] = g
				groups = append(groups, g)
			}
			if !slices.Contains(g.reqs, r.req) {
				g.reqs = append(g.reqs, r.req)
				g.own++
			}
		}
	}
	return groups
}

// carry gives each rule the requirements of every rule it overlaps and
// outranks: Signet applies only the most specific matching rule to an
// image (then the first), where the originals apply every matching one.
func carry(groups []*group) {
	own := make([][]*requirement, len(groups))
	for i, g := range groups {
		own[i] = slices.Clone(g.reqs)
	}
	for i, g := range groups {
		for j, o := range groups {
			if i == j || !outranks(g, i, o, j) || !overlaps(g.pat, o.pat) {
				continue
			}
			for _, q := range own[j] {
				if slices.Contains(g.reqs, q) || q.empty() {
					continue
				}
				g.reqs = append(g.reqs, q)
				g.reqs[0].sc.stricter("", "images matching both %s and %s must pass both rules in the original; Signet applies only the more specific rule, %s, so it also carries the requirements of %s — stricter for the images it matches and %s does not", g.str, o.str, g.str, q.origin, o.str)
			}
		}
	}
}

// carryEverywhere gives every rule the requirements of the source rules
// whose images could not be written as a pattern (everyRule).
func (im *importer) carryEverywhere(groups []*group) {
	for _, r := range im.rules {
		if !slices.ContainsFunc(r.patterns, pattern.isEvery) || r.req.empty() {
			continue
		}
		for _, g := range groups {
			if !slices.Contains(g.reqs, r.req) {
				g.reqs = append(g.reqs, r.req)
			}
		}
		r.req.sc.stricter("", "%s: its images could not be written as a pattern, so every rule of the imported policy carries its requirements until you write the pattern", r.req.origin)
	}
}

// outranks says whether Signet picks g (at i) over o (at j) for an image
// both match.
func outranks(g *group, i int, o *group, j int) bool {
	a, b := policy.Specificity(g.str), policy.Specificity(o.str)
	return a > b || a == b && i < j
}

// empty says whether a requirement asks for nothing (its mode and
// transparency-log setting then decide nothing either).
func (r *requirement) empty() bool {
	return len(r.clauses) == 0 && len(r.attestations) == 0 && len(r.refusals) == 0 && !r.digestRequired
}
