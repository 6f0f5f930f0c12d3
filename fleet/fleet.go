// Package fleet answers "what would a new policy deny of what already runs?":
// it lists every image a cluster's workloads run or declare (pods and every
// workload kind's pod template, read as the admission webhook reads them) and
// the tags of registry repositories, decides each distinct image under a new
// policy and, optionally, the current one, and reports the difference —
// above all what would be newly denied, and why. The same check, run
// periodically under the webhook's own policy, is the webhook's background
// audit (Auditor).
//
// A registry failure is never an allowed image: an image that could not be
// checked is reported as unknown, and counts against the check.
package fleet

import (
	"context"

	"github.com/signet-dev/signet/verify"
)

// Decider decides images under one policy; *verify.Engine is one.
type Decider interface {
	// DecideAll decides every image, in input order.
	DecideAll(ctx context.Context, images []string) []*verify.Decision
}

// Workload is one thing that runs images: a top-level object of the
// cluster (a Deployment with its ReplicaSets and Pods, a CronJob with its
// Jobs and Pods, a Pod of its own), a registry repository (kind
// Repository), or an image given by name (kind Image).
type Workload struct {
	Namespace  string `json:"namespace,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Name       string `json:"name,omitempty"`
	// Images are the distinct (container, image) pairs the workload and the
	// objects it owns run.
	Images []Image `json:"images"`
	// Problem says why the workload's images could not be read (a
	// repository whose tags could not be listed); it is then reported as
	// could not check.
	Problem string `json:"problem,omitempty"`
}

// Image is one image a workload runs.
type Image struct {
	// Container names the container ("app"), with "(init)", "(ephemeral)"
	// or "(volume)" for the other lists; "" for registry sources.
	Container string `json:"container,omitempty"`
	Ref       string `json:"image"`
	// Object is the owned object that runs this image when the workload's
	// own template does not ("ReplicaSet/web-5d8f", "Pod/web-5d8f-x2k"): an
	// old ReplicaSet kept for rollbacks, a Pod changed after it was created.
	Object string `json:"object,omitempty"`
}

// Verdict is what admission would answer for an image.
type Verdict string

// Verdicts.
const (
	// Allowed: the image passes the policy.
	Allowed Verdict = "allowed"
	// Warned: the image fails the policy, but its rule's mode (warn,
	// audit) admits it.
	Warned Verdict = "warned"
	// Denied: the policy refuses the image.
	Denied Verdict = "denied"
	// Unknown: the image could not be checked (the registry failed); it is
	// not taken as allowed.
	Unknown Verdict = "unknown"
)

// admitted says whether admission lets the image run.
func (v Verdict) admitted() bool { return v == Allowed || v == Warned }

// Outcome is one policy's verdict on an image, with the decision's reason.
type Outcome struct {
	Verdict Verdict `json:"verdict"`
	// Reason is the failure that decided (or, warned, would have), as
	// signet verify --policy prints it; "" when allowed cleanly.
	Reason string `json:"reason,omitempty"`
	// Class is the failure's class: not-found, invalid, policy-denied,
	// transient.
	Class string `json:"class,omitempty"`
	// Rule is the pattern of the rule that applied ("" for the default
	// action).
	Rule   string `json:"rule,omitempty"`
	Digest string `json:"digest,omitempty"`
}

// outcomeOf reads a decision: a registry failure is Unknown whatever the
// rule's mode, never allowed.
func outcomeOf(d *verify.Decision) Outcome {
	if d == nil {
		return Outcome{Verdict: Unknown, Reason: "not decided", Class: string(verify.ClassTransient)}
	}
	o := Outcome{Reason: d.Reason, Class: string(d.Class), Rule: d.Rule, Digest: d.Digest}
	switch {
	case d.Class == verify.ClassTransient:
		o.Verdict = Unknown
	case !d.Allowed:
		o.Verdict = Denied
	case d.Failed():
		o.Verdict = Warned
	default:
		o.Verdict = Allowed
	}
	return o
}

// Change is how an image's verdict moves from the current policy to the
// new one.
type Change string

// Changes. Without a current policy only ChangeDenied, ChangeAllowed and
// ChangeUnknown occur.
const (
	// NewlyDenied: admitted today, denied under the new policy.
	NewlyDenied Change = "newly-denied"
	// NewlyAllowed: denied today, admitted under the new policy.
	NewlyAllowed Change = "newly-allowed"
	// StillDenied: denied under both.
	StillDenied Change = "still-denied"
	// Unchanged: admitted under both.
	Unchanged Change = "unchanged"
	// ChangeUnknown: the image could not be checked under one of them.
	ChangeUnknown Change = "unknown"
	// ChangeDenied: denied under the new policy (no current one given).
	ChangeDenied Change = "denied"
	// ChangeAllowed: admitted under the new policy (no current one given).
	ChangeAllowed Change = "allowed"
)

// changeOf compares the outcomes; current is nil without a current policy.
func changeOf(next Outcome, current *Outcome) Change {
	switch {
	case next.Verdict == Unknown || current != nil && current.Verdict == Unknown:
		return ChangeUnknown
	case current == nil && next.Verdict.admitted():
		return ChangeAllowed
	case current == nil:
		return ChangeDenied
	case current.Verdict.admitted() && !next.Verdict.admitted():
		return NewlyDenied
	case !current.Verdict.admitted() && next.Verdict.admitted():
		return NewlyAllowed
	case !next.Verdict.admitted():
		return StillDenied
	}
	return Unchanged
}

// Result is one image of one workload, under both policies.
type Result struct {
	Namespace  string `json:"namespace,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Name       string `json:"name,omitempty"`
	Object     string `json:"object,omitempty"`
	Container  string `json:"container,omitempty"`
	Image      string `json:"image"`
	Change     Change `json:"change"`
	// New is the verdict under the new policy.
	New Outcome `json:"new"`
	// Current is the verdict under the current policy; absent without one.
	Current *Outcome `json:"current,omitempty"`
}

// Summary counts a report. Image counts are of distinct image references
// (a verdict depends on the reference only), by change.
type Summary struct {
	Workloads    int `json:"workloads"`
	Images       int `json:"images"`
	NewlyDenied  int `json:"newlyDenied"`
	NewlyAllowed int `json:"newlyAllowed"`
	StillDenied  int `json:"stillDenied"`
	Unchanged    int `json:"unchanged"`
	Denied       int `json:"denied"`
	Allowed      int `json:"allowed"`
	// Unknown counts images (and sources, such as a repository whose tags
	// could not be listed) that could not be checked.
	Unknown int `json:"unknown"`
	// DeniedWorkloads counts the workloads with an image newly denied (with
	// a current policy) or denied (without).
	DeniedWorkloads int `json:"deniedWorkloads"`
	// SkippedTags counts repository tags that name signatures, attestations
	// or referrers fallback indexes (sha256-<hex>[.sig|.att|.sbom]), not images.
	SkippedTags int `json:"skippedTags,omitempty"`
}

// Report is a fleet check's answer.
type Report struct {
	// Against says whether a current policy was compared.
	Against bool     `json:"against"`
	Summary Summary  `json:"summary"`
	Results []Result `json:"results"`
}

// Gate says whether the check should fail a policy change: an image would
// be newly denied or, without a current policy, is denied.
func (r *Report) Gate() bool { return r.Summary.NewlyDenied > 0 || r.Summary.Denied > 0 }

// Incomplete says whether anything could not be checked.
func (r *Report) Incomplete() bool { return r.Summary.Unknown > 0 }
