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
	done chan struct{}
	arts []oci.Artifact
	err  error
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
		p.arts, p.err = e.client.DiscoverLegacy(ctx, t, e.legacySignaturesAtOnce(rule), e.legacyAttestations(rule))
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
// one, else from the registry now.
func (e *Engine) discover(ctx context.Context, t *oci.Target, rule *policy.Rule, pre *prefetch) ([]oci.Artifact, error) {
	if pre != nil {
		select {
		case <-pre.done:
			return pre.arts, pre.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return e.client.DiscoverLegacy(ctx, t, e.legacySignaturesAtOnce(rule), e.legacyAttestations(rule))
}

// legacySignaturesAtOnce says whether cosign's legacy .sig tag is read
// with the referrers. It is not when the rule counts no image signature
// (no signers, threshold 0), and not when it needs one signer: the
// signature check then reads it only if the referrers do not pass it (see
// signatureCheck), which saves a registry request per image signed in the
// referrers. With a threshold of two or more the .sig tag is always read,
// at once: its signatures can add signers, but also join two counted
// signers into one (matchPrincipals), so no count from the referrers alone
// is final.
func (e *Engine) legacySignaturesAtOnce(rule *policy.Rule) bool {
	return len(rule.Signers) > 0 && rule.Threshold > 1
}

// legacySignaturesLater says whether the signature check must read the
// .sig tag itself, when the referrers do not pass it: the rule counts
// image signatures and discovery did not read the tag at once.
func legacySignaturesLater(rule *policy.Rule) bool {
	return len(rule.Signers) > 0 && rule.Threshold == 1
}

// legacyAttestations says whether cosign's legacy .att tag matters: to
// attestation requirements, and to receipts (which are attestations).
func (e *Engine) legacyAttestations(rule *policy.Rule) bool {
	return len(rule.Attestations) > 0 || e.gates != nil
}
