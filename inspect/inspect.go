package inspect

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/taghead"
	"github.com/signet-dev/signet/verify"
)

// maxPlatforms bounds how many entries of an index are inspected.
const maxPlatforms = 64

// Options configure Inspect.
type Options struct {
	// Engine, when set, judges the image and each platform by its policy.
	Engine *verify.Engine
	// Trust names transparency logs by their key ids (optional).
	Trust root.TrustedMaterial
	// Now is the clock for ages (default time.Now).
	Now func() time.Time
	// Recalls are recall lists whose recalled digests the report marks
	// (besides the Engine's, whose verdicts also deny them).
	Recalls []*policy.Recalls
}

// Inspect lists what is attached to image (and, for an index, to each of
// its platform manifests). Only a failure to resolve the image is an
// error; anything that cannot be read below it is reported in the Report.
func Inspect(ctx context.Context, client *oci.Client, image string, o Options) (*Report, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	t, err := client.Resolve(ctx, image)
	if err != nil {
		return nil, err
	}
	r := &reader{trust: o.Trust, now: now(), recalls: o.Recalls}
	rep := &Report{Image: image, Tag: t.Tag}
	if o.Engine != nil {
		rep.Policy = &PolicyRef{Hash: o.Engine.PolicyHash(), Name: o.Engine.PolicyName()}
	}
	var index *verify.Decision
	rep.Subject, index = r.subject(ctx, client, t, image, o.Engine, nil)
	if t.Tag != "" && t.Layout() == nil {
		// A layout's tags are not the registry's: its signed heads do not apply.
		rep.SignedHead = signedHead(ctx, client, t)
	}
	children, err := client.Children(ctx, t)
	if err != nil {
		rep.Subject.Error = err.Error()
		return rep, nil
	}
	if len(children) > maxPlatforms {
		rep.Subject.Error = fmt.Sprintf("the index lists %d manifests; the first %d are shown", len(children), maxPlatforms)
		children = children[:maxPlatforms]
	}
	rep.Subject.Platforms = make([]*Subject, len(children))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, ch := range children {
		ct := t.Child(ch)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			rep.Subject.Platforms[i], _ = r.subject(ctx, client, ct, ct.Reference(), o.Engine, index)
		}()
	}
	wg.Wait()
	return rep, nil
}

// subject discovers what is attached to t and, with an engine, judges it:
// a platform manifest that the decision on its index checked (platforms
// every or any) by that check, any other manifest by its own decision.
func (r *reader) subject(ctx context.Context, client *oci.Client, t *oci.Target, ref string, eng *verify.Engine, index *verify.Decision) (*Subject, *verify.Decision) {
	s := &Subject{Reference: t.Digest.String(), Digest: t.Digest.DigestStr(), MediaType: string(t.Descriptor.MediaType), Platform: t.Platform, Artifacts: []*Artifact{}}
	arts, err := client.Discover(ctx, t)
	if err != nil {
		s.Error = err.Error()
	}
	// Who signed each attestation artifact (Notation signatures are its
	// referrers, not the image's).
	if err := client.ReadAttestationSignatures(ctx, t, arts, nil); err != nil && s.Error == "" {
		s.Error = err.Error()
	}
	for _, a := range arts {
		s.Artifacts = append(s.Artifacts, r.artifact(a))
	}
	s.Artifacts = foldDetached(s.Artifacts)
	sortArtifacts(s.Artifacts)
	var d *verify.Decision
	if c := platformCheck(index, s.Digest); c != nil {
		judgePlatform(s, c, index)
		s.Recalled, _ = eng.Recalled(s.Digest)
	} else if eng != nil {
		d = eng.Decide(ctx, ref)
		judge(s, d)
		s.Recalled, _ = eng.Recalled(s.Digest)
	}
	for _, l := range r.recalls {
		if reason, ok := l.Recalled(s.Digest); ok && s.Recalled == "" {
			s.Recalled = fmt.Sprintf("recall list version %d: %s", l.Version, reason)
		}
	}
	return s, d
}

// platformCheck is the check the decision on an index made of its
// platform manifest digest (platforms every or any), nil when none.
func platformCheck(index *verify.Decision, digest string) *verify.PolicyCheck {
	if index == nil {
		return nil
	}
	for i, c := range index.Checks {
		if c.Digest == digest && strings.HasPrefix(c.Name, "platform ") {
			return &index.Checks[i]
		}
	}
	return nil
}

// judgePlatform records the index decision's check of a platform on the
// platform (verified, refused, or unverified under platforms any) and,
// through its own checks' evidence, on the artifacts it used.
func judgePlatform(s *Subject, c *verify.PolicyCheck, index *verify.Decision) {
	judge(s, &verify.Decision{Allowed: true, Rule: index.Rule, Checks: c.Checks})
	why := c.Name + " of the index: " + c.Message
	switch c.Outcome {
	case verify.Pass:
		s.Verdict = &Verdict{Outcome: "verified", Rule: index.Rule, Check: why}
	case verify.Unverified:
		s.Verdict = &Verdict{Outcome: "unverified", Rule: index.Rule, Check: why + " (platforms: any: a node may pull it)"}
	default:
		s.Verdict = &Verdict{Outcome: "refused", Rule: index.Rule, Check: why}
	}
}

// judge records a decision on the subject and, through the evidence each
// check cites, on the artifacts it used.
func judge(s *Subject, d *verify.Decision) {
	s.Verdict = &Verdict{Outcome: outcome(d), Rule: d.Rule, Check: firstOf(d.Reason, "all checks passed")}
	used := map[*Artifact]bool{}
	for _, c := range d.Checks {
		for _, ev := range c.Evidence {
			a := match(s.Artifacts, ev, used)
			if a == nil {
				continue
			}
			used[a] = true
			v := &Verdict{Outcome: "verified", Signer: ev.Signer, Check: c.Name + ": " + c.Message}
			if ev.Refused != "" {
				v.Outcome, v.Signer, v.Check = "refused", "", ev.Refused
			}
			a.Verdict = v
		}
	}
	for _, a := range s.Artifacts {
		if a.Verdict == nil && a.Unreadable == "" {
			a.Verdict = &Verdict{Outcome: "unused", Check: "no policy requirement looked at it"}
		}
	}
}

// match finds the artifact a piece of evidence is about: the same manifest
// (a legacy tag holds several layers, taken in order) and, for
// attestations, the same predicate type.
func match(arts []*Artifact, ev verify.Evidence, used map[*Artifact]bool) *Artifact {
	for _, a := range arts {
		if a.Manifest != ev.Manifest || used[a] {
			continue
		}
		if ev.PredicateType != "" && a.PredicateType != ev.PredicateType {
			continue
		}
		return a
	}
	return nil
}

func outcome(d *verify.Decision) string {
	switch {
	case !d.Allowed:
		return "denied"
	case d.Failed():
		return "warned"
	}
	return "allowed"
}

// Names of layouts, for people.
func layoutName(l string) string {
	switch oci.Layout(l) {
	case oci.LayoutReferrersAPI:
		return "referrers API"
	case oci.LayoutFallbackTag:
		return "fallback tag"
	case oci.LayoutLegacyTag:
		return "legacy tag"
	}
	return strings.ReplaceAll(l, "-", " ")
}

// sortArtifacts orders artifacts for people and for stable output:
// signatures, then attestations by predicate type, then the rest.
func sortArtifacts(as []*Artifact) {
	rank := map[string]int{KindSignature: 0, KindAttestation: 1, KindOther: 2}
	key := func(a *Artifact) []string {
		signer := ""
		if a.Signer != nil {
			signer = a.Signer.Description
		}
		return []string{fmt.Sprint(rank[a.Kind]), a.PredicateType, a.Layout, a.Format, signer, a.Summary, a.Unreadable, a.Manifest}
	}
	slices.SortStableFunc(as, func(a, b *Artifact) int { return slices.Compare(key(a), key(b)) })
}

// signedHead reads the repository's signed tag heads, if it publishes them.
func signedHead(ctx context.Context, client *oci.Client, t *oci.Target) *SignedHead {
	md, err := taghead.Read(ctx, client, t.Digest.Context())
	if err != nil {
		return nil
	}
	sh := &SignedHead{Tag: t.Tag, TargetsVersion: md.Targets.Signed.Version, Expires: md.Timestamp.Signed.Expires}
	for _, h := range md.Heads() {
		if h.Tag == t.Tag {
			sh.Digest = h.Digest
		}
	}
	sh.Matches = sh.Digest == t.Digest.DigestStr()
	return sh
}
