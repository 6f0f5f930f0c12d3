package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
	sigdsse "github.com/sigstore/sigstore/pkg/signature/dsse"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
)

// ErrNoAttestations means no attestation of the requested type is attached.
var ErrNoAttestations = errors.New("no attestations of this type found")

// AttestationRequest says which attestations to verify and what they must say.
type AttestationRequest struct {
	// PredicateType is the predicate type URI to look for. Required.
	PredicateType string
	// Condition, if set, must hold for the statement.
	Condition *policy.Condition
	// TransparencyLog as in Request.
	TransparencyLog TlogMode
	// MaxAge, if set, is how old the statement may be: measured from the
	// earliest trusted time its bundle carries (a signed log entry time or
	// an RFC 3161 timestamp), or the predicate's own time when earlier or
	// when there is no trusted time; a time in the future is refused.
	MaxAge time.Duration
	// Clock gives the time for MaxAge; default time.Now.
	Clock func() time.Time
	// SignedRepository as in Request: the statement's subject must not
	// name an image in another repository.
	SignedRepository string
	// Platforms and PlatformFilter as in Request: under every, each
	// platform manifest of an index must carry a valid attestation on its
	// own digest (an SBOM per platform); under any, one must.
	Platforms      PlatformMode
	PlatformFilter []string
}

// Now returns the request's clock reading.
func (r AttestationRequest) Now() time.Time {
	if r.Clock != nil {
		return r.Clock()
	}
	return time.Now()
}

// VerifyAttestations finds the image's attestations of req.PredicateType in
// every layout (referrers API or fallback tag, and cosign's legacy .att tag)
// and verifies each: DSSE signature by a trusted key, subject digest equal to
// the image digest, predicate type, and the condition. The error is nil when
// at least one passed; otherwise an *Error matching ErrNoValidSignature and
// the reasons, or ErrNoAttestations (which also matches ErrNoSignatures).
func (v *Verifier) VerifyAttestations(ctx context.Context, image string, req AttestationRequest) (*Result, error) {
	if req.PredicateType == "" {
		return nil, errors.New("verify: a predicate type is required")
	}
	if req.Platforms.perPlatform() {
		t, err := v.client.Resolve(ctx, image)
		if err != nil {
			return nil, err
		}
		if t.Descriptor.MediaType.IsIndex() {
			sub := req
			sub.Platforms, sub.PlatformFilter = PlatformsIndex, nil
			return v.eachPlatform(ctx, image, t, req.Platforms, req.PlatformFilter, func(ref string) (*Result, error) {
				return v.VerifyAttestations(ctx, ref, sub)
			})
		}
	}
	t, arts, err := v.discover(ctx, image, false, true)
	if err != nil {
		return nil, err
	}
	if v.notation != nil {
		if err := readNotationAttestations(ctx, v.client, t, arts, []string{req.PredicateType}); err != nil {
			return nil, err
		}
	}
	res, err := v.evalAttestations(ctx, image, t, arts, req)
	if err != nil && !t.Resolved() {
		// Not verified: say so only about an image that exists.
		if _, rerr := v.client.Resolve(ctx, image); rerr != nil {
			return nil, rerr
		}
	}
	return res, err
}

// evalAttestations verifies the attestations of req's type among artifacts
// already discovered for t.
func (v *Verifier) evalAttestations(ctx context.Context, image string, t *oci.Target, arts []oci.Artifact, req AttestationRequest) (*Result, error) {
	res := &Result{Image: image, Digest: t.Digest.DigestStr(), Tag: t.Tag}
	if err := v.recalledDigest(res); err != nil {
		return res, err
	}
	if err := v.platformsRecalled(ctx, res, t); err != nil {
		return res, err
	}
	arts = v.withExtra(arts)
	for i := range arts {
		a := &arts[i]
		var sig *Signature
		switch a.Kind {
		case oci.KindBundle:
			sig = v.checkBundle(ctx, a, res.Digest, Request{TransparencyLog: req.TransparencyLog}, req.PredicateType)
			if sig == nil && req.PredicateType != attest.DetachedPredicateType {
				d := v.checkBundle(ctx, a, res.Digest, Request{TransparencyLog: req.TransparencyLog}, attest.DetachedPredicateType)
				sig = v.detachedFor(ctx, t, d, req.PredicateType)
			}
		case oci.KindDSSE:
			sig = v.checkLegacyAttestation(ctx, a, res.Digest, req.PredicateType, req.TransparencyLog)
		case oci.KindAttestationArtifact:
			sig = v.checkNotationAttestation(ctx, a, t, res.Digest, req)
		}
		v.checkKeyTime(sig)
		checkSignedRepository(sig, req.SignedRepository)
		if sig != nil && sig.err == nil && sig.statement != nil {
			sig.Statement = json.RawMessage(sig.statement.raw)
			v.checkStatement(sig, req)
		}
		res.add(sig)
	}
	err := res.err(fmt.Errorf("%w: %s", ErrNoAttestations, req.PredicateType))
	if verr, ok := err.(*Error); ok {
		verr.invalid = "no valid attestation of type " + req.PredicateType
	}
	return res, err
}

// checkStatement applies the request's condition and age limit.
func (v *Verifier) checkStatement(sig *Signature, req AttestationRequest) {
	raw := sig.statement.raw
	if sig.Detached != nil {
		raw = sig.expanded
		if raw == nil && (req.Condition != nil || req.MaxAge > 0) {
			sig.fail("detached", fmt.Errorf("%w: the document is not a JSON object whose members can be read (or, over the size a condition sees whole, holds a number out of range), so no condition or time can be read from it", ErrDetachedPredicate))
			return
		}
	}
	if req.Condition != nil && !v.checkCondition(sig, req.Condition, raw) {
		return
	}
	if raw != nil {
		// An attached statement's age is read from the statement itself,
		// whole, whatever the condition saw.
		if sig.Detached != nil && sig.partial && req.MaxAge > 0 {
			if m := timeMemberOmitted(sig.summary); m != "" {
				sig.fail("maxAge", fmt.Errorf("%w: the document is %d bytes, over the size a condition sees whole, and its member %q, where its time may be, was left out (over 1 MiB): its age cannot be told (put the time in a small member, e.g. metadata without the bulk, or drop maxAge for this predicate)", ErrDetachedPredicate, sig.Detached.Size, m))
				return
			}
		}
		checkAgeOf(sig, req, raw)
	}
}

// checkCondition evaluates cond over the statement raw (a detached
// predicate's expanded statement) or, for an attached attestation, over
// what conditionView gives; false when it failed sig.
func (v *Verifier) checkCondition(sig *Signature, cond *Condition, raw []byte) bool {
	if sig.Detached == nil {
		view, err := conditionView(sig, v.memCap())
		if err != nil {
			sig.fail("condition", fmt.Errorf("%w: %w (%s, so the condition is not evaluated)", ErrConditionInvalid, err, partialNote(sig)))
			return false
		}
		raw = view
	}
	if sig.partial {
		// The members left out would read as absent: a condition that
		// reads them, or the document as a whole, is refused unevaluated.
		if err := cond.ReadsOnlyKept(omittedOf(sig.summary)); err != nil {
			sig.fail("condition", fmt.Errorf("%w (%s: only its top-level members under 1 MiB and the summary are available, see docs/attestations.md)", err, partialNote(sig)))
			return false
		}
	}
	if err := cond.EvalWith(raw, sig.summary); err != nil {
		if sig.partial {
			err = fmt.Errorf("%w (%s: only its top-level members under 1 MiB and the summary are available, see docs/attestations.md)", err, partialNote(sig))
		}
		sig.fail("condition", err)
		return false
	}
	sig.check("condition", Pass, cond.String())
	return true
}

// memCap is the size up to which a condition sees a predicate whole.
func (v *Verifier) memCap() int64 {
	if v.detachedMemory <= 0 {
		return DefaultDetachedMemoryBytes
	}
	return v.detachedMemory
}

// partialNote says why a condition sees only part of a predicate.
func partialNote(sig *Signature) string {
	if sig.Detached != nil {
		return fmt.Sprintf("the document is %d bytes, over the size a condition sees whole", sig.Detached.Size)
	}
	return fmt.Sprintf("the statement is %d bytes, over the size a condition sees its predicate whole", len(sig.statement.raw))
}

// timeMemberOmitted names a top-level member attest.PredicateTime reads
// that a partial document left out ("" if none): the time read from the
// rest could be another, later one than the whole document's.
func timeMemberOmitted(summary map[string]any) string {
	for _, m := range omittedOf(summary) {
		switch m {
		case "metadata", "creationInfo", "runDetails", "timestamp", "timeVerified":
			return m
		}
	}
	return ""
}

// checkLegacyAttestation verifies a DSSE envelope from a legacy .att layer.
// It returns nil for an envelope of another predicate type.
func (v *Verifier) checkLegacyAttestation(ctx context.Context, a *oci.Artifact, digest, want string, mode TlogMode) *Signature {
	if pt := a.PredicateType(); pt != "" && pt != want {
		return nil
	}
	sig := &Signature{Layout: a.Layout, Manifest: artifactName(a), Format: oci.KindDSSE}
	if a.Err != nil {
		sig.fail("fetch", fmt.Errorf("%w: %w", ErrUnreadable, a.Err))
		return sig
	}
	var env ssldsse.Envelope
	if err := json.Unmarshal(a.Content, &env); err != nil || len(env.Signatures) == 0 {
		sig.fail("parse", fmt.Errorf("%w: not a signed DSSE envelope", ErrMalformed))
		return sig
	}
	if env.PayloadType != inTotoPayloadType {
		sig.fail("parse", fmt.Errorf("%w: DSSE payload type %q, want %q", ErrMalformed, env.PayloadType, inTotoPayloadType))
		return sig
	}
	var payload []byte
	var logged legacySigned
	for _, k := range v.keys {
		ev, err := ssldsse.NewEnvelopeVerifier(&sigdsse.VerifierAdapter{SignatureVerifier: k.verifier})
		if err != nil {
			continue
		}
		if accepted, p, err := ev.VerifyAndDecode(ctx, &env); err == nil {
			payload = p
			sig.Key, sig.KeyID, sig.signerID = k.name, k.id, "key:"+k.id
			logged = legacySigned{content: a.Content, payload: p, signature: acceptedSignature(accepted), key: k.publicKey()}
			break
		}
	}
	if payload == nil {
		sig.fail("signature", v.untrustedKey(env.Signatures[0].KeyID))
		return sig
	}
	sig.check("signature", Pass, "verified with key "+sig.Key)
	var st statement
	if err := json.Unmarshal(payload, &st); err != nil || len(st.Subject) == 0 {
		sig.fail("parse", fmt.Errorf("%w: in-toto statement in the envelope", ErrMalformed))
		return sig
	}
	st.raw = payload
	if st.PredicateType != want {
		return nil
	}
	sig.statement = &st
	sub, signed := st.subjectFor(digest)
	sig.SignedName, sig.SignedDigest, sig.Annotations = sub.Name, signed, sub.Annotations
	if sig.SignedDigest != digest {
		sig.fail("digest", fmt.Errorf("%w: statement names %s, not %s", ErrDigestMismatch, sig.SignedDigest, digest))
		return sig
	}
	sig.check("digest", Pass, "statement names "+digest)
	v.checkLegacyTlog(sig, a, mode, logged)
	return sig
}
