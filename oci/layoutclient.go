package oci

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// OpenLayout opens the layout ref (oci-layout:DIR[...]) names, with the
// client's layout repository and artifact cap.
// One LayoutDir serves each directory, so the client's writes to it are
// serialised.
func (c *Client) OpenLayout(ref LayoutReference) (*LayoutDir, error) {
	if !c.layouts {
		return nil, errLayoutsOff(ref.String())
	}
	key := filepath.Clean(ref.Dir)
	if l, ok := c.layoutDirs.Load(key); ok {
		return l.(*LayoutDir), nil
	}
	l, err := OpenLayout(ref.Dir, c.layoutRepo, c.maxBytes)
	if err != nil {
		return nil, err
	}
	got, _ := c.layoutDirs.LoadOrStore(key, l)
	return got.(*LayoutDir), nil
}

func errLayoutsOff(ref string) *ReferenceError {
	return &ReferenceError{Ref: ref, err: errBadLayoutRef,
		Reason: "images in OCI layout directories (oci-layout:DIR) are not read here; name a registry image, REGISTRY/REPOSITORY:TAG or @sha256:DIGEST"}
}

// parseLayoutReference names a layout image in the layout's repository. A
// bare DIR is read: it names the layout's one image.
func (c *Client) parseLayoutReference(ref string) (name.Reference, error) {
	if !c.layouts {
		return nil, errLayoutsOff(ref)
	}
	lr, err := ParseLayoutReference(ref)
	if err != nil {
		return nil, err
	}
	repo, err := layoutRepository(lr.Dir, c.layoutRepo)
	if err != nil {
		return nil, fmt.Errorf("the layout repository %s: %w", c.layoutRepo, err)
	}
	switch {
	case lr.Digest != "":
		return repo.Digest(lr.Digest), nil
	case lr.Tag != "":
		return repo.Tag(lr.Tag), nil
	}
	l, err := c.OpenLayout(lr)
	if err != nil {
		return nil, err
	}
	desc, err := l.only()
	if err != nil {
		return nil, err
	}
	return repo.Digest(desc.Digest.String()), nil
}

// resolveLayout reads the manifest a layout reference names.
func (c *Client) resolveLayout(ctx context.Context, ref string) (*Target, error) {
	lr, err := ParseLayoutReference(ref)
	if err != nil {
		return nil, err
	}
	l, err := c.OpenLayout(lr)
	if err != nil {
		return nil, err
	}
	r, err := c.parseLayoutReference(ref)
	if err != nil {
		return nil, err
	}
	t, err := resolveIn(ctx, l, r)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", ref, err)
	}
	return t, nil
}

// resolveIn reads the manifest r names from s.
func resolveIn(ctx context.Context, s Store, r name.Reference) (*Target, error) {
	m, err := s.Get(ctx, r)
	if err != nil {
		return nil, err
	}
	t := &Target{Ref: r, Descriptor: m.Descriptor, Digest: r.Context().Digest(m.Descriptor.Digest.String()), store: s}
	switch r := r.(type) {
	case name.Tag:
		t.Tag = r.TagStr()
	case name.Digest:
		if r.DigestStr() != m.Descriptor.Digest.String() {
			return nil, fmt.Errorf("%w: %s came back as %s", ErrCorrupt, r.DigestStr(), m.Descriptor.Digest)
		}
	}
	return t, nil
}

// only is the one image a layout holds: its single index.json entry, or its
// single entry that is neither listed under an attached tag nor a referrer
// (a manifest with a subject).
func (l *LayoutDir) only() (v1.Descriptor, error) {
	im, err := l.Index()
	if err != nil {
		return v1.Descriptor{}, err
	}
	var images []v1.Descriptor
	for _, d := range im.Manifests {
		if AttachedTag(refNameTag(d.Annotations[AnnotationRefName])) {
			continue
		}
		if m, err := l.manifest(d); err == nil && hasSubject(m.Raw) {
			continue
		}
		images = append(images, d)
	}
	if len(images) == 1 {
		return images[0], nil
	}
	var digests []string
	for _, d := range images[:min(len(images), maxTagsShown)] {
		digests = append(digests, d.Digest.String())
	}
	return v1.Descriptor{}, &ReferenceError{Ref: LayoutScheme + l.dir, err: errBadLayoutRef,
		Reason: fmt.Sprintf("the layout %s holds %d images, not one; name one as %s:TAG or %s@DIGEST (%s; digests: %s)",
			l.dir, len(images), LayoutScheme+l.dir, LayoutScheme+l.dir, l.tagsHint(im), strings.Join(digests, ", "))}
}

func hasSubject(raw []byte) bool {
	var m struct {
		Subject *v1.Descriptor `json:"subject"`
	}
	return json.Unmarshal(raw, &m) == nil && m.Subject != nil
}

// storeChildren lists the manifests of an index in t's store.
func storeChildren(ctx context.Context, t *Target) ([]v1.Descriptor, error) {
	m, err := t.store.Get(ctx, t.Digest)
	if err != nil {
		return nil, fmt.Errorf("reading index %s: %w", t.Digest.DigestStr(), err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(m.Raw, &im); err != nil {
		return nil, fmt.Errorf("parsing index %s: %w", t.Digest.DigestStr(), err)
	}
	return im.Manifests, nil
}
