package verify

import (
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// clockSkew is how far in the future a time may lie (an attestation's own
// time past this machine's clock, or past the trusted time it was logged or
// timestamped at) before it is refused: clocks differ by that much, not
// more. `signet attest` allows the same (attest.clockSkew).
const clockSkew = 5 * time.Minute

// trustedTime is a time by which a signature existed, vouched for by
// someone other than its signer.
type trustedTime struct {
	at time.Time
	by string // "the transparency log's integrated time" or "the timestamp authority's time"
}

const (
	byLog = "the transparency log's integrated time"
	byTSA = "the timestamp authority's time"
)

// timeSource returns, when called, the earliest trusted time the bundle
// carries for its signature (see earliestTrustedTime). It is set on a
// Signature once its signature verified with the trusted material tm, and
// called only when an age is checked.
func timeSource(b *bundle.Bundle, tm root.TrustedMaterial) func() (trustedTime, bool) {
	return func() (trustedTime, bool) { return earliestTrustedTime(b, tm) }
}

// earliestTrustedTime returns the earliest time trusted material vouches
// the bundle's signature existed by: the integrated time of a log entry
// from a trusted log whose signed entry timestamp verifies (Rekor v1; a
// Rekor v2 entry has no signed time, and an integrated time without the
// signed timestamp is the signer's word), and the time of an RFC 3161
// timestamp over the signature from a trusted authority. Entries are
// verified in full — signature, key and payload against the entry body —
// so an entry made for another signature lends it no time (cosign
// GHSA-whqx-f9j3-ch6m). Anything that does not verify is ignored: the
// result is then as if the bundle carried no time.
func earliestTrustedTime(b *bundle.Bundle, tm root.TrustedMaterial) (trustedTime, bool) {
	var out trustedTime
	found := false
	consider := func(at time.Time, by string) {
		if !found || at.Before(out.at) {
			out, found = trustedTime{at: at, by: by}, true
		}
	}
	if tm == nil {
		return out, false
	}
	if entries, err := b.TlogEntries(); err == nil && len(entries) > 0 && b.HasInclusionPromise() {
		if ts, err := sgverify.VerifyTlogEntry(b, tm, 1, true); err == nil {
			for _, t := range ts {
				consider(t.Time, byLog)
			}
		}
	}
	if raw, err := b.Timestamps(); err == nil && len(raw) > 0 && len(tm.TimestampingAuthorities()) > 0 {
		if ts, _, err := sgverify.VerifySignedTimestamp(b, tm); err == nil {
			for _, t := range ts {
				consider(t.Time, byTSA)
			}
		}
	}
	return out, found
}

// checkAgeOf applies the request's maxAge to the statement raw (a
// detached predicate's document in place of its small predicate). The age is measured from a
// trusted time when the bundle has one — its signature existed by then, so
// it is at least that old — or from the predicate's own time when that is
// earlier still (a scan made before it was signed is as old as the scan).
// Only without a trusted time does the predicate's time stand alone. A time
// in the future beyond clockSkew, or a predicate time after the trusted
// time, is refused: such a statement would never grow old.
func checkAgeOf(sig *Signature, req AttestationRequest, raw []byte) {
	if req.MaxAge <= 0 {
		return
	}
	now := req.Now()
	claimed, hasClaim := StatementTime(raw)
	var trusted trustedTime
	hasTrusted := false
	if sig.signedAt != nil {
		trusted, hasTrusted = sig.signedAt()
	}
	at, how, err := ageFrom(now, claimed, hasClaim, trusted, hasTrusted)
	if err != nil {
		sig.fail("maxAge", err)
		return
	}
	if hasTrusted && !hasClaim && !sig.certBound && sig.signingTime.IsZero() {
		// A log entry or a timestamp says the signature existed by then,
		// not that it was made then: anyone may log or timestamp an old
		// key signature today (they are not signed over). Only a keyless
		// certificate's short validity, or a time the signer signed, says
		// when it was made.
		sig.fail("maxAge", fmt.Errorf("%w: signed with a key, and the statement carries no time of its own: %s (%s) says only that the signature existed by then — "+
			"an old signature can be logged or timestamped again today — so its age cannot be told; attest with a predicate that records its time "+
			"(a scan's finish, an SBOM's creation), or sign keylessly", ErrTooOld, trusted.by, stamp(trusted.at)))
		return
	}
	// A timestamp is unsigned: one added to an old signature today is
	// today's. The time the signer signed bounds the age from below too.
	if st := sig.signingTime; !st.IsZero() && st.Before(at) {
		at, how = st, "by the signing time its signer signed into the signature (earlier than its timestamp or predicate time)"
	}
	if age := now.Sub(at); age > req.MaxAge {
		sig.fail("maxAge", fmt.Errorf("%w: made %s %s, %s ago, over %s", ErrTooOld, stamp(at), how, age.Round(time.Minute), req.MaxAge))
		return
	}
	if u := at.Add(req.MaxAge); sig.validUntil.IsZero() || u.Before(sig.validUntil) {
		sig.validUntil = u // or earlier, when the signature itself expires first
	}
	sig.check("maxAge", Pass, fmt.Sprintf("made %s %s", stamp(at), how))
}

// ageFrom picks the time an age is measured from, and says which it is.
func ageFrom(now, claimed time.Time, hasClaim bool, trusted trustedTime, hasTrusted bool) (time.Time, string, error) {
	switch {
	case hasTrusted && trusted.at.After(now.Add(clockSkew)):
		return time.Time{}, "", fmt.Errorf("%w: %s, %s, is after this machine's clock (%s) by more than the %s allowed for clock skew; check this machine's clock",
			ErrFutureTime, trusted.by, stamp(trusted.at), stamp(now), clockSkew)
	case hasTrusted && hasClaim && claimed.After(trusted.at.Add(clockSkew)):
		return time.Time{}, "", fmt.Errorf("%w: the predicate says it was made %s, after %s (%s) by more than the %s allowed for clock skew; "+
			"a statement cannot describe something finished after it was signed, so its age cannot be trusted (re-attest with the report's real time)",
			ErrFutureTime, stamp(claimed), trusted.by, stamp(trusted.at), clockSkew)
	case hasTrusted && hasClaim && claimed.Before(trusted.at):
		return claimed, fmt.Sprintf("by the predicate's own time (signed by %s, %s)", trusted.by, stamp(trusted.at)), nil
	case hasTrusted:
		return trusted.at, "by " + trusted.by, nil
	case !hasClaim:
		return time.Time{}, "", fmt.Errorf("%w: the statement carries no time to check its age against, and the bundle no trusted time "+
			"(a transparency-log entry with a signed entry timestamp, or an RFC 3161 timestamp)", ErrTooOld)
	case claimed.After(now.Add(clockSkew)):
		return time.Time{}, "", fmt.Errorf("%w: the predicate says it was made %s, after this machine's clock (%s) by more than the %s allowed for clock skew, "+
			"and no trusted time in the bundle bounds it (re-attest with the report's real time, or check this machine's clock)",
			ErrFutureTime, stamp(claimed), stamp(now), clockSkew)
	}
	return claimed, "by the predicate's own time (no trusted time in the bundle)", nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
