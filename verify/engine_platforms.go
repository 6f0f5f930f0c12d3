package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
)

// platformsCheck applies a rule with platforms every or any to index t:
// the rule's signatures and attestations on each platform manifest's own
// digest (a check "platform OS/ARCH" each, verified concurrently within the
// engine's worker limit), then a "platforms" check that decides: under
// every, one failing platform fails it, as a node pulls one platform and
// admission cannot know which; under any, one verified platform passes it,
// and the message says that a node may pull an unverified one.
func (e *Engine) platformsCheck(ctx context.Context, d *Decision, image string, t *oci.Target, rule *policy.Rule) {
	l, err := listPlatforms(ctx, e.client, t, rule.PlatformFilter)
	if err != nil {
		o := Fail
		if !errors.Is(err, ErrPlatforms) {
			o = Errored
			err = fmt.Errorf("reading the platforms index %s lists: %w", t.Digest.DigestStr(), err)
		}
		d.add("platforms", o, platformClass(err), err.Error(), nil)
		return
	}
	checks := make([]PolicyCheck, len(l.targets))
	sem := make(chan struct{}, e.workers)
	var wg sync.WaitGroup
	for i, ct := range l.targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			checks[i] = e.platformCheck(ctx, layoutKey(image), ct, l.names[i], rule)
		}()
	}
	wg.Wait()
	platformsVerdict(d, PlatformMode(rule.Platforms), l, checks)
}

// platformsVerdict adds the "platforms" check deciding on the platforms'
// checks, then the platforms' checks.
func platformsVerdict(d *Decision, mode PlatformMode, l *platformList, checks []PolicyCheck) {
	var passed, failed []string
	first := -1
	for i, c := range checks {
		if c.Outcome == Pass {
			passed = append(passed, l.names[i])
			continue
		}
		failed = append(failed, l.names[i])
		if first < 0 {
			first = i
		}
	}
	msg := fmt.Sprintf("%d of %d platforms verified on their own digests (platforms: %s)", len(passed), len(checks), mode)
	if len(l.skipped) > 0 {
		msg += "; not checked: " + strings.Join(l.skipped, ", ")
	}
	switch {
	case len(failed) == 0:
		d.add("platforms", Pass, "", msg, nil)
	case mode == PlatformsAny && len(passed) > 0:
		for i := range checks {
			if checks[i].Outcome != Pass {
				checks[i].Outcome, checks[i].Class = Unverified, ""
			}
		}
		d.add("platforms", Pass, "", fmt.Sprintf("%s; NOT verified: %s — under platforms: any a node may pull an unverified platform, "+
			"so any is for audit and warn rules; use every to enforce", msg, strings.Join(failed, ", ")), nil)
	case mode == PlatformsAny:
		d.add("platforms", checks[first].Outcome, checks[first].Class, fmt.Sprintf("%s; platforms: any needs one: %s: %s", msg, checks[first].Name, checks[first].Message), nil)
	default:
		d.add("platforms", checks[first].Outcome, checks[first].Class, fmt.Sprintf("%s; NOT verified: %s; platforms: every needs each, as a node pulls one platform "+
			"and admission cannot know which — %s: %s", msg, strings.Join(failed, ", "), checks[first].Name, checks[first].Message), nil)
	}
	var until time.Time
	for _, c := range checks {
		if !c.expires.IsZero() && (until.IsZero() || c.expires.Before(until)) {
			until = c.expires
		}
	}
	d.Checks[len(d.Checks)-1].expires = until
	d.Checks = append(d.Checks, checks...)
}

// platformCheck is one platform manifest's check: the rule's signatures
// and attestations on its digest, cached as a digest verdict is (policy,
// rule and digest, marked as a platform's so a decision on the platform
// manifest itself, which may rest on a receipt, never meets it).
func (e *Engine) platformCheck(ctx context.Context, prefix string, ct *oci.Target, name string, rule *policy.Rule) PolicyCheck {
	key := prefix + e.cacheKey(rule, ct.Digest) + "|platform"
	sub, ok := e.cached(key)
	if !ok {
		sub = e.memo(key, nil, func() []PolicyCheck { return e.platformRequirements(ctx, ct, rule) })
	}
	c := PolicyCheck{Name: "platform " + name, Outcome: Pass, Digest: ct.Digest.DigestStr(), Checks: sub}
	var parts []string
	for _, s := range sub {
		if c.Outcome == Pass && (s.Outcome == Fail || s.Outcome == Errored) {
			c.Outcome, c.Class = s.Outcome, s.Class
			parts = nil
		}
		if c.Outcome == Pass || s.Outcome == Fail || s.Outcome == Errored {
			parts = append(parts, s.Name+": "+s.Message)
		}
		c.Evidence = append(c.Evidence, s.Evidence...)
		if !s.expires.IsZero() && (c.expires.IsZero() || s.expires.Before(c.expires)) {
			c.expires = s.expires
		}
	}
	c.Message = short12(c.Digest) + ": " + strings.Join(parts, "; ")
	return c
}

// platformRequirements reads a platform manifest and checks the rule's
// signatures and attestations on its digest.
func (e *Engine) platformRequirements(ctx context.Context, ct *oci.Target, rule *policy.Rule) []PolicyCheck {
	var d Decision
	rt, err := platformTarget(ctx, e.client, ct)
	switch {
	case errors.Is(err, oci.ErrNotFound):
		d.add("manifest", Fail, ClassNotFound, fmt.Sprintf("the index lists %s, which the registry does not have: %v", ct.Digest.DigestStr(), err), nil)
		return d.Checks
	case err != nil:
		o := Errored
		if errors.Is(err, ErrPlatforms) {
			o = Fail
		}
		d.add("manifest", o, platformClass(err), err.Error(), nil)
		return d.Checks
	}
	ref := rt.Reference()
	sigRead := e.legacySignaturesAtOnce(rule, rt)
	arts, err := e.client.DiscoverLegacy(ctx, rt, sigRead, len(rule.Attestations) > 0)
	if err == nil {
		err = readNotationAttestations(ctx, e.client, rt, arts, notationAttestationTypes(rule, e.rules[rule]))
	}
	if err != nil {
		d.add("discover", Errored, registryClass(err), err.Error(), nil)
		return d.Checks
	}
	e.requirements(ctx, &d, ref, rt, arts, sigRead, rule)
	return d.Checks
}

// UnverifiedPlatforms names the platforms of an index that did not verify
// under platforms: any while another did: the image was allowed, and a
// node may pull one of these.
func (d *Decision) UnverifiedPlatforms() []string {
	var out []string
	for _, c := range d.Checks {
		if c.Outcome == Unverified {
			out = append(out, strings.TrimPrefix(c.Name, "platform "))
		}
	}
	return out
}
