package registrytest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// LayoutCopy says how CopyToLayout lists what it copies.
type LayoutCopy struct {
	// Tag is the ref.name the image is listed under; none when empty.
	Tag string
	// FallbackTag lists the image's referrers only through a referrers
	// fallback tag (sha256-<hex>) in index.json, as a copy of a registry
	// without the referrers API would; otherwise each referrer manifest is
	// listed in index.json, as crane pull of each one does.
	FallbackTag bool
}

// CopyToLayout copies the image d (an image, or an index with its
// platform manifests), its referrers and cosign's legacy .sig and .att
// tags into the OCI layout in dir (created if missing), byte for byte,
// with go-containerregistry's layout package — an independent writer for
// tests of Signet's layout reader.
func CopyToLayout(t testing.TB, dir string, d name.Digest, o LayoutCopy) {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			t.Fatal(err)
		}
	}
	desc := copyManifest(t, p, d)
	list(t, p, desc, o.Tag)
	idx, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range im.Manifests {
		rd := copyManifest(t, p, d.Context().Digest(r.Digest.String()))
		if !o.FallbackTag {
			list(t, p, rd, "")
		}
	}
	if o.FallbackTag && len(im.Manifests) > 0 {
		raw, err := json.Marshal(im)
		if err != nil {
			t.Fatal(err)
		}
		h, size, _ := v1.SHA256(bytes.NewReader(raw))
		if err := p.WriteBlob(h, io.NopCloser(bytes.NewReader(raw))); err != nil {
			t.Fatal(err)
		}
		list(t, p, v1.Descriptor{MediaType: im.MediaType, Digest: h, Size: size}, strings.Replace(d.DigestStr(), ":", "-", 1))
	}
	for _, suffix := range []string{".sig", ".att"} {
		tag := d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + suffix)
		got, err := remote.Get(tag)
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ld := copyManifest(t, p, d.Context().Digest(got.Digest.String()))
		list(t, p, ld, tag.TagStr())
	}
}

// copyManifest writes the manifest ref names and every blob (and child
// manifest) it refers to, and returns its descriptor.
func copyManifest(t testing.TB, p layout.Path, ref name.Digest) v1.Descriptor {
	t.Helper()
	got, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WriteBlob(got.Digest, io.NopCloser(bytes.NewReader(got.Manifest))); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Config    *v1.Descriptor  `json:"config"`
		Layers    []v1.Descriptor `json:"layers"`
		Manifests []v1.Descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(got.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	blobs := m.Layers
	if m.Config != nil {
		blobs = append(blobs, *m.Config)
	}
	for _, b := range blobs {
		l, err := remote.Layer(ref.Context().Digest(b.Digest.String()))
		if err != nil {
			t.Fatal(err)
		}
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.WriteBlob(b.Digest, rc); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range m.Manifests {
		copyManifest(t, p, ref.Context().Digest(c.Digest.String()))
	}
	return v1.Descriptor{MediaType: got.MediaType, Digest: got.Digest, Size: got.Size}
}

// list adds desc to index.json, under tag when it is not empty.
func list(t testing.TB, p layout.Path, desc v1.Descriptor, tag string) {
	t.Helper()
	if tag != "" {
		desc.Annotations = map[string]string{"org.opencontainers.image.ref.name": tag}
	}
	if err := p.AppendDescriptor(desc); err != nil {
		t.Fatal(err)
	}
}
