package attest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/signet-dev/signet/internal/lazyre"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
)

// DetachedPredicateType is the predicate type of a statement whose
// predicate is stored apart from it (attest --detached): its predicate is a
// DetachedPredicate naming the document by digest, size and media type. The
// statement is an ordinary in-toto statement, so cosign verifies it with
// --type https://signet.dev/detached-predicate/v1.
const DetachedPredicateType = "https://signet.dev/detached-predicate/v1"

// ErrDetachedPredicate means a detached-predicate statement's predicate is
// not a well-formed DetachedPredicate.
var ErrDetachedPredicate = errors.New("malformed detached predicate")

// DetachedPredicate is the predicate of a DetachedPredicateType statement:
// what the real predicate is and where it is.
type DetachedPredicate struct {
	// PredicateType is the real predicate's type (https://cyclonedx.org/bom).
	PredicateType string `json:"predicateType"`
	// Digest is the document's sha256 digest ("sha256:<64 hex>").
	Digest string `json:"digest"`
	// Size is the document's size in bytes.
	Size int64 `json:"size"`
	// MediaType is the document's media type (application/vnd.cyclonedx+json).
	MediaType string `json:"mediaType"`
	// Artifact is the digest of the OCI artifact manifest holding it, a
	// referrer of the image (where to find it; the document is checked by
	// Digest, Size and MediaType).
	Artifact string `json:"artifact"`
}

var (
	sha256Digest = lazyre.New(`^sha256:[0-9a-f]{64}$`)
	mediaTypeRE  = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$`)
)

// ParseDetachedPredicate parses and checks a DetachedPredicate: a known
// shape with no other fields, a predicate type, sha256 digests, a
// non-negative size and a media type of the form type/subtype.
func ParseDetachedPredicate(data []byte) (*DetachedPredicate, error) {
	var p DetachedPredicate
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDetachedPredicate, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the predicate object", ErrDetachedPredicate)
	}
	switch {
	case p.PredicateType == "":
		return nil, fmt.Errorf("%w: it names no predicateType", ErrDetachedPredicate)
	case p.PredicateType == DetachedPredicateType:
		return nil, fmt.Errorf("%w: a detached predicate cannot itself be detached", ErrDetachedPredicate)
	case !sha256Digest.MatchString(p.Digest):
		return nil, fmt.Errorf("%w: digest %q is not sha256:<64 hex digits>", ErrDetachedPredicate, p.Digest)
	case !sha256Digest.MatchString(p.Artifact):
		return nil, fmt.Errorf("%w: artifact %q is not sha256:<64 hex digits>", ErrDetachedPredicate, p.Artifact)
	case p.Size < 0:
		return nil, fmt.Errorf("%w: size %d is negative", ErrDetachedPredicate, p.Size)
	case !mediaTypeRE.MatchString(p.MediaType):
		return nil, fmt.Errorf("%w: media type %q is not type/subtype", ErrDetachedPredicate, p.MediaType)
	}
	return &p, nil
}

// MediaTypeFor is the media type a detached predicate of predicateType is
// stored with: CycloneDX's and SPDX's own, else application/json.
func MediaTypeFor(predicateType string) string {
	switch predicateType {
	case PredicateCycloneDX:
		return oci.CycloneDXMediaType
	case PredicateSPDX:
		return oci.SPDXMediaType
	}
	return "application/json"
}

// attestDetached stores the checked predicate as a detached predicate
// artifact of t, then signs and attaches the small statement naming it.
func (a *Attester) attestDetached(ctx context.Context, t *oci.Target, c *Checked) (*Attested, error) {
	if c.given != nil {
		return nil, errors.New("--detached needs a predicate file: a statement given whole keeps its predicate")
	}
	if a.notation != nil {
		return nil, errors.New("--detached is not supported with --format notation")
	}
	mt := MediaTypeFor(c.predicateType)
	art, layer, err := a.client.AttachDetachedPredicate(ctx, t, c.path, c.predicate, mt, c.predicateType)
	if err != nil {
		return nil, fmt.Errorf("storing the detached predicate: %w", err)
	}
	p, err := json.Marshal(DetachedPredicate{PredicateType: c.predicateType, Digest: layer.Digest.String(),
		Size: layer.Size, MediaType: mt, Artifact: art.Digest.String()})
	if err != nil {
		return nil, err
	}
	st, err := NewStatement(t.Name(), t.Digest.DigestStr(), DetachedPredicateType, p)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	bundle, entries, err := a.signer.SignStatement(ctx, payload)
	if err != nil {
		return nil, err
	}
	att, err := a.client.AttachBundle(ctx, t, bundle, sign.BundleAnnotations(DetachedPredicateType, a.now()))
	if err != nil {
		return nil, err
	}
	return &Attested{Digest: t.Digest.DigestStr(), Platform: t.Platform, PredicateType: c.predicateType,
		Attached: *att, Log: entries, Detached: art}, nil
}
