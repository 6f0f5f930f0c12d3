package verify

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/signet-dev/signet/oci"
)

// inTotoPayloadType is the DSSE payload type of in-toto statements.
const inTotoPayloadType = "application/vnd.in-toto+json"

// statement is the part of an in-toto statement verification uses; raw is
// the whole statement as signed.
type statement struct {
	raw           []byte
	protoChecked  bool            // protoErr is set
	protoErr      error           // protoStatementCheck(raw)
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Subject       []inTotoSubject `json:"subject"`
}

// inTotoSubject is one subject of an in-toto statement.
type inTotoSubject struct {
	Name        string            `json:"name"`
	Digest      map[string]string `json:"digest"`
	Annotations map[string]any    `json:"annotations"`
}

// subjectFor returns the subject that names digest (algorithm:hex) and that
// digest. When no subject does, it returns the first subject with a sha256
// digest and that digest ("" if none has one), so a refusal can say which
// image the statement was made for. What a signature reports as signed
// (name, digest, annotations) comes from here, never from another subject.
func (st *statement) subjectFor(digest string) (inTotoSubject, string) {
	alg, hexDigest, _ := strings.Cut(digest, ":")
	for _, s := range st.Subject {
		if h, ok := s.Digest[alg]; ok && hexDigest != "" && strings.EqualFold(h, hexDigest) {
			return s, digest
		}
	}
	for _, s := range st.Subject {
		if h, ok := s.Digest["sha256"]; ok {
			return s, "sha256:" + h
		}
	}
	return inTotoSubject{}, ""
}

// ParseBundle parses a Sigstore bundle and the image-signature statement in
// its DSSE envelope. It checks structure only, not signatures.
func ParseBundle(data []byte) (*bundle.Bundle, *statement, error) {
	b, err := unmarshalBundle(data)
	if err != nil {
		// The cause is protojson's or sigstore-go's wording; protoProblem
		// says what it means.
		return nil, nil, fmt.Errorf("%w: reading the Sigstore bundle: %s", ErrMalformed, protoProblem(data, err))
	}
	return checkParsedBundle(b)
}

// parseArtifactBundle is ParseBundle for a referrer's bundle, read whole or
// split (what protojson does not read as the split expects is parsed
// joined, so it is refused in the same words).
func parseArtifactBundle(a *oci.Artifact) (*bundle.Bundle, *statement, error) {
	if a.Parts == nil {
		return ParseBundle(a.Content)
	}
	if b, ok := unmarshalParts(a.Parts); ok {
		return checkParsedBundle(b)
	}
	return ParseBundle(a.Parts.Join())
}

// checkParsedBundle checks a parsed bundle's structure and reads the
// statement in its envelope.
func checkParsedBundle(b *bundle.Bundle) (*bundle.Bundle, *statement, error) {
	// Whatever sits in the certificate field must be a certificate: a bare
	// public key there is never taken as the signer's key (cosign
	// GHSA-fx35-mq7g-6g98).
	if _, err := b.VerificationContent(); err != nil {
		return nil, nil, fmt.Errorf("%w: the bundle's verification material is not a public key hint or an X.509 certificate (%s); a key in the certificate field is refused", ErrMalformed, materialProblem(err))
	}
	// The payload as protojson decoded it: sigstore-go's Envelope() would
	// encode it to base64 again and the DSSE library decode it back, two
	// copies of what may be a 100 MB statement.
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, nil, fmt.Errorf("%w: bundle holds no DSSE envelope (a message signature cannot sign an image)", ErrMalformed)
	}
	if env.GetPayloadType() != inTotoPayloadType {
		return nil, nil, fmt.Errorf("%w: DSSE payload type %q, want %q", ErrMalformed, env.GetPayloadType(), inTotoPayloadType)
	}
	st, err := parseStatement(env.GetPayload())
	if err != nil {
		return nil, nil, err
	}
	return b, st, nil
}

// parseStatement parses a signed in-toto statement (v1 or v0.1) with at
// least one subject.
func parseStatement(raw []byte) (*statement, error) {
	var st statement
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("%w: the signed payload is not an in-toto statement: %s", ErrMalformed, jsonProblem(err))
	}
	if st.Type != "https://in-toto.io/Statement/v1" && st.Type != "https://in-toto.io/Statement/v0.1" {
		return nil, fmt.Errorf("%w: statement _type %q is not in-toto", ErrMalformed, st.Type)
	}
	if len(st.Subject) == 0 {
		return nil, fmt.Errorf("%w: in-toto statement has no subject", ErrMalformed)
	}
	st.raw = raw
	return &st, nil
}

// checkBundle verifies a Sigstore bundle referrer. It returns nil for a
// bundle that is not an image signature (an attestation).
func (v *Verifier) checkBundle(ctx context.Context, a *oci.Artifact, digest string, req Request, want string) *Signature {
	claimed := a.PredicateType()
	if claimed != "" && claimed != want {
		return nil
	}
	sig := &Signature{Layout: a.Layout, Manifest: artifactName(a), Format: oci.KindBundle}
	if a.Err != nil {
		sig.fail("fetch", fmt.Errorf("%w: %w", ErrUnreadable, a.Err))
		return sig
	}
	b, st, err := parseArtifactBundle(a)
	if err != nil {
		sig.fail("parse", err)
		return sig
	}
	if st.PredicateType != want {
		if claimed == want {
			sig.fail("predicateType", fmt.Errorf("%w: the referrer claims %s, the signed statement says %s", ErrPredicateType, want, st.PredicateType))
			return sig
		}
		return nil // another kind of statement, stored without its predicateType annotation
	}
	if want == oci.CosignSignPredicateType && len(st.Subject) != 1 {
		// sigstore-go accepts a statement if any subject names the digest;
		// the annotations a policy checks must not come from another one.
		sig.fail("parse", fmt.Errorf("%w: the signed statement names %d subjects; an image signature (cosign sign) names exactly one, the image it signs, so this one is refused", ErrMalformed, len(st.Subject)))
		return sig
	}
	sig.check("parse", Pass, "Sigstore bundle with a DSSE in-toto statement")
	sig.statement = st
	sub, signed := st.subjectFor(digest)
	sig.SignedName, sig.SignedDigest, sig.Annotations = sub.Name, signed, sub.Annotations
	verifyWith := v.keyVerifier(b, sig)
	if pk := b.VerificationMaterial.GetPublicKey(); pk != nil {
		sig.ClaimedKeyID = pk.GetHint()
	} else {
		verifyWith = v.identityVerifier(b, sig)
	}

	useTlog, err := v.tlogPlan(b, req.TransparencyLog, sig)
	if err != nil {
		sig.fail("tlog", err)
		return sig
	}
	alg, hexDigest, _ := strings.Cut(digest, ":")
	wantDigest, err := hex.DecodeString(hexDigest)
	if err != nil {
		sig.fail("digest", fmt.Errorf("image digest %q is not hex: %w", digest, err))
		return sig
	}
	who, verr := verifyWith(alg, wantDigest, useTlog)
	if verr == nil || (who != "" && errors.Is(verr, ErrTransparencyLog)) {
		// The signature verified; only its log entry may have failed.
		sig.check("signature", Pass, who)
		sig.check("digest", Pass, "signed payload names "+digest)
		if verr != nil {
			sig.fail("tlog", verr)
			return sig
		}
		if useTlog {
			v.passTlog(sig)
		}
		checkAnnotations(sig, req.Annotations)
		return sig
	}
	// Tell a signature copied from another image apart from a bad one: does
	// it verify against the digest its own statement names?
	if sig.SignedDigest != digest && sig.SignedDigest != "" {
		salg, shex, _ := strings.Cut(sig.SignedDigest, ":")
		if other, err := hex.DecodeString(shex); err == nil {
			if who, err := verifyWith(salg, other, useTlog); err == nil || who != "" {
				sig.check("signature", Pass, who)
				how := "the signature was made for another image and copied here"
				if a.Layout == oci.LayoutFile {
					how = "the bundle file holds a signature made for another image"
				}
				sig.fail("digest", fmt.Errorf("%w: signed payload names %s, not %s (%s)", ErrDigestMismatch, sig.SignedDigest, digest, how))
				return sig
			}
		}
	}
	if errors.Is(verr, ErrIdentityMismatch) || errors.Is(verr, ErrNoTrustedTime) || errors.Is(verr, ErrBadSignature) || errors.Is(verr, ErrTransparencyLog) || errors.Is(verr, ErrMalformed) {
		sig.fail("signature", verr)
	} else {
		sig.fail("signature", fmt.Errorf("%w: %w", ErrBadSignature, verr))
	}
	return sig
}

// artifactName is how a signature names where it came from: its manifest
// digest, or for a bundle read from a file the file (and line).
func artifactName(a *oci.Artifact) string {
	if a.Layout == oci.LayoutFile {
		return a.Annotations[oci.AnnotationBundleFile]
	}
	return a.Manifest.String()
}

// verifyFunc verifies a bundle against a digest and says who signed it. The
// signature (and a certificate's identity) is checked first; with useTlog
// the bundle's log entry is checked after, and a failure of only that
// returns who signed with an error matching ErrTransparencyLog.
type verifyFunc func(alg string, digest []byte, useTlog bool) (string, error)

// keyVerifier verifies with the trusted keys, recording the key on sig.
func (v *Verifier) keyVerifier(b *bundle.Bundle, sig *Signature) verifyFunc {
	return func(alg string, digest []byte, useTlog bool) (string, error) {
		if len(v.keys) == 0 {
			return "", fmt.Errorf("%w: signed by a key, and no keys are trusted here", ErrBadSignature)
		}
		key, malformed := v.keyForBundle(b, sig.statement, sig.ClaimedKeyID, alg, digest)
		if key == nil {
			if malformed != nil {
				return "", malformed
			}
			return "", v.untrustedKey(sig.ClaimedKeyID)
		}
		sig.Key, sig.KeyID, sig.signerID = key.name, key.id, "key:"+key.id
		if v.root != nil {
			sig.signedAt = timeSource(b, root.TrustedMaterialCollection{v.root, keyMaterial(*key)})
		}
		who := "verified with key " + key.name
		if useTlog {
			if err := v.verifyBundleWithKey(b, *key, alg, digest, true); err != nil {
				return who, logFailure(err)
			}
		}
		return who, nil
	}
}

// keyForBundle returns the trusted key (hint match first) whose signature
// the bundle carries over digest, its log entries not checked; nil if none,
// with the reason when the bundle or its statement is malformed (whatever
// the key).
func (v *Verifier) keyForBundle(b *bundle.Bundle, st *statement, hint, alg string, digest []byte) (*trustedKey, error) {
	var malformed error
	for _, k := range v.orderedKeys(hint) {
		err := verifyDSSEWithKey(b, st, k, alg, digest)
		if err == nil {
			return &k, nil
		}
		if malformed == nil && errors.Is(err, ErrMalformed) {
			malformed = err
		}
	}
	return nil, malformed
}

// verifyBundleWithKey runs sigstore-go's verifier with one trusted key. With
// useTlog the bundle must also carry a log entry from the trusted root whose
// inclusion proof, checkpoint signature and body verify offline.
func (v *Verifier) verifyBundleWithKey(b *bundle.Bundle, k trustedKey, alg string, digest []byte, useTlog bool) error {
	tm := keyMaterial(k)
	opts := []sgverify.VerifierOption{sgverify.WithNoObserverTimestamps()}
	if useTlog {
		tm = root.TrustedMaterialCollection{v.root, tm}
		opts = append(opts, sgverify.WithTransparencyLog(1))
	}
	sv, err := sgverify.NewVerifier(tm, opts...)
	if err != nil {
		return err
	}
	_, err = sv.Verify(b, sgverify.NewPolicy(sgverify.WithArtifactDigest(alg, digest), sgverify.WithKey()))
	return err
}

// keyMaterial is trusted material holding one trusted key, whatever hint a
// bundle names it by.
func keyMaterial(k trustedKey) root.TrustedMaterial {
	return root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(k.verifier, time.Time{}, time.Time{}), nil
	})
}

// verifyDSSEWithKey is what sigstore-go's verifier checks of a bundle signed
// with key k when no log entry is asked for — a DSSE signature by k over the
// envelope's payload, whose statement (st, parsed from that payload) names
// alg:digest among its subjects — without its copies of the payload: the
// signature is checked over the pre-authentication encoding streamed from
// the decoded payload, and the subjects are read from st rather than from a
// second, protobuf-structured parse of the whole statement.
func verifyDSSEWithKey(b *bundle.Bundle, st *statement, k trustedKey, alg string, digest []byte) error {
	env := b.GetDsseEnvelope()
	if env == nil || st == nil {
		return fmt.Errorf("%w: no DSSE envelope", ErrMalformed)
	}
	if pk := b.GetVerificationMaterial().GetPublicKey(); pk == nil {
		return fmt.Errorf("%w: the bundle is not signed with a key", ErrBadSignature)
	}
	if _, named := st.subjectFor(alg + ":" + hex.EncodeToString(digest)); named != alg+":"+hex.EncodeToString(digest) {
		return fmt.Errorf("%w: the statement names no subject %s:%x", ErrDigestMismatch, alg, digest)
	}
	if err := checkSubjectsAsSigstore(st); err != nil {
		return err
	}
	// A Sigstore bundle's envelope holds exactly one signature (sigstore-go
	// refuses any other count, even with one good signature among them).
	sigs := env.GetSignatures()
	if len(sigs) != 1 {
		return fmt.Errorf("%w: the envelope holds %d signatures; a Sigstore bundle holds exactly one", ErrMalformed, len(sigs))
	}
	if err := checkKeyID(sigs[0].GetKeyid(), k); err != nil {
		return err
	}
	payload, pt := env.GetPayload(), env.GetPayloadType()
	prefix := fmt.Sprintf("DSSEv1 %d %s %d ", len(pt), pt, len(payload))
	msg := io.MultiReader(strings.NewReader(prefix), bytes.NewReader(payload))
	if err := k.verifier.VerifySignature(bytes.NewReader(sigs[0].GetSig()), msg); err != nil {
		return fmt.Errorf("%w: the envelope's signature does not verify with key %s", ErrBadSignature, k.name)
	}
	// sigstore-go then reads the statement as a protobuf message; what
	// protojson refuses (a repeated or unknown member such as "Subject",
	// invalid UTF-8) it refuses, and so does this.
	if !st.protoChecked {
		st.protoChecked, st.protoErr = true, protoStatementCheck(st.raw)
	}
	if st.protoErr != nil {
		return fmt.Errorf("%w: the signed statement is not a well-formed in-toto statement (a repeated or unknown member, or text that is not UTF-8): %s", ErrMalformed, printable(strings.TrimSpace(strings.TrimPrefix(st.protoErr.Error(), "proto:"))))
	}
	return nil
}
