package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	godigest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/notary"
	"github.com/signet-dev/signet/oci"
)

// ErrUnsigned means an attestation artifact has no Notation signature.
var ErrUnsigned = errors.New("no Notation signature")

// documentPredicateTypes are the predicate types of the raw documents read
// from attestation artifacts, by their artifactType.
var documentPredicateTypes = map[string]string{
	oci.SPDXMediaType:      attest.PredicateSPDX,
	oci.CycloneDXMediaType: attest.PredicateCycloneDX,
}

// DocumentPredicateType is the predicate type Signet reads a raw document
// of an attestation artifact as (application/spdx+json: an SPDX document,
// application/vnd.cyclonedx+json: a CycloneDX BOM); false for other types.
func DocumentPredicateType(mediaType string) (string, bool) {
	pt, ok := documentPredicateTypes[mediaType]
	return pt, ok
}

// attestationPredicateType is the predicate type of an attestation
// artifact's document ("" when it cannot be read): the statement's for an
// in-toto statement, the document type's for a raw SPDX or CycloneDX
// document.
func attestationPredicateType(a *oci.Artifact) string {
	if pt, ok := documentPredicateTypes[a.MediaType]; ok {
		return pt
	}
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	if a.Err != nil || json.Unmarshal(a.Content, &st) != nil {
		return ""
	}
	return st.PredicateType
}

// readNotationAttestations reads the Notation signatures of the attestation
// artifacts of the given predicate types.
func readNotationAttestations(ctx context.Context, client *oci.Client, t *oci.Target, arts []oci.Artifact, predicateTypes []string) error {
	if len(predicateTypes) == 0 {
		return nil
	}
	return client.ReadAttestationSignatures(ctx, t, arts, func(a *oci.Artifact) bool {
		pt := attestationPredicateType(a)
		for _, want := range predicateTypes {
			if pt == want {
				return true
			}
		}
		return false
	})
}

// checkNotationAttestation verifies an attestation artifact signed with
// Notation: a Notation signature over the artifact's manifest by one of the
// verifier's Notation principals, the manifest's subject (checked when it
// was read) and, for an in-toto statement, the statement's subject naming
// the image digest. A raw SPDX or CycloneDX document is seen as a statement
// whose subject is the image and whose predicate is the document: its
// binding to the image is the manifest's subject, which the signature
// covers through the manifest digest. It returns nil for an artifact of
// another predicate type.
func (v *Verifier) checkNotationAttestation(ctx context.Context, a *oci.Artifact, t *oci.Target, digest string, req AttestationRequest) *Signature {
	if pt, raw := documentPredicateTypes[a.MediaType]; raw && pt != req.PredicateType {
		return nil
	}
	sig := &Signature{Layout: a.Layout, Manifest: a.Manifest.String(), Format: oci.KindNotation}
	if a.Err != nil {
		if errors.Is(a.Err, oci.ErrSubjectMismatch) {
			sig.fail("subject", fmt.Errorf("%w: %w", ErrDigestMismatch, a.Err))
		} else {
			sig.fail("fetch", fmt.Errorf("%w: %w", ErrUnreadable, a.Err))
		}
		return sig
	}
	st, err := attestationStatement(a, digest)
	if err != nil {
		sig.fail("parse", err)
		return sig
	}
	if st.PredicateType != req.PredicateType {
		return nil
	}
	sig.check("parse", Pass, "attestation artifact "+a.ArtifactType)
	if !v.checkArtifactSignature(ctx, sig, a, t) || !notationLogged(sig, req.TransparencyLog) {
		return sig
	}
	sig.statement = st
	if _, raw := documentPredicateTypes[a.MediaType]; raw {
		sig.SignedDigest = digest
		sig.check("digest", Pass, "the artifact's subject, which the signature covers, is "+digest)
		return sig
	}
	sub, signed := st.subjectFor(digest)
	sig.SignedName, sig.SignedDigest, sig.Annotations = sub.Name, signed, sub.Annotations
	if signed != digest {
		sig.fail("digest", fmt.Errorf("%w: the statement in attestation artifact %s names %s, not %s (it was made for another image)",
			ErrDigestMismatch, short12(sig.Manifest), orNone(signed), digest))
		return sig
	}
	sig.check("digest", Pass, "statement names "+digest)
	return sig
}

// attestationStatement is the statement an attestation artifact holds, or
// stands for: a raw document becomes the predicate of a statement about
// digest.
func attestationStatement(a *oci.Artifact, digest string) (*statement, error) {
	pt, raw := documentPredicateTypes[a.MediaType]
	if !raw {
		return parseStatement(a.Content)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(a.Content, &obj); err != nil {
		return nil, fmt.Errorf("%w: the %s document in attestation artifact %s is not a JSON object: %s", ErrMalformed, a.MediaType, short12(a.Manifest.String()), jsonProblem(err))
	}
	alg, hex, _ := strings.Cut(digest, ":")
	view, err := json.Marshal(map[string]any{
		"_type":         attest.StatementTypeV1,
		"subject":       []inTotoSubject{{Digest: map[string]string{alg: hex}}},
		"predicateType": pt,
		"predicate":     json.RawMessage(a.Content),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: the %s document: %w", ErrMalformed, a.MediaType, err)
	}
	return parseStatement(view)
}

// checkArtifactSignature verifies the Notation signatures of attestation
// artifact a over its manifest, and records the first that verifies for a
// principal. It says whether one did.
func (v *Verifier) checkArtifactSignature(ctx context.Context, sig *Signature, a *oci.Artifact, t *oci.Target) bool {
	var envelopes []*oci.Artifact
	for i := range a.Signatures {
		if a.Signatures[i].Kind == oci.KindNotation {
			envelopes = append(envelopes, &a.Signatures[i])
		}
	}
	unread := ""
	if a.Unread != "" {
		unread = " (" + a.Unread + ")"
	}
	switch {
	case v.notation == nil:
		sig.fail("signature", fmt.Errorf("%w: attestation artifact %s counts only with a Notation signature, and the requirement names no Notation signer", ErrBadSignature, short12(sig.Manifest)))
		return false
	case len(envelopes) == 0:
		sig.fail("signature", fmt.Errorf("%w on attestation artifact %s (%s)%s: sign its manifest with Notation (signet attest --format notation, or notation sign on the artifact's digest)",
			ErrUnsigned, a.Manifest, a.ArtifactType, unread))
		return false
	}
	target := ocispec.Descriptor{MediaType: a.ManifestMediaType, Digest: godigest.Digest(a.Manifest.String()), Size: a.ManifestSize}
	ref := t.Digest.Context().Digest(a.Manifest.String()).String()
	var whys []string
	for _, e := range envelopes {
		who := "signature " + short12(e.Manifest.String())
		if info, err := notary.Describe(e.Content, e.MediaType); err == nil {
			who += fmt.Sprintf(" (certificate subject %q, issuer %q)", info.Subject, info.Issuer)
			if sig.Identity == "" {
				sig.Identity = fmt.Sprintf("certificate subject %q, issuer %q", info.Subject, info.Issuer)
			}
		}
		if e.Err != nil {
			whys = append(whys, who+": unreadable: "+e.Err.Error())
			continue
		}
		out, err := v.notation.Verify(ctx, target, ref, e.Content, e.MediaType)
		if err != nil {
			whys = append(whys, who+": "+oneLine(err))
			continue
		}
		sig.Identity = fmt.Sprintf("certificate subject %q, issuer %q", out.Subject, out.Issuer)
		notationSigner(sig, out)
		sig.signingTime = out.SigningTime
		sig.check("signature", Pass, fmt.Sprintf("Notation %s envelope over attestation artifact %s verified for %s", out.Envelope, short12(sig.Manifest), strings.Join(out.Principals, " and ")))
		return true
	}
	sig.fail("signature", fmt.Errorf("%w: the Notation signatures on attestation artifact %s are refused%s: %s", ErrBadSignature, short12(sig.Manifest), unread, strings.Join(whys, "; ")))
	return false
}

func orNone(s string) string {
	if s == "" {
		return "no sha256 digest"
	}
	return s
}
