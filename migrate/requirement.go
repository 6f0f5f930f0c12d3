package migrate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/signet-dev/signet/internal/lazyre"
	"github.com/signet-dev/signet/policy"
)

// signer is a key or keyless identity. Its id is the same for the same
// key or identity, however the sources wrote it.
type signer struct {
	id   string
	hint string // the name it would like in the Signet document
	s    policy.Signer
}

// clause asks for signatures on the image from at least n of the signers ids.
type clause struct {
	n   int
	ids []string
}

func (c clause) all() bool { return c.n == len(c.ids) }

// distinct is how many different signers the clause names.
func (c clause) distinct() int { return len(multiplicities(c.ids)) }

// signersNeeded is the fewest different signers of the clause that
// satisfy it whichever they are: an id named twice (the same key in two
// attestors) counts twice for the original, so the worst case is the
// signers named least often. exact says that fewer never satisfy it.
func (c clause) signersNeeded() (k int, exact bool) {
	ms := multiplicities(c.ids)
	slices.Sort(ms)
	sum := 0
	for k < len(ms) && sum < c.n {
		sum += ms[k]
		k++
	}
	if sum < c.n {
		return len(ms) + 1, true // cannot be satisfied: more signers than there are
	}
	most := 0 // the k-1 signers named most often
	for _, m := range ms[len(ms)-max(k-1, 0):] {
		most += m
	}
	return k, most < c.n
}

// multiplicities is how often each id is named.
func multiplicities(ids []string) []int {
	count := map[string]int{}
	var order []string
	for _, id := range ids {
		if count[id] == 0 {
			order = append(order, id)
		}
		count[id]++
	}
	out := make([]int, len(order))
	for i, id := range order {
		out[i] = count[id]
	}
	return out
}

// attestation is an attestation the image must carry, signed by one of signers.
type attestation struct {
	name, predicateType string
	signers             []string // ids, never empty
	condition           string
	comment             string // for a placeholder: what it stands for
}

// Transparency log modes, strictest last.
var tlogOrder = []string{"", "skip", "optional", "required"}

// Modes, strictest last.
var modeOrder = []string{"", "audit", "warn", "enforce"}

func stricterOf(order []string, a, b string) string {
	if slices.Index(order, b) > slices.Index(order, a) {
		return b
	}
	return a
}

// requirement is what one source rule asks of the images it matches: a
// conjunction of signature clauses and attestations.
type requirement struct {
	origin         string // "Kyverno ClusterPolicy check-image, rule check-image"
	sc             scope
	signers        []signer
	clauses        []clause
	attestations   []attestation
	tlog           string
	digestRequired bool
	mode           string
	// refusals are what could not be translated, or a static refusal:
	// the rule then refuses every image it applies to.
	refusals []string
}

// addSigner records s and returns its id.
func (r *requirement) addSigner(s signer) string {
	if !slices.ContainsFunc(r.signers, func(o signer) bool { return o.id == s.id }) {
		r.signers = append(r.signers, s)
	}
	return s.id
}

func (r *requirement) refuse(why string) { r.refusals = append(r.refusals, why) }

// refuseSigner is the signer a refusing rule names when it has none: an
// identity no certificate authority issues certificates for (.invalid is
// reserved, RFC 2606). The placeholder attestation's false condition is
// what refuses; this only lets the rule name a signer for it.
var refuseSigner = signer{id: "refused", hint: "refused", s: policy.Signer{Keyless: &policy.Keyless{
	Issuer: "https://refused.invalid", Subject: "untranslated",
}}}

// placeholderType is the predicate type of a refusing placeholder: no
// attestation has it, and its condition is false anyway.
const placeholderType = "https://signet.dev/import/untranslated/v1"

// rendered is one image rule of the output, with its comments.
type rendered struct {
	rule        policy.ImageRule
	attComments map[int]string
}

// render writes the conjunction of reqs as one Signet rule: the first is
// the rule's own requirement, the others those it carries for images it
// shares with other rules. Where Signet can only say it more strictly, a
// Stricter finding says so.
func render(pattern string, reqs []*requirement) rendered {
	own := reqs[0]
	all := conjunction(reqs)
	out := rendered{rule: policy.ImageRule{Pattern: pattern}, attComments: map[int]string{}}
	names := nameSigners(all.signers)
	for _, s := range all.signers {
		sg := s.s
		sg.Name = names[s.id]
		out.rule.Signers = append(out.rule.Signers, sg)
	}
	if n := threshold(own, all); n != 1 && len(out.rule.Signers) > 0 { // 1 is the default
		out.rule.Threshold = &n
	}
	for _, a := range all.attestations {
		ar := policy.AttestationRule{Name: a.name, PredicateType: a.predicateType, Condition: a.condition}
		if len(a.signers) < len(all.signers) {
			for _, id := range a.signers {
				ar.Signers = append(ar.Signers, names[id])
			}
		}
		if a.comment != "" {
			out.attComments[len(out.rule.Attestations)] = a.comment
		}
		out.rule.Attestations = append(out.rule.Attestations, ar)
	}
	if len(all.refusals) > 0 {
		out.attComments[len(out.rule.Attestations)] = "This placeholder refuses every image the rule applies to (see the import report):\n- " + strings.Join(all.refusals, "\n- ")
		out.rule.Attestations = append(out.rule.Attestations, policy.AttestationRule{
			Name: "untranslated", PredicateType: placeholderType, Condition: "false"})
	}
	if all.mode != "enforce" {
		out.rule.Mode = all.mode
	}
	if all.tlog != "optional" {
		out.rule.TransparencyLog = all.tlog
	}
	if all.digestRequired {
		out.rule.Tags = &policy.TagRules{DigestRequired: true}
	}
	return out
}

// conjunction is what all of reqs ask together: every signer, clause,
// attestation and refusal; the strictest mode and transparency-log
// setting of those that ask anything.
func conjunction(reqs []*requirement) requirement {
	var all requirement
	for _, r := range reqs {
		for _, s := range r.signers {
			all.addSigner(s)
		}
		all.clauses = append(all.clauses, r.clauses...)
		for _, a := range r.attestations {
			if !slices.ContainsFunc(all.attestations, func(b attestation) bool { return sameAttestation(a, b) }) {
				all.attestations = append(all.attestations, a)
			}
		}
		if !r.empty() {
			all.tlog = stricterOf(tlogOrder, all.tlog, r.tlog)
			all.mode = stricterOf(modeOrder, all.mode, r.mode)
		}
		all.digestRequired = all.digestRequired || r.digestRequired
		for _, x := range r.refusals {
			all.refusals = append(all.refusals, r.origin+": "+x)
		}
	}
	if all.mode == "" {
		all.mode, all.tlog = reqs[0].mode, reqs[0].tlog
	}
	if len(all.refusals) > 0 && len(all.signers) == 0 {
		all.addSigner(refuseSigner)
	}
	return all
}

func sameAttestation(a, b attestation) bool {
	return a.name == b.name && a.predicateType == b.predicateType && a.condition == b.condition &&
		a.comment == b.comment && slices.Equal(a.signers, b.signers)
}

// threshold is how many of the rule's signers must sign so that every
// clause holds: with U all the rule's signers, a clause "n of E" holds
// when any t of U signed if t >= n + |U \ E|. Exact when it is the one
// clause over all the signers, or every clause asks for all of its
// signers and they are all the signers; otherwise stricter, and said so.
func threshold(own *requirement, all requirement) int {
	u := len(all.signers)
	if u == 0 {
		return 0
	}
	attOnly := attestationOnly(all)
	t := 0
	allOf := true
	for _, c := range all.clauses {
		k, exact := c.signersNeeded()
		t = max(t, k+u-c.distinct())
		allOf = allOf && c.all()
		if !exact {
			own.sc.stricter("", "some attestors name the same signer, so one signature counted several times for the original; Signet counts each signer once, so the rule requires %d of its %d signers", t, u)
		}
	}
	switch {
	case len(all.clauses) == 0 && len(all.refusals) == 0 && len(all.attestations) > 0:
		// The original checks attestations only, not the image's
		// signature: threshold 0 says the same.
		return 0
	case len(all.clauses) == 0:
		return 1
	case len(attOnly) > 0:
		own.sc.stricter("", "Signet counts attestation signers (%s) as image signers too, so the rule requires %d of its %d signers to sign the image: they must sign the image as well as the attestations", listIDs(all, attOnly), t, u)
	case len(all.clauses) > 1 && !allOf:
		var parts []string
		for _, c := range all.clauses {
			parts = append(parts, fmt.Sprintf("%d of %s", c.n, listIDs(all, c.ids)))
		}
		own.sc.stricter("", "Signet has one threshold per rule: where the originals ask for %s, the rule requires %d of its %d signers", strings.Join(parts, " and "), t, u)
	}
	return max(t, 1)
}

// attestationOnly lists the signers no signature clause names.
func attestationOnly(all requirement) []string {
	var out []string
	for _, s := range all.signers {
		if !slices.ContainsFunc(all.clauses, func(c clause) bool { return slices.Contains(c.ids, s.id) }) {
			out = append(out, s.id)
		}
	}
	return out
}

func listIDs(all requirement, ids []string) string {
	names := nameSigners(all.signers)
	var out []string
	for _, id := range ids {
		out = append(out, names[id])
	}
	return strings.Join(out, ", ")
}

// unsafeName is what a signer's name is better without.
var unsafeName = lazyre.New(`[^A-Za-z0-9._-]+`)

// nameSigners gives each signer a name of its own within a rule, from its
// hint (the source's rule or authority name).
func nameSigners(ss []signer) map[string]string {
	names := map[string]string{}
	used := map[string]bool{}
	for _, s := range ss {
		hint := strings.Trim(unsafeName.ReplaceAllString(s.hint, "-"), "-")
		if hint == "" {
			hint = "signer"
		}
		n := hint
		for i := 2; used[n]; i++ {
			n = fmt.Sprintf("%s-%d", hint, i)
		}
		used[n] = true
		names[s.id] = n
	}
	return names
}
