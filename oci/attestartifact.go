package oci

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Attestation artifacts: an OCI artifact whose subject is the image and
// whose one layer is an attestation document — an in-toto statement, or an
// SPDX or CycloneDX document as `oras attach` pushes it — signed, as
// Notation users sign them, by a Notation signature that is a referrer of
// the artifact's manifest (Kyverno's and Ratify's model).
const (
	// InTotoMediaType is an in-toto statement (JSON).
	InTotoMediaType = "application/vnd.in-toto+json"
	// SPDXMediaType is an SPDX JSON document.
	SPDXMediaType = "application/spdx+json"
	// CycloneDXMediaType is a CycloneDX JSON document.
	CycloneDXMediaType = "application/vnd.cyclonedx+json"
	// orasLayerMediaType is the layer media type oras attach gives a file
	// named without one.
	orasLayerMediaType = "application/vnd.oci.image.layer.v1.tar"
	// maxAttestationArtifacts and maxAttestationSignatures bound what
	// ReadAttestationSignatures reads: the artifacts whose referrers it
	// lists, and the Notation signatures it reads of each.
	maxAttestationArtifacts  = 32
	maxAttestationSignatures = 8
)

// KindAttestationArtifact is an attestation document in an OCI artifact
// that is a referrer of the image (artifactType InTotoMediaType,
// SPDXMediaType or CycloneDXMediaType); Artifact.MediaType is the document
// type, Content the document.
const KindAttestationArtifact Kind = "attestation-artifact"

// ErrSubjectMismatch means a referrer's manifest names another subject than
// the image it was listed for (an entry copied into a fallback tag).
var ErrSubjectMismatch = errors.New("referrer's subject is another image")

// IsAttestationArtifactType says whether an artifactType is one of the
// attestation documents read as KindAttestationArtifact.
func IsAttestationArtifactType(t string) bool {
	return t == InTotoMediaType || t == SPDXMediaType || t == CycloneDXMediaType
}

// readAttestationArtifact fills a with the document of the attestation
// artifact m, listed as a referrer of subject: its subject must be that
// image, and it must have exactly one layer of the document's type (or
// oras's default layer type), read under the size cap.
func readAttestationArtifact(ctx context.Context, s Reader, subject name.Digest, got *Manifest, m *v1.Manifest, a Artifact) Artifact {
	a.Kind = KindAttestationArtifact
	a.MediaType = a.ArtifactType
	a.ManifestMediaType, a.ManifestSize = string(got.Descriptor.MediaType), int64(len(got.Raw))
	switch {
	case m.Subject == nil:
		a.Err = fmt.Errorf("%w: attestation artifact %s names no subject, so it is about no image", ErrSubjectMismatch, a.Manifest)
		return a
	case m.Subject.Digest.String() != subject.DigestStr():
		a.Err = fmt.Errorf("%w: attestation artifact %s is about %s, not %s (listed among this image's referrers, but made for another image)",
			ErrSubjectMismatch, a.Manifest, m.Subject.Digest, subject.DigestStr())
		return a
	case len(m.Layers) != 1:
		a.Err = fmt.Errorf("attestation artifact %s (%s) has %d layers, not one document layer", a.Manifest, a.ArtifactType, len(m.Layers))
		return a
	}
	if mt := string(m.Layers[0].MediaType); mt != a.ArtifactType && mt != orasLayerMediaType {
		a.Err = fmt.Errorf("attestation artifact %s claims %s but its layer is of type %q", a.Manifest, a.ArtifactType, mt)
		return a
	}
	a.Content, a.Err = s.Blob(ctx, subject.Context(), m.Layers[0])
	return a
}

// ReadAttestationSignatures lists, for each readable attestation artifact
// in arts that want accepts (nil: all), its Notation signatures — the
// referrers of its manifest, through the referrers API or the fallback tag
// — and stores them in its Signatures. At most 32 artifacts are looked at
// and 8 signatures read of each; what is left unread is said in Unread.
// Only failures to talk to the registry are returned as an error.
func (c *Client) ReadAttestationSignatures(ctx context.Context, t *Target, arts []Artifact, want func(*Artifact) bool) error {
	s := c.reader(t)
	looked := 0
	for i := range arts {
		a := &arts[i]
		if a.Kind != KindAttestationArtifact || a.Err != nil || a.SignaturesRead || (want != nil && !want(a)) {
			continue
		}
		if looked == maxAttestationArtifacts {
			a.Unread = fmt.Sprintf("its signatures were not read: the image has more than %d attestation artifacts of the types required, and Signet reads the signatures of the first %d", maxAttestationArtifacts, maxAttestationArtifacts)
			continue
		}
		looked++
		if err := readSignaturesOf(ctx, s, t.Digest.Context().Digest(a.Manifest.String()), a); err != nil {
			return err
		}
	}
	return nil
}

// readSignaturesOf reads the Notation signatures among d's referrers into a.
func readSignaturesOf(ctx context.Context, s Reader, d name.Digest, a *Artifact) error {
	im, layout, err := s.Referrers(ctx, d)
	if err != nil {
		return err
	}
	a.SignaturesRead = true
	n := 0
	for _, desc := range im.Manifests {
		// A registry may list a referrer by its config's media type (the
		// empty one), or with none: those are read to see what they are.
		if at := desc.ArtifactType; at != NotationArtifactType && at != "" && at != EmptyMediaType {
			continue
		}
		if n == maxAttestationSignatures {
			a.Unread = fmt.Sprintf("more than %d Notation signatures are attached to it; Signet read the first %d", maxAttestationSignatures, maxAttestationSignatures)
			break
		}
		n++
		if sig := readReferrer(ctx, s, d, desc, layout); sig.Kind == KindNotation {
			a.Signatures = append(a.Signatures, sig)
		}
	}
	return nil
}
