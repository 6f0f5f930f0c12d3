package verify

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
)

// ParseSimpleSigning parses cosign's legacy simple-signing payload and
// checks that it describes a container image signature.
func ParseSimpleSigning(payload []byte) (*sign.SimpleSigning, error) {
	var p sign.SimpleSigning
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("%w: the signed payload is not a simple-signing payload: %s", ErrMalformed, jsonProblem(err))
	}
	if p.Critical.Type != sign.SimpleSigningType {
		return nil, fmt.Errorf("%w: simple-signing type %q, want %q", ErrMalformed, p.Critical.Type, sign.SimpleSigningType)
	}
	if p.Critical.Image.DockerManifestDigest == "" {
		return nil, fmt.Errorf("%w: simple-signing payload names no image digest", ErrMalformed)
	}
	return &p, nil
}

// checkSimpleSigning verifies one layer of a legacy .sig image.
func (v *Verifier) checkSimpleSigning(a *oci.Artifact, digest string, req Request) *Signature {
	sig := &Signature{Layout: a.Layout, Manifest: artifactName(a), Format: oci.KindSimpleSigning}
	if a.Err != nil {
		sig.fail("fetch", fmt.Errorf("%w: %w", ErrUnreadable, a.Err))
		return sig
	}
	raw, err := base64.StdEncoding.DecodeString(a.Signature)
	if err != nil || len(raw) == 0 {
		sig.fail("parse", fmt.Errorf("%w: signature annotation is missing or not base64", ErrMalformed))
		return sig
	}
	var verified *trustedKey
	for _, k := range v.keys {
		if k.verifier.VerifySignature(bytes.NewReader(raw), bytes.NewReader(a.Content)) == nil {
			verified = &k
			break
		}
	}
	if verified == nil {
		sig.fail("signature", v.untrustedKey(""))
		return sig
	}
	sig.Key, sig.KeyID, sig.signerID = verified.name, verified.id, "key:"+verified.id
	sig.check("signature", Pass, "verified with key "+verified.name)
	p, err := ParseSimpleSigning(a.Content)
	if err != nil {
		sig.fail("parse", err)
		return sig
	}
	sig.SignedName = p.Critical.Identity.DockerReference
	sig.SignedDigest = p.Critical.Image.DockerManifestDigest
	sig.Annotations = p.Optional
	if sig.SignedDigest != digest {
		sig.fail("digest", fmt.Errorf("%w: signed payload names %s, not %s", ErrDigestMismatch, sig.SignedDigest, digest))
		return sig
	}
	sig.check("digest", Pass, "signed payload names "+digest)
	if !v.checkLegacyTlog(sig, a, req.TransparencyLog, legacySigned{content: a.Content, signature: raw, key: verified.publicKey()}) {
		return sig
	}
	checkAnnotations(sig, req.Annotations)
	return sig
}
