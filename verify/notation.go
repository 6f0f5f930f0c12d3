package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	godigest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/notary"
	"github.com/signet-dev/signet/oci"
)

// errNotationNoLog means a rule requires a transparency-log entry and the
// signature is a Notation signature, which never has one.
var errNotationNoLog = errors.New("a Notation signature carries no transparency-log entry")

// WithNotation trusts Notary Project signers: a Notation signature counts
// for each principal whose trust store, identity and timestamp rules accept
// it (Notation's strict verification level, with the principal's
// revocation and verifyTimestamp settings).
func WithNotation(ps ...notary.Principal) Option {
	return func(v *Verifier) { v.notationPrincipals = append(v.notationPrincipals, ps...) }
}

// checkNotation verifies a Notation signature over t's manifest.
func (v *Verifier) checkNotation(ctx context.Context, a *oci.Artifact, t *oci.Target, req Request) *Signature {
	sig := &Signature{Layout: a.Layout, Manifest: a.Manifest.String(), Format: oci.KindNotation}
	if a.Err != nil {
		sig.fail("fetch", fmt.Errorf("%w: %w", ErrUnreadable, a.Err))
		return sig
	}
	if info, err := notary.Describe(a.Content, a.MediaType); err == nil {
		sig.Identity = fmt.Sprintf("certificate subject %q, issuer %q", info.Subject, info.Issuer)
	}
	if v.notation == nil {
		sig.fail("signature", fmt.Errorf("%w: a Notation signature (%s), and no Notation signers are trusted here", ErrBadSignature, orUnknown(sig.Identity)))
		return sig
	}
	desc, err := v.manifestDescriptor(ctx, t)
	if err != nil {
		sig.fail("fetch", fmt.Errorf("%w: %w", ErrUnreadable, err))
		return sig
	}
	out, err := v.notation.Verify(ctx, desc, t.Digest.String(), a.Content, a.MediaType)
	if err != nil {
		sig.fail("signature", fmt.Errorf("%w: Notation signature (%s) refused: %s", ErrBadSignature, orUnknown(sig.Identity), oneLine(err)))
		return sig
	}
	notationSigner(sig, out)
	sig.SignedDigest = t.Digest.DigestStr()
	sig.check("signature", Pass, fmt.Sprintf("Notation %s envelope verified for %s", out.Envelope, strings.Join(out.Principals, " and ")))
	if !notationLogged(sig, req.TransparencyLog) {
		return sig
	}
	if len(req.Annotations) > 0 {
		sig.fail("annotations", fmt.Errorf("%w: required annotations are checked in Sigstore and simple-signing payloads; a Notation signature's are not", ErrAnnotationMismatch))
		return sig
	}
	return sig
}

// oneLine joins notary's one line per principal into one line: a
// verdict's reason is one line.
func oneLine(err error) string {
	return strings.NewReplacer(":\n", ": ", "\n", "; ").Replace(err.Error())
}

// notationSigner records on sig who the verified Notation signature out
// counts for: its principals, the signer (one certificate subject from one
// issuer is one signer, whichever of its keys and envelopes it signed
// with), the leaf key (for recall lists) and the verified RFC 3161 time.
func notationSigner(sig *Signature, out *notary.Outcome) {
	sig.Key, sig.Principals = out.Principals[0], out.Principals
	// One certificate subject is one signer, whichever of its keys,
	// envelopes and CAs it signed with (the CA vouches for the subject as
	// Fulcio does for a keyless identity; two CAs certifying one subject
	// do not make two signers). matchPrincipals also merges by key.
	sig.signerID = "notation:" + strings.ToLower(out.Subject)
	if id, err := keys.ID(out.LeafKey); err == nil {
		sig.KeyID = id
	}
	// Notation judges expiry by the clock: a pass resting on this
	// signature ends when the envelope or its chain expires.
	sig.validUntil = out.Expires
	if !out.Timestamp.IsZero() {
		at := trustedTime{at: out.Timestamp, by: byTSA}
		sig.signedAt = func() (trustedTime, bool) { return at, true }
	}
}

// notationLogged refuses a Notation signature where the rule requires a
// transparency-log entry, and says whether it may count.
func notationLogged(sig *Signature, mode TlogMode) bool {
	if mode != TlogRequired {
		return true
	}
	sig.fail("tlog", fmt.Errorf("%w: %w; the rule requires one (transparencyLog: required) — use transparencyLog: optional for rules with Notation signers", ErrTransparencyLog, errNotationNoLog))
	return false
}

// manifestDescriptor is what a Notation signature names: the manifest's
// media type, digest and size, as the registry serves it.
func (v *Verifier) manifestDescriptor(ctx context.Context, t *oci.Target) (ocispec.Descriptor, error) {
	d := t.Descriptor
	if !t.Resolved() || d.Size == 0 || d.MediaType == "" {
		rt, err := v.client.Resolve(ctx, t.Digest.String())
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		d = rt.Descriptor
	}
	if d.Digest.String() != t.Digest.DigestStr() {
		return ocispec.Descriptor{}, fmt.Errorf("the registry describes %s as %s", t.Digest.DigestStr(), d.Digest)
	}
	return ocispec.Descriptor{MediaType: string(d.MediaType), Digest: godigest.Digest(d.Digest.String()), Size: d.Size}, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "an unreadable certificate"
	}
	return s
}
