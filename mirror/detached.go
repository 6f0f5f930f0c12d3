package mirror

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/signet-dev/signet/internal/lazyre"
	"github.com/signet-dev/signet/oci"
)

// detachedPredicateType is attest.DetachedPredicateType (not imported:
// attest brings signing along): a statement of this type names a document
// stored as its own artifact, which must travel with it.
const detachedPredicateType = "https://signet.dev/detached-predicate/v1"

var sha256Digest = lazyre.New(`^sha256:[0-9a-f]{64}$`)

// followDetached copies the artifact a detached-predicate attestation m
// (a referrer of subject) names, so that the attestation verifies at the
// destination: copying the attestation alone (--only attestations) would
// leave its document behind. The artifact is copied by the digest the
// statement names (read unverified: it chooses what is copied, never what
// is trusted), as an attestation. An artifact the source lacks stops the
// copy: the attestation could not be verified at the destination.
func (c *copier) followDetached(ctx context.Context, m *oci.Manifest, subject string) error {
	artifact, err := c.detachedArtifact(ctx, m)
	if err != nil {
		return fmt.Errorf("reading the detached-predicate attestation %s of %s: %w", m.Descriptor.Digest, subject, err)
	}
	if artifact == "" || c.done[artifact] {
		return nil
	}
	am, err := c.Src.Get(ctx, c.srcRepo.Digest(artifact))
	if errors.Is(err, oci.ErrNotFound) {
		return fmt.Errorf("the detached-predicate attestation %s of %s names its document's artifact %s, which the source does not hold: "+
			"the attestation cannot be verified there or at the destination (attest again with --detached, or delete the attestation): %w", m.Descriptor.Digest, subject, artifact, err)
	}
	if err != nil {
		return fmt.Errorf("reading the detached predicate artifact %s of %s: %w", artifact, subject, err)
	}
	return c.copyManifest(ctx, am, KindAttestation, "", subject)
}

// detachedArtifact reads the statement in a bundle referrer m and returns
// the artifact digest its detached predicate names ("" when m is not a
// detached-predicate statement).
func (c *copier) detachedArtifact(ctx context.Context, m *oci.Manifest) (string, error) {
	var man struct {
		Annotations map[string]string `json:"annotations"`
		Layers      []v1.Descriptor   `json:"layers"`
	}
	if err := json.Unmarshal(m.Raw, &man); err != nil || man.Annotations[oci.AnnotationPredicateType] != detachedPredicateType || len(man.Layers) != 1 {
		return "", nil
	}
	b, err := c.Src.Blob(ctx, c.srcRepo, man.Layers[0])
	if err != nil {
		return "", err
	}
	return artifactNamed(b)
}

// artifactNamed returns the artifact digest a Sigstore bundle's
// detached-predicate statement names ("" for a statement of another type).
func artifactNamed(bundle []byte) (string, error) {
	var b struct {
		DSSE *struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil || b.DSSE == nil {
		return "", errors.New("the bundle holds no DSSE envelope")
	}
	payload, err := base64.StdEncoding.DecodeString(b.DSSE.Payload)
	if err != nil {
		return "", fmt.Errorf("the bundle's payload is not base64: %w", err)
	}
	var st struct {
		PredicateType string `json:"predicateType"`
		Predicate     struct {
			Artifact string `json:"artifact"`
		} `json:"predicate"`
	}
	if err := json.NewDecoder(bytes.NewReader(payload)).Decode(&st); err != nil {
		return "", fmt.Errorf("the bundle's statement is not JSON: %w", err)
	}
	if st.PredicateType != detachedPredicateType {
		return "", nil
	}
	if !sha256Digest.MatchString(st.Predicate.Artifact) {
		return "", fmt.Errorf("its statement names artifact %q, not sha256:<64 hex digits>", st.Predicate.Artifact)
	}
	return st.Predicate.Artifact, nil
}
