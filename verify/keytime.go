package verify

import (
	"errors"
	"fmt"

	"github.com/signet-dev/signet/policy"
)

var (
	// ErrKeyWindow means a signature's key does not count at the time the
	// signature was made (before its validFrom, from its validUntil), or
	// no trusted time says when that was.
	ErrKeyWindow = errors.New("signature outside its key's validity window")
	// ErrKeyRevoked means a signature's key is revoked by a recall list and
	// no trusted time places the signature before the revocation.
	ErrKeyRevoked = errors.New("signed by a revoked key")
	// ErrRecalled means a recall list names the image's digest: nothing
	// attached to it counts.
	ErrRecalled = errors.New("image recalled")
)

// recalledDigest refuses the result's digest when a recall list names it,
// recording why on res.
func (v *Verifier) recalledDigest(res *Result) error {
	for _, l := range v.recalls {
		if l.HasDigests() && !isSHA256(res.Digest) {
			return fmt.Errorf("%s (%s): %w: %s", res.Image, res.Digest, ErrNoValidSignature, notSHA256(res.Digest))
		}
	}
	for _, l := range v.recalls {
		if reason, ok := l.Recalled(res.Digest); ok {
			res.Recalled = fmt.Sprintf("recall list version %d: %s", l.Version, reason)
			return fmt.Errorf("%s (%s): %w by %s", res.Image, res.Digest, ErrRecalled, res.Recalled)
		}
	}
	return nil
}

// noTimeHelp says where a trusted time comes from, and what does not count.
const noTimeHelp = "a trusted time is a transparency-log entry's integrated time whose inclusion proof or signed entry timestamp verifies " +
	"against a trusted log, or an RFC 3161 timestamp from a trusted authority; a time in the signed document, the registry " +
	"or an unverified log entry is the signer's word. Sign with a transparency log or a timestamp authority, require the log " +
	"(transparencyLog: required) and give the verifier the trusted root that lists them"

// checkKeyTime applies the key's validity window and the recall lists'
// revocations to a signature that passed every other check. Both judge the
// signature by its trusted time alone: without one, a key with a window or
// a revocation does not count (fail closed).
func (v *Verifier) checkKeyTime(sig *Signature) {
	if sig == nil || sig.err != nil || sig.KeyID == "" {
		return
	}
	k := v.keyNamed(sig.Key, sig.KeyID)
	rev, revoked := v.revocation(sig.KeyID)
	windowed := k != nil && (!k.from.IsZero() || !k.until.IsZero())
	if !windowed && !revoked {
		return
	}
	var at trustedTime
	has := false
	if sig.signedAt != nil {
		at, has = sig.signedAt()
	}
	if revoked {
		if err := revokedAt(sig.Key, rev, at, has); err != nil {
			sig.fail("key-revoked", err)
			return
		}
		sig.check("key-revoked", Pass, fmt.Sprintf("key %s is revoked from %s; %s places the signature at %s, before that", sig.Key, stamp(rev.From), at.by, stamp(at.at)))
	}
	if windowed {
		if err := inWindow(*k, at, has); err != nil {
			sig.fail("key-window", err)
			return
		}
		sig.check("key-window", Pass, fmt.Sprintf("%s places the signature at %s, while key %s counts (%s)", at.by, stamp(at.at), k.name, window(*k)))
	}
}

// keyNamed is the trusted key a signature verified with.
func (v *Verifier) keyNamed(name, id string) *trustedKey {
	for i := range v.keys {
		if v.keys[i].name == name && v.keys[i].id == id {
			return &v.keys[i]
		}
	}
	return nil
}

// revocation is the earliest revocation of the key across the recall lists.
func (v *Verifier) revocation(keyID string) (policy.Revocation, bool) {
	var out policy.Revocation
	found := false
	for _, l := range v.recalls {
		if r, ok := l.Revoked(keyID); ok && (!found || r.From.Before(out.From)) {
			out, found = r, true
		}
	}
	return out, found
}

func revokedAt(name string, rev policy.Revocation, at trustedTime, has bool) error {
	switch {
	case !has:
		return fmt.Errorf("%w: key %s is revoked from %s (%q), and the signature carries no trusted time to show it was made before then, so it does not count; %s",
			ErrKeyRevoked, name, stamp(rev.From), rev.Reason, noTimeHelp)
	case !at.at.Before(rev.From):
		return fmt.Errorf("%w: key %s is revoked from %s (%q); %s places this signature at %s, after the revocation",
			ErrKeyRevoked, name, stamp(rev.From), rev.Reason, at.by, stamp(at.at))
	}
	return nil
}

func inWindow(k trustedKey, at trustedTime, has bool) error {
	switch {
	case !has:
		return fmt.Errorf("%w: key %s counts only for signatures made %s, and the signature carries no trusted time to place it there; %s",
			ErrKeyWindow, k.name, window(k), noTimeHelp)
	case !k.from.IsZero() && at.at.Before(k.from):
		return fmt.Errorf("%w: key %s counts from %s (validFrom); %s places this signature at %s, before that",
			ErrKeyWindow, k.name, stamp(k.from), at.by, stamp(at.at))
	case !k.until.IsZero() && !at.at.Before(k.until):
		return fmt.Errorf("%w: key %s was retired at %s (validUntil); %s places this signature at %s, after that: a retired key's new signatures do not count",
			ErrKeyWindow, k.name, stamp(k.until), at.by, stamp(at.at))
	}
	return nil
}

// window describes a key's window in words.
func window(k trustedKey) string {
	switch {
	case k.from.IsZero():
		return "before " + stamp(k.until)
	case k.until.IsZero():
		return "from " + stamp(k.from)
	}
	return "from " + stamp(k.from) + " until " + stamp(k.until)
}
