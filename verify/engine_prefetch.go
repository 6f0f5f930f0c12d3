package verify

import (
	"context"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
)

// prefetch is a digest reference's discovery (its referrers and legacy
// tags), started while the registry is asked about the digest itself: the
// two need each other's answer only when the checks begin, so a cold
// decision on a digest waits for one round trip less. What it reads is
// what evaluate would read a round trip later, for the same digest; the
// verdict and what is cached are unchanged.
type prefetch struct {
	done    chan struct{}
	arts    []oci.Artifact
	sigRead bool // arts include the legacy .sig tag's
	err     error
}

// startPrefetch starts the discovery evaluate will want for key (a digest
// verdict's cache key) unless one is already under way; the returned stop
// forgets it when the decision is made, used or not.
func (e *Engine) startPrefetch(ctx context.Context, key, image string, rule *policy.Rule, run *runMemo) (stop func()) {
	if run != nil {
		run.mu.Lock()
		_, known := run.checks[key]
		run.mu.Unlock()
		if known {
			return func() {}
		}
	}
	p := &prefetch{done: make(chan struct{})}
	if _, loaded := e.prefetches.LoadOrStore(key, p); loaded {
		return func() {}
	}
	go func() {
		defer close(p.done)
		t, err := e.client.Target(ctx, image)
		if err != nil {
			p.err = err
			return
		}
		p.sigRead = e.legacySignaturesAtOnce(rule, t)
		p.arts, p.err = e.client.DiscoverLegacy(ctx, t, p.sigRead, e.legacyAttestations(rule))
	}()
	return func() { e.prefetches.CompareAndDelete(key, p) }
}

// takePrefetch returns key's prefetch, if one was started, for one use.
func (e *Engine) takePrefetch(key string) *prefetch {
	v, ok := e.prefetches.LoadAndDelete(key)
	if !ok {
		return nil
	}
	return v.(*prefetch)
}

// discover lists what is attached to t: from the prefetch when there is
// one, else from the registry now; sigRead says whether the legacy .sig
// tag was read with them (signatureCheck reads it later when it was not
// and must).
func (e *Engine) discover(ctx context.Context, t *oci.Target, rule *policy.Rule, pre *prefetch) (arts []oci.Artifact, sigRead bool, err error) {
	if pre != nil {
		select {
		case <-pre.done:
			return pre.arts, pre.sigRead, pre.err
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
	sigRead = e.legacySignaturesAtOnce(rule, t)
	arts, err = e.client.DiscoverLegacy(ctx, t, sigRead, e.legacyAttestations(rule))
	return arts, sigRead, err
}

// legacySignaturesAtOnce says whether cosign's legacy .sig tag is read
// with t's referrers. A rule that counts no image signature (no signers,
// threshold 0) never reads it. A rule of one signer reads it at once in a
// repository where a signature was found there before (legacyRepos), and
// otherwise only when the referrers do not pass it (signatureCheck): that
// saves a registry request per image signed in the referrers, for a round
// trip more on the first image of a repository signed in the .sig tag
// only. With a threshold of two or more it is always read at once: its
// signatures can add signers, but also join two counted signers into one
// (matchPrincipals), so no count from the referrers alone is final.
func (e *Engine) legacySignaturesAtOnce(rule *policy.Rule, t *oci.Target) bool {
	switch {
	case len(rule.Signers) == 0 || rule.Threshold == 0:
		return false
	case rule.Threshold > 1 || e.everySignature:
		return true
	}
	_, seen := e.legacyRepos.Load(t.Digest.Context().Name())
	return seen
}

// maxLegacyRepos bounds the repositories an engine remembers as signed in
// the .sig tag.
const maxLegacyRepos = 4096

// rememberLegacyRepo notes that a signature of an image in t's repository
// was found in its .sig tag.
func (e *Engine) rememberLegacyRepo(t *oci.Target) {
	repo := t.Digest.Context().Name()
	if _, seen := e.legacyRepos.Load(repo); seen || e.legacyRepoCnt.Load() >= maxLegacyRepos {
		return
	}
	if _, loaded := e.legacyRepos.LoadOrStore(repo, struct{}{}); !loaded {
		e.legacyRepoCnt.Add(1)
	}
}

// legacyAttestations says whether cosign's legacy .att tag matters: to
// attestation requirements, and to receipts (which are attestations).
func (e *Engine) legacyAttestations(rule *policy.Rule) bool {
	return len(rule.Attestations) > 0 || e.gates != nil
}
