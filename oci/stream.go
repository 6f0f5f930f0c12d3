package oci

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Layer returns the blob desc names in repo as a layer streamed from the
// registry when read, with no size cap: for copying image layers, which
// Blob (capped, read whole) is not for. Nothing is fetched until the
// layer's content is read; the destination checks the digest.
func (c *Client) Layer(ctx context.Context, repo name.Repository, desc v1.Descriptor) (v1.Layer, error) {
	l, err := remote.Layer(repo.Digest(desc.Digest.String()), c.remoteOpts(ctx, nil)...)
	if err != nil {
		return nil, registryErr(fmt.Sprintf("opening blob %s", desc.Digest), err)
	}
	return descLayer{Layer: l, desc: desc}, nil
}

// descLayer answers Size and MediaType from the descriptor, so a registry
// blob is not fetched just to learn them.
type descLayer struct {
	v1.Layer
	desc v1.Descriptor
}

func (l descLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l descLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l descLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }

// Layer returns the blob desc names as a layer read from its file when
// read, with no size cap. A missing blob matches ErrNotFound; the file's
// size must be desc's, and reading it to the end checks its digest
// (ErrCorrupt).
func (l *LayoutDir) Layer(_ context.Context, _ name.Repository, desc v1.Descriptor) (v1.Layer, error) {
	if err := checkHash(desc.Digest); err != nil {
		return nil, err
	}
	p := filepath.Join(l.dir, "blobs", desc.Digest.Algorithm, desc.Digest.Hex)
	st, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: the layout %s has no blob %s", errNotInLayout, l.dir, desc.Digest)
	case err != nil:
		return nil, err
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("blob %s in %s is not a regular file", desc.Digest, l.dir)
	case st.Size() != desc.Size:
		return nil, fmt.Errorf("blob %s in %s is %d bytes, its descriptor says %d: %w", desc.Digest, l.dir, st.Size(), desc.Size, ErrCorrupt)
	}
	return &layoutLayer{path: p, desc: desc}, nil
}

type layoutLayer struct {
	path string
	desc v1.Descriptor
}

func (l *layoutLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *layoutLayer) DiffID() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *layoutLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *layoutLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l *layoutLayer) Uncompressed() (io.ReadCloser, error) {
	return l.Compressed()
}

// Compressed opens the file, checking its digest as it is read to the end.
func (l *layoutLayer) Compressed() (io.ReadCloser, error) {
	f, err := openRegular(l.path, true) // a file swapped since Layer checked it is refused
	if errors.Is(err, errNotRegular) {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err != nil {
		return nil, err
	}
	return &checkedReader{f: f, h: newHasher(l.desc.Digest.Algorithm), want: l.desc.Digest, left: l.desc.Size}, nil
}

// checkedReader fails the read that reaches the end of content whose
// digest is not the one wanted.
type checkedReader struct {
	f    *os.File
	h    hasher
	want v1.Hash
	left int64 // bytes the descriptor still allows
}

func (r *checkedReader) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	r.h.Write(p[:n])
	if r.left -= int64(n); r.left < 0 {
		return n, fmt.Errorf("blob %s is longer than its descriptor says (it grew since it was checked): %w", r.want, ErrCorrupt)
	}
	if errors.Is(err, io.EOF) {
		if got := fmt.Sprintf("%x", r.h.Sum(nil)); got != r.want.Hex {
			return n, fmt.Errorf("blob %s hashes to %s:%s: %w", r.want, r.want.Algorithm, got, ErrCorrupt)
		}
	}
	return n, err
}

func (r *checkedReader) Close() error { return r.f.Close() }

// PutReferrer pushes raw, a manifest whose subject is subject, by its
// digest, and makes sure it is listed among subject's referrers: on a
// registry without the referrers API, the fallback tag sha256-<hex> is read
// back and given the entry (entry: the manifest's descriptor, with its
// artifactType and annotations) if the push left it out. It returns where
// the referrer is listed.
func (c *Client) PutReferrer(ctx context.Context, subject name.Digest, raw []byte, mt types.MediaType, entry v1.Descriptor) (Layout, error) {
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	if h != entry.Digest {
		return "", fmt.Errorf("pushing referrer %s: its content has digest %s", entry.Digest, h)
	}
	dst := subject.Context().Digest(h.String())
	probe := &referrersProbe{subject: subject.DigestStr()}
	if err := remote.Put(dst, rawManifest{raw, mt}, c.remoteOpts(withProbe(ctx, probe), c.transport)...); err != nil {
		return "", registryErr(fmt.Sprintf("pushing referrer manifest %s", dst), err)
	}
	if !probe.usedFallback() {
		return LayoutReferrersAPI, nil
	}
	if err := c.ensureFallbackEntry(ctx, subject, entry); err != nil {
		return "", err
	}
	return LayoutFallbackTag, nil
}
