package oci

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Detached predicates: a predicate too large for a signed statement (an SBOM
// of hundreds of megabytes) stored as its own OCI artifact, a referrer of the
// image whose artifactType and one layer have the predicate's media type. A
// small signed statement names it (see attest.DetachedPredicateType); the
// artifact itself is unsigned and counts only through that statement.
const (
	// AnnotationDetachedPredicate marks a detached predicate's manifest; its
	// value is the predicate type of the document (unsigned: a verifier
	// checks the signed statement that names the artifact).
	AnnotationDetachedPredicate = "dev.signet.detached-predicate.type"
	// KindDetachedPredicate is a detached predicate artifact: its document
	// is not read when the image's referrers are listed, only when a signed
	// statement that names it is verified.
	KindDetachedPredicate Kind = "detached-predicate"
)

// AttachDetachedPredicate stores the predicate document at path (or doc,
// when path is empty) as a referrer of subject: artifactType mediaType, the
// empty config, one layer of mediaType holding the document, streamed from
// its file. It returns the artifact and its layer's descriptor.
func (c *Client) AttachDetachedPredicate(ctx context.Context, subject *Target, path string, doc []byte, mediaType, predicateType string) (*Attached, v1.Descriptor, error) {
	mt := types.MediaType(mediaType)
	var layer v1.Layer = static.NewLayer(doc, mt)
	if path != "" {
		l, err := newFileLayer(path, mt)
		if err != nil {
			return nil, v1.Descriptor{}, err
		}
		layer = l
	}
	desc, err := descriptorOf(layer, mt)
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	att, err := c.attachReferrer(ctx, subject, referrerSpec{
		artifactType: mediaType, layer: layer, layerMediaType: mt,
		annotations: withCreated(map[string]string{AnnotationDetachedPredicate: predicateType}),
	})
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	return att, desc, nil
}

// readDetachedPredicate classifies a detached predicate's manifest m
// without reading its document: MediaType is the layer's type.
func readDetachedPredicate(m *v1.Manifest, a Artifact) Artifact {
	a.Kind = KindDetachedPredicate
	if len(m.Layers) != 1 {
		a.Err = fmt.Errorf("detached predicate %s has %d layers, not one document layer", a.Manifest, len(m.Layers))
		return a
	}
	a.MediaType = string(m.Layers[0].MediaType)
	return a
}

// DetachedManifest reads the manifest digest names in t's repository (in
// t's store for a layout) and returns it parsed. A missing one matches
// ErrNotFound.
func (c *Client) DetachedManifest(ctx context.Context, t *Target, digest string) (*v1.Manifest, error) {
	d, err := name.NewDigest(t.Digest.Context().String()+"@"+digest, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("detached predicate artifact %q is not a digest: %w", digest, err)
	}
	got, err := c.reader(t).Get(ctx, d)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(got.Raw))
	if err != nil {
		return nil, fmt.Errorf("parsing detached predicate manifest %s: %w", digest, err)
	}
	return m, nil
}

// OpenBlob streams the blob desc names in t's repository (or store), with
// no size cap and no digest check of its own: the caller reads at most
// desc.Size bytes and checks the digest (see verify's detached predicates).
func (c *Client) OpenBlob(ctx context.Context, t *Target, desc v1.Descriptor) (io.ReadCloser, error) {
	var l v1.Layer
	var err error
	if ld := t.Layout(); ld != nil {
		l, err = ld.Layer(ctx, t.Digest.Context(), desc)
	} else if t.store != nil {
		return nil, errors.New("reading a detached predicate from this store is not supported")
	} else {
		l, err = c.Layer(ctx, t.Digest.Context(), desc)
	}
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, registryErr(fmt.Sprintf("reading blob %s", desc.Digest), err)
	}
	return rc, nil
}
