package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
)

// receiptSkew is how far ahead of the engine's clock a receipt's
// timeVerified may be (the gate's clock may run a little fast).
const receiptSkew = 5 * time.Minute

// rulePrefix introduces the rule in a summary's policy uri:
// signet-policy:NAME#/images/INDEX (a JSON pointer into the document).
const rulePrefix = "#/images/"

// receipt is a trusted gate's verification summary of this image.
type receipt struct {
	gate     string // the trusted gate key's name
	manifest string
	at       time.Time
	undated  bool // timeVerified missing or unreadable
	result   string
	verifier string
	policy   string // SHA-256 hex
	rule     int    // -1 when the policy uri names no rule
}

// receiptCheck lets a trusted gate's verification summary stand in for the
// rule's checks. Per gate, the newest summary about this repository and
// digest (by its signed timeVerified) decides: it stands in only when it
// says PASSED, was decided under this policy's digest and this rule (or
// under a policy listed in receipts.policyDigests), is not too old and not
// from the future, and the rule limits no attestation's age (which a
// summary cannot vouch for). True when one stands in. Otherwise — no receipt, or a
// refused one, or a newest FAILED — the rule's own checks decide: a FAILED
// summary revokes the gate's earlier PASSED ones but denies nothing by
// itself, so it never makes the engine more permissive than full
// verification.
func (e *Engine) receiptCheck(ctx context.Context, d *Decision, image string, t *oci.Target, arts []oci.Artifact, rule *policy.Rule) bool {
	res, _ := e.gates.evalAttestations(ctx, image, t, arts, AttestationRequest{PredicateType: policy.VSAPredicateType,
		TransparencyLog: TlogOptional, Clock: e.now})
	refused := map[string]string{} // by manifest
	var notes []string
	refuse := func(gate, manifest, why string) {
		refused[manifest] = why
		notes = append(notes, "receipt from gate "+gate+" refused: "+why)
	}
	newest := map[string]*receipt{}
	for _, s := range res.Signatures {
		if !s.Verified {
			continue
		}
		r, why := readReceipt(s, t.Digest)
		if why != "" {
			refuse(s.Key, s.Manifest, why)
			continue
		}
		if cur := newest[r.gate]; cur == nil || r.newerThan(cur) {
			newest[r.gate] = r
		}
	}
	gates := make([]string, 0, len(newest))
	for g := range newest {
		gates = append(gates, g)
	}
	slices.Sort(gates)
	for _, s := range res.Signatures {
		if r := newest[s.Key]; s.Verified && r != nil && r.manifest != s.Manifest && refused[s.Manifest] == "" {
			refused[s.Manifest] = "superseded by a newer summary from gate " + s.Key
		}
	}
	for _, g := range gates {
		r := newest[g]
		if why := e.refuseReceipt(r, rule); why != "" {
			refuse(g, r.manifest, why)
			continue
		}
		under := fmt.Sprintf("this policy, rule images[%d]", rule.Index)
		if r.policy != e.policy.Hash {
			under = "policy " + short12(r.policy) + " (listed in receipts.policyDigests)"
		}
		d.add("receipt", Pass, "", fmt.Sprintf("gate %s verified %s@%s at %s under %s: PASSED (its receipt stands in for the rule's checks)",
			g, t.Digest.Context().Name(), shortDigest(t.Digest.DigestStr()), r.at.UTC().Format(time.RFC3339), under), receiptEvidence(res, refused))
		d.Checks[len(d.Checks)-1].expires = r.at.Add(e.policy.Receipts.MaxAge)
		return true
	}
	if slices.ContainsFunc(res.Signatures, func(s Signature) bool { return !s.Verified }) {
		notes = append(notes, "no valid receipt: "+refusals(res))
	}
	if len(notes) == 0 {
		notes = []string{"no receipt from a trusted gate"}
	}
	d.add("receipt", Skip, "", strings.Join(notes, "; ")+"; verifying the rule's requirements", receiptEvidence(res, refused))
	return false
}

func receiptEvidence(res *Result, refused map[string]string) []Evidence {
	var ev []Evidence
	for _, s := range res.Signatures {
		x := evidenceOf(s, policy.VSAPredicateType)
		if x.Refused == "" {
			x.Refused = refused[s.Manifest]
		}
		ev = append(ev, x)
	}
	return ev
}

// newerThan orders a gate's summaries by timeVerified; an undated one
// counts as the newest (it cannot be shown to be older), and on a tie a
// summary that is not PASSED wins.
func (r *receipt) newerThan(o *receipt) bool {
	switch {
	case r.undated || o.undated:
		return r.undated && !o.undated
	case !r.at.Equal(o.at):
		return r.at.After(o.at)
	}
	return r.result != "PASSED" && o.result == "PASSED"
}

// refuseReceipt says why the newest summary from a gate cannot stand in
// for rule ("" when it can).
func (e *Engine) refuseReceipt(r *receipt, rule *policy.Rule) string {
	cfg := e.policy.Receipts
	now := e.now()
	at := r.at.UTC().Format(time.RFC3339)
	switch {
	case r.undated:
		return "its timeVerified cannot be read, so it cannot be ordered against the gate's other summaries"
	case r.result != "PASSED":
		return fmt.Sprintf("its newest summary of this image, verified at %s, says %q (this revokes its earlier PASSED summaries; it denies nothing by itself)", at, r.result)
	case r.at.After(now.Add(receiptSkew)):
		return fmt.Sprintf("it is dated %s, in the future (more than %s ahead of this clock)", at, receiptSkew)
	case now.Sub(r.at) > cfg.MaxAge:
		return fmt.Sprintf("it is too old: verified at %s, %s ago, over the maximum age %s", at, now.Sub(r.at).Round(time.Minute), cfg.MaxAge)
	case cfg.VerifierID != "" && r.verifier != cfg.VerifierID:
		return fmt.Sprintf("its verifier is %q, not %q", r.verifier, cfg.VerifierID)
	case maxAgeOf(rule) > 0:
		return fmt.Sprintf("rule images[%d] limits the age of its attestations (maxAge %s), and a receipt cannot show when they grow too old "+
			"(it says when the gate verified, not when they were made)", rule.Index, maxAgeOf(rule))
	case r.policy == e.policy.Hash:
		if r.rule < 0 {
			return "it does not say which rule it was decided under (its policy uri has no " + rulePrefix + "INDEX)"
		}
		if r.rule != rule.Index {
			return fmt.Sprintf("it was decided under rule images[%d], not images[%d] which applies here", r.rule, rule.Index)
		}
	case !slices.Contains(cfg.PolicyDigests, r.policy):
		return fmt.Sprintf("it was decided under policy %s, not this policy %s (run the gate with this policy and its keys, or list that digest in receipts.policyDigests to trust it)",
			short12(r.policy), short12(e.policy.Hash))
	case e.policy.Recalls.HasKeys():
		// That policy's digest does not say it revokes these keys too.
		return fmt.Sprintf("it was decided under policy %s, and this policy's recall list revokes keys that policy may not revoke "+
			"(run the gate with this policy, recall list and all, for its receipts to count)", short12(r.policy))
	}
	return ""
}

// maxAgeOf is the shortest maxAge of the rule's attestations (0: none has one).
func maxAgeOf(rule *policy.Rule) time.Duration {
	var out time.Duration
	for _, a := range rule.Attestations {
		if a.MaxAge > 0 && (out == 0 || a.MaxAge < out) {
			out = a.MaxAge
		}
	}
	return out
}

// readReceipt reads a verified summary and checks that it is about this
// image: its resourceUri and its subject name this repository, and its
// resourceUri this digest. The reason is "" when it is.
func readReceipt(s Signature, want name.Digest) (*receipt, string) {
	var st struct {
		Subject []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		Predicate struct {
			Verifier struct {
				ID string `json:"id"`
			} `json:"verifier"`
			TimeVerified string `json:"timeVerified"`
			ResourceURI  string `json:"resourceUri"`
			Policy       struct {
				URI    string            `json:"uri"`
				Digest map[string]string `json:"digest"`
			} `json:"policy"`
			VerificationResult string `json:"verificationResult"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(s.Statement, &st); err != nil {
		return nil, "its summary cannot be read: " + err.Error()
	}
	p := st.Predicate
	rest, ok := strings.CutPrefix(p.ResourceURI, "oci://")
	res, err := name.NewDigest(rest)
	if !ok || err != nil {
		return nil, fmt.Sprintf("its resourceUri %q is not oci://REGISTRY/REPOSITORY@DIGEST", p.ResourceURI)
	}
	if !sameRepository(res.Context(), want.Context()) {
		return nil, fmt.Sprintf("it names %s, not %s", res.Context().Name(), want.Context().Name())
	}
	if res.DigestStr() != want.DigestStr() {
		return nil, fmt.Sprintf("it is about %s, not %s", shortDigest(res.DigestStr()), shortDigest(want.DigestStr()))
	}
	hex := strings.TrimPrefix(want.DigestStr(), "sha256:")
	for _, sub := range st.Subject {
		if sub.Digest["sha256"] != hex {
			continue
		}
		if repo, err := name.NewRepository(sub.Name); err != nil || !sameRepository(repo, want.Context()) {
			return nil, fmt.Sprintf("its subject names %s, not %s", sub.Name, want.Context().Name())
		}
	}
	r := &receipt{gate: s.Key, manifest: s.Manifest, result: p.VerificationResult, verifier: p.Verifier.ID,
		policy: p.Policy.Digest["sha256"], rule: ruleOf(p.Policy.URI)}
	r.at, err = time.Parse(time.RFC3339, p.TimeVerified)
	r.undated = err != nil
	return r, ""
}

// ruleOf finds the rule index in a policy uri (…#/images/INDEX); -1 when
// there is none.
func ruleOf(uri string) int {
	i := strings.LastIndex(uri, rulePrefix)
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(uri[i+len(rulePrefix):])
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// sameRepository reports whether a and b name the same repository once
// normalised as policy patterns and references are (policy.NormalizeRepository);
// a name with no canonical spelling matches nothing.
func sameRepository(a, b name.Repository) bool {
	na, errA := policy.NormalizeRepository(a.Name())
	nb, errB := policy.NormalizeRepository(b.Name())
	return errA == nil && errB == nil && na == nb
}

// shortDigest is sha256:<first 12 hex digits>.
func shortDigest(d string) string {
	alg, hex, _ := strings.Cut(d, ":")
	return alg + ":" + hex[:min(12, len(hex))]
}
