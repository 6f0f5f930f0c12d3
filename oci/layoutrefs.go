package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Referrers lists the manifests index.json lists whose subject is d, and
// the entries of d's referrers fallback tag if the layout has one. A
// manifest that cannot be read, or does not match its digest, is an error:
// it could be one of d's referrers.
func (l *LayoutDir) Referrers(ctx context.Context, d name.Digest) (*v1.IndexManifest, Layout, error) {
	im, err := l.Index()
	if err != nil {
		return nil, "", err
	}
	out := &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	for _, desc := range im.Manifests {
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		if desc.Digest.String() == d.DigestStr() || !(desc.MediaType.IsImage() || desc.MediaType.IsIndex() || desc.MediaType == "") {
			continue
		}
		m, err := l.manifest(desc)
		if err != nil {
			return nil, "", fmt.Errorf("listing referrers of %s in %s: %w", d.DigestStr(), l.dir, err)
		}
		var sub struct {
			Subject      *v1.Descriptor    `json:"subject"`
			ArtifactType string            `json:"artifactType"`
			Config       v1.Descriptor     `json:"config"`
			Annotations  map[string]string `json:"annotations"`
		}
		if err := json.Unmarshal(m.Raw, &sub); err != nil || sub.Subject == nil || sub.Subject.Digest.String() != d.DigestStr() {
			continue
		}
		at := sub.ArtifactType
		if at == "" {
			at = string(sub.Config.MediaType)
		}
		addReferrer(out, v1.Descriptor{MediaType: m.Descriptor.MediaType, Digest: desc.Digest, Size: m.Descriptor.Size, ArtifactType: at, Annotations: sub.Annotations})
	}
	fallback, err := l.Get(ctx, FallbackTag(d))
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, "", fmt.Errorf("reading the referrers fallback tag of %s in %s: %w", d.DigestStr(), l.dir, err)
	default:
		var fim v1.IndexManifest
		if err := json.Unmarshal(fallback.Raw, &fim); err != nil {
			return nil, "", fmt.Errorf("parsing the referrers fallback tag of %s in %s: %w", d.DigestStr(), l.dir, err)
		}
		for _, e := range fim.Manifests {
			addReferrer(out, e)
		}
	}
	if len(out.Manifests) > defaultMaxReferrersEntries {
		return nil, "", fmt.Errorf("listing referrers of %s in %s: %d entries, more than the %d Signet reads", d.DigestStr(), l.dir, len(out.Manifests), defaultMaxReferrersEntries)
	}
	return out, LayoutOCI, nil
}

func addReferrer(im *v1.IndexManifest, d v1.Descriptor) {
	if !slices.ContainsFunc(im.Manifests, func(e v1.Descriptor) bool { return e.Digest == d.Digest }) {
		im.Manifests = append(im.Manifests, d)
	}
}

// PutBlob writes a blob into blobs/ (repo is ignored), checking that what
// was written has the digest the layer claims. A blob already there is kept.
func (l *LayoutDir) PutBlob(_ context.Context, _ name.Repository, layer v1.Layer) error {
	h, err := layer.Digest()
	if err != nil {
		return err
	}
	if err := checkHash(h); err != nil {
		return err
	}
	p := filepath.Join(l.dir, "blobs", h.Algorithm, h.Hex)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	rc, err := layer.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	return l.writeBlob(h, rc)
}

func (l *LayoutDir) writeBlob(h v1.Hash, r io.Reader) error {
	dir, err := l.layoutSubdir("blobs", h.Algorithm)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+h.Hex[:12]+"-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	hasher := newHasher(h.Algorithm)
	if _, err := io.Copy(io.MultiWriter(tmp, hasher), r); err != nil {
		tmp.Close()
		return fmt.Errorf("writing blob %s to %s: %w", h, l.dir, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if got := hex.EncodeToString(hasher.Sum(nil)); got != h.Hex {
		return fmt.Errorf("writing blob %s to %s: the content hashes to %s:%s", h, l.dir, h.Algorithm, got)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, h.Hex))
}

// PutManifest writes raw into blobs/ and lists it in index.json: under
// ref's tag (which then names only it) or, for a digest, untagged.
func (l *LayoutDir) PutManifest(_ context.Context, ref name.Reference, raw []byte, mt types.MediaType) error {
	h, size, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != h.String() {
		return fmt.Errorf("writing manifest %s to %s: its content has digest %s", d.DigestStr(), l.dir, h)
	}
	if err := l.writeBlob(h, bytes.NewReader(raw)); err != nil {
		return err
	}
	entry := v1.Descriptor{MediaType: mt, Digest: h, Size: size}
	tag := ""
	if t, ok := ref.(name.Tag); ok {
		tag = t.TagStr()
		entry.Annotations = map[string]string{AnnotationRefName: tag}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	im, err := l.Index()
	if err != nil {
		return err
	}
	keep := im.Manifests[:0]
	present := false
	for _, d := range im.Manifests {
		switch {
		case tag != "" && refNameTag(d.Annotations[AnnotationRefName]) == tag && d.Digest != h:
			continue // the tag moves to the new manifest
		case d.Digest == h && (tag == "" || refNameTag(d.Annotations[AnnotationRefName]) == tag):
			present = true
		}
		keep = append(keep, d)
	}
	im.Manifests = keep
	if !present {
		im.Manifests = append(im.Manifests, entry)
	}
	return l.writeIndex(im)
}

// writeIndex replaces index.json atomically.
func (l *LayoutDir) writeIndex(im *v1.IndexManifest) error {
	if im.MediaType == "" {
		im.MediaType = types.OCIImageIndex
	}
	raw, err := json.MarshalIndent(im, "", "   ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(l.dir, ".index.json-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s/index.json: %w", l.dir, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(l.dir, "index.json"))
}

type hasher interface {
	io.Writer
	Sum([]byte) []byte
}

func newHasher(alg string) hasher {
	switch alg {
	case "sha384":
		return sha512.New384()
	case "sha512":
		return sha512.New()
	}
	return sha256.New()
}

func digestOf(alg string, b []byte) string {
	h := newHasher(alg)
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}
