package oci

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Reader is the read half of where images are kept: a registry (*Client)
// or an OCI image layout directory (*LayoutDir). It is all Discover, Legacy,
// Resolve and Children need, and what a copy reads from.
//
// A reference names a manifest by tag or digest. A registry reads the
// repository from it; a layout holds one repository and ignores it.
type Reader interface {
	// Get fetches the manifest ref names, as stored, with its descriptor.
	// A missing manifest or tag matches ErrNotFound. Content that does not
	// match its digest matches ErrCorrupt in a layout, ErrRegistry (a
	// transfer that went wrong) in a registry.
	Get(ctx context.Context, ref name.Reference) (*Manifest, error)
	// Blob reads a small blob whole: one larger than the store's artifact
	// cap is refused unread, and what was read is checked against desc's
	// size and digest.
	Blob(ctx context.Context, repo name.Repository, desc v1.Descriptor) ([]byte, error)
	// Referrers lists the manifests whose subject is d, and where the list
	// was found.
	Referrers(ctx context.Context, d name.Digest) (*v1.IndexManifest, Layout, error)
	// Tags lists the tags of repo (REGISTRY/REPOSITORY; a layout lists its
	// own), at most max (an error, not a partial list, beyond).
	Tags(ctx context.Context, repo string, max int) ([]string, error)
}

// Writer is the write half: what attaching a signature or attestation,
// and a copy, write.
type Writer interface {
	// PutBlob stores a blob in repo (a layout ignores repo).
	PutBlob(ctx context.Context, repo name.Repository, l v1.Layer) error
	// PutManifest stores raw, of media type mt, under ref: a tag (which it
	// then names) or its own digest. A manifest with a subject becomes a
	// referrer of the subject.
	PutManifest(ctx context.Context, ref name.Reference, raw []byte, mt types.MediaType) error
}

// Store reads and writes images and what is attached to them.
type Store interface {
	Reader
	Writer
}

// Manifest is a manifest as stored.
type Manifest struct {
	// Raw is the manifest's bytes, whose digest is Descriptor.Digest.
	Raw []byte
	// Descriptor describes it: media type, digest, size.
	Descriptor v1.Descriptor
}

// ErrCorrupt means content read from a layout does not match its digest or
// size: it was changed after it was written. Unlike a registry transfer,
// reading it again will not help.
var ErrCorrupt = errors.New("content does not match its digest")

var (
	_ Store = (*Client)(nil)
	_ Store = (*LayoutDir)(nil)
)

// Get fetches the manifest ref names from its registry, refusing one over
// the artifact size cap.
func (c *Client) Get(ctx context.Context, ref name.Reference) (*Manifest, error) {
	d, err := c.get(ctx, ref)
	if err != nil {
		return nil, registryErr(fmt.Sprintf("fetching manifest %s", ref), err)
	}
	if int64(len(d.Manifest)) > c.maxBytes {
		return nil, fmt.Errorf("manifest %s is %d bytes, over the %d-byte cap", ref, len(d.Manifest), c.maxBytes)
	}
	return &Manifest{Raw: d.Manifest, Descriptor: d.Descriptor}, nil
}

// Blob fetches a small blob from repo (see Reader).
func (c *Client) Blob(ctx context.Context, repo name.Repository, desc v1.Descriptor) ([]byte, error) {
	return c.readBlob(ctx, repo, desc)
}

// Referrers lists d's referrers through the referrers API, or its fallback
// tag on a registry without one.
func (c *Client) Referrers(ctx context.Context, d name.Digest) (*v1.IndexManifest, Layout, error) {
	return c.referrersIndex(ctx, d)
}

// PutBlob uploads a blob to repo.
func (c *Client) PutBlob(ctx context.Context, repo name.Repository, l v1.Layer) error {
	if err := remote.WriteLayer(repo, l, c.remoteOpts(ctx, nil)...); err != nil {
		return registryErr(fmt.Sprintf("uploading blob to %s", repo), err)
	}
	return nil
}

// PutManifest pushes raw under ref. A registry without the referrers API
// gets a manifest with a subject listed in the subject's fallback tag by
// go-containerregistry.
func (c *Client) PutManifest(ctx context.Context, ref name.Reference, raw []byte, mt types.MediaType) error {
	if d, ok := ref.(name.Digest); ok {
		h, _, err := v1.SHA256(bytes.NewReader(raw))
		if err != nil {
			return err
		}
		if h.String() != d.DigestStr() {
			return fmt.Errorf("pushing manifest %s: its content has digest %s", ref, h)
		}
	}
	if err := remote.Put(ref, rawManifest{raw, mt}, c.remoteOpts(ctx, nil)...); err != nil {
		return registryErr(fmt.Sprintf("pushing manifest %s", ref), err)
	}
	return nil
}
