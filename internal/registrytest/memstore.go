package registrytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/oci"
)

// MemStore is an oci.Store in memory, with no registry and no files: the
// fake that shows what reads and writes through the seam alone. Its
// repository is whatever a reference names (it holds one).
type MemStore struct {
	mu        sync.Mutex
	manifests map[v1.Hash]oci.Manifest
	blobs     map[v1.Hash][]byte
	tags      map[string]v1.Hash
}

var _ oci.Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{manifests: map[v1.Hash]oci.Manifest{}, blobs: map[v1.Hash][]byte{}, tags: map[string]v1.Hash{}}
}

// PutImage stores img (its blobs and manifest) under tag and returns its digest.
func (s *MemStore) PutImage(t testing.TB, repo name.Repository, tag string, img v1.Image) v1.Hash {
	t.Helper()
	ctx := context.Background()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := partial.ConfigLayer(img)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range append(layers, cfg) {
		if err := s.PutBlob(ctx, repo, l); err != nil {
			t.Fatal(err)
		}
	}
	raw, _ := img.RawManifest()
	mt, _ := img.MediaType()
	if err := s.PutManifest(ctx, repo.Tag(tag), raw, mt); err != nil {
		t.Fatal(err)
	}
	h, _ := img.Digest()
	return h
}

// Get returns the manifest ref names.
func (s *MemStore) Get(_ context.Context, ref name.Reference) (*oci.Manifest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var h v1.Hash
	switch r := ref.(type) {
	case name.Tag:
		var ok bool
		if h, ok = s.tags[r.TagStr()]; !ok {
			return nil, fmt.Errorf("%w: no tag %s", oci.ErrNotFound, r.TagStr())
		}
	case name.Digest:
		var err error
		if h, err = v1.NewHash(r.DigestStr()); err != nil {
			return nil, err
		}
	}
	m, ok := s.manifests[h]
	if !ok {
		return nil, fmt.Errorf("%w: no manifest %s", oci.ErrNotFound, h)
	}
	return &m, nil
}

// Blob returns a blob, checked against desc.
func (s *MemStore) Blob(_ context.Context, _ name.Repository, desc v1.Descriptor) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blobs[desc.Digest]
	if !ok {
		return nil, fmt.Errorf("%w: no blob %s", oci.ErrNotFound, desc.Digest)
	}
	if h, _, _ := v1.SHA256(bytes.NewReader(b)); h != desc.Digest || int64(len(b)) != desc.Size {
		return nil, fmt.Errorf("%w: blob %s", oci.ErrCorrupt, desc.Digest)
	}
	return b, nil
}

// Referrers lists the stored manifests whose subject is d.
func (s *MemStore) Referrers(_ context.Context, d name.Digest) (*v1.IndexManifest, oci.Layout, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	for h, m := range s.manifests {
		var man v1.Manifest
		if json.Unmarshal(m.Raw, &man) != nil || man.Subject == nil || man.Subject.Digest.String() != d.DigestStr() {
			continue
		}
		out.Manifests = append(out.Manifests, v1.Descriptor{MediaType: m.Descriptor.MediaType, Digest: h, Size: m.Descriptor.Size,
			ArtifactType: man.ArtifactType, Annotations: man.Annotations})
	}
	slices.SortFunc(out.Manifests, func(a, b v1.Descriptor) int { return bytes.Compare([]byte(a.Digest.Hex), []byte(b.Digest.Hex)) })
	return out, oci.LayoutReferrersAPI, nil
}

// Tags lists the store's tags.
func (s *MemStore) Tags(_ context.Context, _ string, _ int) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for t := range s.tags {
		out = append(out, t)
	}
	slices.Sort(out)
	return out, nil
}

// PutBlob stores a blob.
func (s *MemStore) PutBlob(_ context.Context, _ name.Repository, l v1.Layer) error {
	h, err := l.Digest()
	if err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blobs[h] = b
	return nil
}

// PutManifest stores a manifest, under ref's tag if it is one.
func (s *MemStore) PutManifest(_ context.Context, ref name.Reference, raw []byte, mt types.MediaType) error {
	h, size, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != h.String() {
		return fmt.Errorf("manifest %s has digest %s", d.DigestStr(), h)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.manifests[h] = oci.Manifest{Raw: slices.Clone(raw), Descriptor: v1.Descriptor{MediaType: mt, Digest: h, Size: size}}
	if t, ok := ref.(name.Tag); ok {
		s.tags[t.TagStr()] = h
	}
	return nil
}

// Tamper changes one byte of the blob h, keeping its size.
func (s *MemStore) Tamper(h v1.Hash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.blobs[h]; len(b) > 0 {
		b[len(b)/2] ^= 1
	}
}
