package kubepolicy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/verify"
)

// Member is one policy resource and the engine that applies it.
type Member struct {
	Ref     Ref
	Decider admission.Decider
}

// Set is every policy resource in effect, deciding together; it is the
// webhook's decider under the kubernetes policy source. For an image in
// namespace N, every SignetClusterPolicy and every SignetPolicy in N is
// consulted, each on its own (a policy's rules match the image or its
// defaultAction applies). The image is admitted only when at least one
// SignetClusterPolicy exists and no consulted policy denies it, so a
// SignetPolicy can only narrow what the cluster policies admit: its
// defaultAction allow, its warn and audit rules and its receipts admit
// nothing another policy denies. Warnings of every policy are kept. When
// several policies verified a tag, they must have verified the same
// digest (a tag that moved between two checks is denied), and that digest
// is the one the mutating webhook pins. A policy that is not Ready denies
// every image it applies to. A Set is never changed; a new one replaces it.
type Set struct {
	loaded     bool
	cluster    []Member
	namespaced map[string][]Member
}

// NewSet combines the members: cluster policies apply everywhere, a
// SignetPolicy in its namespace.
func NewSet(members []Member) *Set {
	s := &Set{loaded: true, namespaced: map[string][]Member{}}
	for _, m := range members {
		if m.Ref.Namespaced() {
			s.namespaced[m.Ref.Namespace] = append(s.namespaced[m.Ref.Namespace], m)
		} else {
			s.cluster = append(s.cluster, m)
		}
	}
	byName := func(ms []Member) {
		sort.Slice(ms, func(i, j int) bool { return ms[i].Ref.Name < ms[j].Ref.Name })
	}
	byName(s.cluster)
	for _, ms := range s.namespaced {
		byName(ms)
	}
	return s
}

// Unloaded is the Set before the policy resources are read: it denies
// every image.
func Unloaded() *Set { return &Set{} }

// In is the decider for objects in namespace ("" for cluster-scoped
// objects, which only cluster policies judge).
func (s *Set) In(namespace string) admission.Decider { return view{s, namespace} }

// DecideAll decides under the cluster policies alone.
func (s *Set) DecideAll(ctx context.Context, images []string) []*verify.Decision {
	return s.In("").DecideAll(ctx, images)
}

// Fallback decides without the registry under the cluster policies alone.
func (s *Set) Fallback(image, reason string, receipts, pinTags bool) *verify.Decision {
	return s.In("").Fallback(image, reason, receipts, pinTags)
}

// Policies lists the members (cluster policies first, then by namespace).
func (s *Set) Policies() []Ref {
	var out []Ref
	for _, m := range s.cluster {
		out = append(out, m.Ref)
	}
	namespaces := make([]string, 0, len(s.namespaced))
	for ns := range s.namespaced {
		namespaces = append(namespaces, ns)
	}
	sort.Strings(namespaces)
	for _, ns := range namespaces {
		for _, m := range s.namespaced[ns] {
			out = append(out, m.Ref)
		}
	}
	return out
}

// view is a Set deciding for one namespace.
type view struct {
	set       *Set
	namespace string
}

// members are the policies consulted, or why none can admit anything.
func (v view) members() ([]Member, string) {
	switch {
	case !v.set.loaded:
		return nil, "the webhook has not read the policy resources yet"
	case len(v.set.cluster) == 0:
		return nil, "no SignetClusterPolicy exists, and without one nothing is admitted: apply a SignetClusterPolicy (docs/kubernetes-policies.md)"
	}
	own := v.set.namespaced[v.namespace]
	if v.namespace != "" && len(own) > MaxNamespacedPolicies {
		return nil, fmt.Sprintf("namespace %s has %d SignetPolicy resources, more than the %d the webhook consults (each verifies every image again); "+
			"merge them into fewer policies", v.namespace, len(own), MaxNamespacedPolicies)
	}
	ms := append([]Member(nil), v.set.cluster...)
	if v.namespace != "" {
		ms = append(ms, own...)
	}
	return ms, ""
}

// MaxNamespacedPolicies bounds the SignetPolicy resources consulted in one
// namespace. Each verifies every image on its own (its own registry
// requests, its own cache), so without a bound whoever may create them in
// one namespace could make each of its reviews cost the webhook, and the
// registries every namespace shares, any number of verifications. A
// namespace with more is denied everything until they are merged.
const MaxNamespacedPolicies = 16

func (v view) DecideAll(ctx context.Context, images []string) []*verify.Decision {
	members, why := v.members()
	if why != "" {
		return refuseAll(images, why)
	}
	results := make([][]*verify.Decision, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Go(func() { results[i] = m.Decider.DecideAll(ctx, images) })
	}
	wg.Wait()
	out := make([]*verify.Decision, len(images))
	for j, img := range images {
		ds := make([]*verify.Decision, len(members))
		for i := range members {
			ds[i] = results[i][j]
		}
		out[j] = combine(img, members, ds)
	}
	return out
}

func (v view) Fallback(image, reason string, receipts, pinTags bool) *verify.Decision {
	members, why := v.members()
	if why != "" {
		return refuseAll([]string{image}, why)[0]
	}
	ds := make([]*verify.Decision, len(members))
	for i, m := range members {
		ds[i] = m.Decider.Fallback(image, reason, receipts, pinTags)
	}
	return combine(image, members, ds)
}

// combine is the Set's verdict for one image from each member's.
func combine(image string, members []Member, ds []*verify.Decision) *verify.Decision {
	out := &verify.Decision{Image: image, Allowed: true, Mode: "enforce", RuleIndex: -1}
	var denied, warned []int
	hashes := make([]string, len(ds))
	for i, d := range ds {
		hashes[i] = d.PolicyHash
		out.Checks = append(out.Checks, tagged(d.Checks, members[i].Ref)...)
		switch {
		case !d.Allowed:
			denied = append(denied, i)
		case d.Failed():
			warned = append(warned, i)
		}
	}
	out.PolicyHash = setHash(hashes)
	if len(denied) > 0 {
		return deny(out, members, ds, denied)
	}
	if why := digestConflict(members, ds); why != "" {
		out.Allowed, out.Class = false, verify.ClassTransient
		out.Reason = "digest [" + string(verify.ClassTransient) + "]: " + why
		return out
	}
	for _, d := range ds {
		if out.Digest == "" && d.Digest != "" {
			out.Digest, out.Tag = d.Digest, d.Tag
		}
		if out.Rule == "" && d.Rule != "" {
			out.Rule, out.RuleIndex = d.Rule, d.RuleIndex
		}
		out.Cached = out.Cached || d.Cached
	}
	if out.Digest != "" && !pinnable(image, out.Digest) {
		// The webhook would refuse to pin it; a lenient rule must not turn
		// that into a warning for the other policies' verdicts.
		out.Allowed, out.Class = false, verify.ClassPolicyDenied
		out.Reason = fmt.Sprintf("pin [%s]: the reference cannot be made to run the verified digest %s", verify.ClassPolicyDenied, out.Digest)
		return out
	}
	if len(warned) > 0 {
		first := ds[warned[0]]
		out.Mode, out.Class = first.Mode, first.Class
		out.Reason = reasons(members, ds, warned)
	}
	return out
}

// deny is out denied by the members at denied: the first denial that is
// not a registry failure decides (else the first), every denial is named.
func deny(out *verify.Decision, members []Member, ds []*verify.Decision, denied []int) *verify.Decision {
	sort.SliceStable(denied, func(a, b int) bool {
		return ds[denied[a]].Class != verify.ClassTransient && ds[denied[b]].Class == verify.ClassTransient
	})
	d := ds[denied[0]]
	out.Allowed, out.Mode, out.Class = false, d.Mode, d.Class
	out.Digest, out.Tag, out.Rule, out.RuleIndex, out.Cached = d.Digest, d.Tag, d.Rule, d.RuleIndex, d.Cached
	out.Reason = reasons(members, ds, denied)
	return out
}

// reasons joins the reasons of ds at idx, each naming its policy.
func reasons(members []Member, ds []*verify.Decision, idx []int) string {
	parts := make([]string, len(idx))
	for k, i := range idx {
		parts[k] = fmt.Sprintf("%s (%s)", ds[i].Reason, members[i].Ref)
	}
	return strings.Join(parts, "; ")
}

// digestConflict says which policies verified different digests for the
// image ("" when they agree).
func digestConflict(members []Member, ds []*verify.Decision) string {
	first := -1
	for i, d := range ds {
		switch {
		case d.Digest == "":
		case first < 0:
			first = i
		case d.Digest != ds[first].Digest:
			return fmt.Sprintf("the image resolved to %s for %s but to %s for %s (the tag moved while it was checked); try again",
				ds[first].Digest, members[first].Ref, d.Digest, members[i].Ref)
		}
	}
	return ""
}

// pinnable reports whether the webhook can make image run digest: a tag,
// or a reference naming that digest.
func pinnable(image, digest string) bool {
	ref, err := name.ParseReference(image, name.WeakValidation)
	if err != nil {
		return false
	}
	if d, ok := ref.(name.Digest); ok {
		return d.DigestStr() == digest
	}
	return true
}

// tagged is checks, each message naming the policy it came from.
func tagged(checks []verify.PolicyCheck, ref Ref) []verify.PolicyCheck {
	out := make([]verify.PolicyCheck, len(checks))
	for i, c := range checks {
		c.Message = fmt.Sprintf("%s (%s)", c.Message, ref)
		out[i] = c
	}
	return out
}

// setHash identifies the policies that decided together.
func setHash(hashes []string) string {
	if len(hashes) == 1 {
		return hashes[0]
	}
	h := sha256.Sum256([]byte(strings.Join(hashes, "\n")))
	return hex.EncodeToString(h[:])
}

// refusing decides for a policy that is not in effect: it denies every
// image it applies to, saying why.
type refusing struct{ why string }

// Refusing is the decider of a policy resource that is not Ready (why says
// what is wrong with it): it denies every image it applies to, so a broken
// policy never admits more than the one it replaced.
func Refusing(ref Ref, why string) admission.Decider {
	why = strings.Join(strings.Fields(why), " ")
	if len(why) > 400 {
		cut := 400
		for cut > 0 && why[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
			cut--
		}
		why = why[:cut] + "..."
	}
	return refusing{fmt.Sprintf("this policy is not in effect (%s): %s; see %s", ReasonInvalid, why, ref.describe())}
}

func (r refusing) DecideAll(_ context.Context, images []string) []*verify.Decision {
	return refuseAll(images, r.why)
}

func (r refusing) Fallback(image, _ string, _, _ bool) *verify.Decision {
	return refuseAll([]string{image}, r.why)[0]
}

func refuseAll(images []string, why string) []*verify.Decision {
	out := make([]*verify.Decision, len(images))
	for i, img := range images {
		out[i] = &verify.Decision{Image: img, Mode: "enforce", RuleIndex: -1, Class: verify.ClassPolicyDenied,
			Reason: "policy [" + string(verify.ClassPolicyDenied) + "]: " + why,
			Checks: []verify.PolicyCheck{{Name: "policy", Outcome: verify.Fail, Class: verify.ClassPolicyDenied, Message: why}}}
	}
	return out
}
