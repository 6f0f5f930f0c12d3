package admission

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/signet-dev/signet/verify"
)

// Expiring is a Decider whose trust is valid until a time — a trust
// bundle's signed metadata expiry. After it, every image is denied (class
// transient, so the failure mode answers; its Fallback denies too): a
// verifier whose trust can no longer be refreshed stops admitting rather
// than go on under trust that may have been revoked. Extend moves the
// time when the trust is refreshed unchanged.
type Expiring struct {
	d     Decider
	what  string
	until atomic.Int64 // unix nanoseconds
	now   func() time.Time
}

// NewExpiring wraps d, trusted until until; what names the trust in
// denials ("trust bundle REPO:TAG version 7").
func NewExpiring(d Decider, until time.Time, what string) *Expiring {
	e := &Expiring{d: d, what: what, now: time.Now}
	e.until.Store(until.UnixNano())
	return e
}

// WithClock sets the clock (for tests).
func (e *Expiring) WithClock(now func() time.Time) *Expiring { e.now = now; return e }

// Extend sets the time the trust is valid until.
func (e *Expiring) Extend(until time.Time) { e.until.Store(until.UnixNano()) }

// Until is the time the trust is valid until.
func (e *Expiring) Until() time.Time { return time.Unix(0, e.until.Load()) }

// Decider is the wrapped decider.
func (e *Expiring) Decider() Decider { return e.d }

func (e *Expiring) expired() bool { return !e.now().Before(e.Until()) }

func (e *Expiring) deny(image string) *verify.Decision {
	return &verify.Decision{Image: image, Class: verify.ClassTransient, RuleIndex: -1,
		Reason: fmt.Sprintf("%s expired at %s and could not be refreshed: nothing is admitted until it is (check the bundle's registry, and that its timestamp is refreshed: signet tag refresh)",
			e.what, e.Until().UTC().Format(time.RFC3339))}
}

// DecideAll decides with the wrapped decider while the trust is valid, and
// denies every image after.
func (e *Expiring) DecideAll(ctx context.Context, images []string) []*verify.Decision {
	if !e.expired() {
		ds := e.d.DecideAll(ctx, images)
		if !e.expired() {
			return ds
		}
	}
	out := make([]*verify.Decision, len(images))
	for i, img := range images {
		out[i] = e.deny(img)
	}
	return out
}

// Fallback is the wrapped decider's while the trust is valid; a denial after.
func (e *Expiring) Fallback(image, reason string, receipts, pinTags bool) *verify.Decision {
	if e.expired() {
		return e.deny(image)
	}
	return e.d.Fallback(image, reason, receipts, pinTags)
}

// PolicyHash is the wrapped decider's policy hash ("" when it has none).
func (e *Expiring) PolicyHash() string {
	if p, ok := e.d.(interface{ PolicyHash() string }); ok {
		return p.PolicyHash()
	}
	return ""
}

// Decide decides one image (DecideAll's rules), as a push gate asks.
func (e *Expiring) Decide(ctx context.Context, image string) *verify.Decision {
	return e.DecideAll(ctx, []string{image})[0]
}
