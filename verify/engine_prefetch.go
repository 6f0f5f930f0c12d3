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
		p.arts, p.err = e.client.DiscoverLegacy(ctx, t, true, e.legacyAttestations(rule))
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
	return e.client.DiscoverLegacy(ctx, t, true, e.legacyAttestations(rule))
}

// legacyAttestations says whether cosign's legacy .att tag matters: to
// attestation requirements, and to receipts (which are attestations).
func (e *Engine) legacyAttestations(rule *policy.Rule) bool {
	return len(rule.Attestations) > 0 || e.gates != nil
}
