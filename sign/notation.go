package sign

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-dev/signet/notary"
	"github.com/signet-dev/signet/oci"
)

// ErrNotationLayout reports a registry layout Notation signatures cannot be
// stored in.
var ErrNotationLayout = errors.New("signatures in Notation format are stored as OCI referrers only")

// NotationSigner signs images in Notation's format: a JWS or COSE envelope
// over the manifest descriptor, made with a key and its X.509 chain, stored
// as a referrer (artifactType application/vnd.cncf.notary.signature). It is
// safe for concurrent use.
type NotationSigner struct {
	key    crypto.Signer
	chain  []*x509.Certificate
	client *oci.Client
	opts   notary.SignOptions
}

// NewNotation returns a NotationSigner signing with key, whose certificate
// must be the first of chain (checked here, before anything is signed).
// Request.Annotations become Notation user metadata (signed, in the payload).
func NewNotation(key crypto.Signer, chain []*x509.Certificate, client *oci.Client, o notary.SignOptions) (*NotationSigner, error) {
	if len(chain) == 0 {
		return nil, errors.New("no certificate chain: Notation signatures carry the signing certificate and its chain (--certificate-chain)")
	}
	if !sameKey(key.Public(), chain[0].PublicKey) {
		return nil, fmt.Errorf("the key does not match the chain's first certificate %q: the chain must start with the signing key's certificate", chain[0].Subject)
	}
	return &NotationSigner{key: key, chain: chain, client: client, opts: o}, nil
}

func sameKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// SignImage resolves image, signs its manifest descriptor (and, with
// Recursive, each platform manifest's) and attaches the signatures.
func (s *NotationSigner) SignImage(ctx context.Context, image string, req Request) (*Result, error) {
	if req.Layout != "" && req.Layout != LayoutReferrers {
		return nil, fmt.Errorf("%w (the referrers API or its fallback tag), not in cosign's legacy .sig tag: use --registry-layout referrers", ErrNotationLayout)
	}
	targets, err := s.client.Targets(ctx, image, req.Recursive)
	if err != nil {
		return nil, err
	}
	res := &Result{Image: image, Tag: targets[0].Tag}
	for _, t := range targets {
		att, err := s.signTarget(ctx, t, req)
		if err != nil {
			return nil, fmt.Errorf("signing %s: %w", t.Digest.DigestStr(), err)
		}
		res.Signed = append(res.Signed, Signed{Digest: t.Digest.DigestStr(), Platform: t.Platform, Attached: []oci.Attached{*att}})
	}
	return res, nil
}

func (s *NotationSigner) signTarget(ctx context.Context, t *oci.Target, req Request) (*oci.Attached, error) {
	o := s.opts
	o.UserMetadata = req.Annotations
	env, mt, err := notary.Sign(ctx, s.key, s.chain, ManifestDescriptor(t), o)
	if err != nil {
		return nil, err
	}
	k, v := notary.ThumbprintAnnotation(s.chain)
	return s.client.AttachNotation(ctx, t, env, mt, map[string]string{k: v})
}

// AttestStatement attaches an in-toto statement about t as an attestation
// artifact (a referrer of t, artifactType application/vnd.in-toto+json)
// and signs the artifact's manifest with Notation, the signature a
// referrer of the artifact. The statement's subject is the caller's to
// get right; verifiers check it names t's digest.
func (s *NotationSigner) AttestStatement(ctx context.Context, t *oci.Target, statement []byte) (artifact, signature *oci.Attached, err error) {
	artifact, err = s.client.AttachAttestation(ctx, t, statement, oci.InTotoMediaType, nil)
	if err != nil {
		return nil, nil, err
	}
	signature, err = s.signTarget(ctx, t.Child(artifact.Descriptor), Request{})
	if err != nil {
		return nil, nil, fmt.Errorf("signing attestation artifact %s: %w", artifact.Digest, err)
	}
	return artifact, signature, nil
}

// ManifestDescriptor is the descriptor a Notation signature of t names: the
// manifest's media type, digest and size.
func ManifestDescriptor(t *oci.Target) ocispec.Descriptor {
	return ocispec.Descriptor{
		MediaType: string(t.Descriptor.MediaType),
		Digest:    digest.Digest(t.Descriptor.Digest.String()),
		Size:      t.Descriptor.Size,
	}
}

// SignImages signs several images, workers at a time, as Signer.SignImages.
func (s *NotationSigner) SignImages(ctx context.Context, images []string, req Request, workers int) ([]*Result, error) {
	return signAll(ctx, images, workers, func(ctx context.Context, img string) (*Result, error) {
		return s.SignImage(ctx, img, req)
	})
}
