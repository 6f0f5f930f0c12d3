//go:build !signet_split || !unix

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/trustbundle"
	"github.com/signet-dev/signet/verify"
)

// bundleEngines builds the webhook's decider from a trust bundle: a new
// engine — and so a new, empty verdict cache — for each new bundle, so no
// verdict made under older trust is ever served; the running one, its
// expiry moved, when the bundle is unchanged (a refreshed timestamp).
type bundleEngines struct {
	bundle  *bundleTrust
	polFile string // a policy's name in the bundle ("": its only one)
	mode    string // --tlog
	opts    []verify.EngineOption
	s       *streams
	client  *oci.Client
	log     *slog.Logger

	maxPredicate int64 // --max-predicate-size

	mu     sync.Mutex
	digest string
	cur    *admission.Expiring
	eng    *verify.Engine // the current bundle's
	swap   *swapDecider   // gate serve's decider (nil for the webhook)
}

// load refreshes the bundle and returns the decider for it. A bundle that
// cannot be verified (refused, or unreadable with no usable last good one)
// is an error: the caller keeps the running decider, which denies
// everything once its bundle's metadata expires.
func (b *bundleEngines) load(ctx context.Context) (admission.Decider, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, stale, err := b.bundle.load(ctx, b.client)
	if err != nil {
		return nil, err
	}
	if stale != nil {
		b.log.Warn("the trust bundle's registry cannot be read: using the last good bundle until it expires",
			"version", u.Version, "expires", u.Expires, "error", stale.Error())
	}
	if b.cur != nil && u.Digest == b.digest {
		b.cur.Extend(u.Expires)
		return b.cur, nil
	}
	t := trustOptions{mode: b.mode, maxPredicate: b.maxPredicate}
	if err := t.useBundle(u); err != nil {
		return nil, err
	}
	if _, _, err := t.verifierOptions(); err != nil {
		return nil, err
	}
	pol, err := u.bundlePolicy(b.polFile)
	if err != nil {
		return nil, err
	}
	if pol == "" {
		return nil, fmt.Errorf("the trust bundle %s (version %d) has no policy: a server decides by one (add it: signet trust bundle create --policy)", u.Reference, u.Version)
	}
	eng, err := policyEngine(b.s, b.client, &t, pol, b.opts...)
	if err != nil {
		return nil, err
	}
	b.eng = eng
	b.cur = admission.NewExpiring(eng, u.Expires, fmt.Sprintf("trust bundle %s version %d", u.Reference, u.Version))
	b.digest = u.Digest
	b.log.Info("trust bundle in effect; verdict cache cleared", "reference", u.Reference, "version", u.Version, "digest", u.Digest, "expires", u.Expires)
	return b.cur, nil
}

// bundleWebhook is webhook for --trust-bundle.
func (o *admissionOptions) bundleWebhook(ctx context.Context, s *streams, log *slog.Logger, m *admission.Metrics, stats *verify.EngineStats) (*admission.Webhook, func() (admission.Decider, error), error) {
	if o.trust.trustedRoot != "" || o.trust.recalls != "" {
		return nil, nil, usageError{errors.New("--trust-bundle supplies the trusted root and the recall list: do not also give --trusted-root or --recalls")}
	}
	mode, client, err := o.prepare(m)
	if err != nil {
		return nil, nil, err
	}
	b := &bundleEngines{bundle: &o.bundle, polFile: o.polFile, mode: o.trust.mode, maxPredicate: o.trust.maxPredicate, s: s, client: client, log: log,
		opts: []verify.EngineOption{verify.WithCache(10_000, o.cacheTTL, o.negTTL), verify.WithStats(stats), verify.WithTagHeadState(o.headDir)}}
	d, err := b.load(ctx)
	if err != nil {
		return nil, nil, err
	}
	return o.newWebhook(d, mode, log, m), func() (admission.Decider, error) { return b.load(ctx) }, nil
}

// refreshBundle reloads the bundle every interval until ctx ends, putting
// a new bundle's decider in effect at once; a failed refresh is logged
// (with the refusal's class) and the running bundle kept until it expires.
func refreshBundle(ctx context.Context, every time.Duration, w interface {
	Decider() admission.Decider
	SetDecider(admission.Decider)
}, load func() (admission.Decider, error), log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			d, err := load()
			if err != nil {
				log.Error("trust bundle refresh failed; keeping the running bundle until it expires", "class", string(trustbundle.ClassOf(err)), "error", err.Error())
				continue
			}
			if d != w.Decider() {
				w.SetDecider(d)
			}
		}
	}
}

// swapDecider is a push gate's decider from a trust bundle, replaced when
// a new bundle is in effect (refreshBundle).
type swapDecider struct {
	cur atomic.Pointer[admission.Decider]
}

func (w *swapDecider) Decider() admission.Decider     { return *w.cur.Load() }
func (w *swapDecider) SetDecider(d admission.Decider) { w.cur.Store(&d) }

// Decide decides with the current bundle's decider (an *admission.Expiring:
// after the bundle expires, a transient denial the gate retries).
func (w *swapDecider) Decide(ctx context.Context, image string) *verify.Decision {
	return w.Decider().(*admission.Expiring).Decide(ctx, image)
}

// gateBundle loads --trust-bundle for gate serve.
func gateBundle(ctx context.Context, s *streams, client *oci.Client, log *slog.Logger, trust *trustOptions, tb *bundleTrust, polFile string) (*bundleEngines, error) {
	if trust.trustedRoot != "" || trust.recalls != "" {
		return nil, usageError{errors.New("--trust-bundle supplies the trusted root and the recall list: do not also give --trusted-root or --recalls")}
	}
	b := &bundleEngines{bundle: tb, polFile: polFile, mode: trust.mode, s: s, client: client, log: log,
		opts: []verify.EngineOption{verify.WithoutReceipts()}, swap: &swapDecider{}}
	d, err := b.load(ctx)
	if err != nil {
		return nil, err
	}
	b.swap.SetDecider(d)
	return b, nil
}
