package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one file of a files artifact (see PutFiles).
type File struct {
	Name string
	Data []byte
	// MediaType is the file's layer media type ("" uses PutFiles'
	// layerType).
	MediaType string
}

// AnnotationTitle names a layer's file, as OCI artifacts do.
const AnnotationTitle = "org.opencontainers.image.title"

// PutFiles pushes files as one OCI artifact (an image manifest of
// artifactType whose layers are the files, each named by its title
// annotation) and points tag at it. It returns the manifest digest.
func (c *Client) PutFiles(ctx context.Context, tag name.Tag, artifactType, layerType string, files []File) (v1.Hash, error) {
	cfg := static.NewLayer(emptyJSON, EmptyMediaType)
	if err := remote.WriteLayer(tag.Context(), cfg, c.remoteOpts(ctx, nil)...); err != nil {
		return v1.Hash{}, registryErr(fmt.Sprintf("pushing to %s", tag.Context()), err)
	}
	cfgDesc, err := descriptorOf(cfg, EmptyMediaType)
	if err != nil {
		return v1.Hash{}, err
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: artifactType, Config: cfgDesc}
	for _, f := range files {
		mt := types.MediaType(layerType)
		if f.MediaType != "" {
			mt = types.MediaType(f.MediaType)
		}
		l := static.NewLayer(f.Data, mt)
		if err := remote.WriteLayer(tag.Context(), l, c.remoteOpts(ctx, nil)...); err != nil {
			return v1.Hash{}, registryErr(fmt.Sprintf("pushing %s to %s", f.Name, tag.Context()), err)
		}
		d, _ := l.Digest()
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: mt, Size: int64(len(f.Data)), Digest: d,
			Annotations: map[string]string{AnnotationTitle: f.Name}})
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Put(tag, rawManifest{raw, types.OCIManifestSchema1}, c.remoteOpts(ctx, nil)...); err != nil {
		return v1.Hash{}, registryErr(fmt.Sprintf("tagging %s", tag), err)
	}
	h, _, _ := v1.SHA256(bytes.NewReader(raw))
	return h, nil
}

// Files reads a files artifact: the layer descriptors by file name, and a
// function that fetches one (capped, digest-checked). A missing tag is
// ErrNotFound.
func (c *Client) Files(ctx context.Context, ref string) (map[string]v1.Descriptor, func(v1.Descriptor) ([]byte, error), error) {
	raw, _, err := c.Manifest(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, fmt.Errorf("parsing %s: %w", ref, err)
	}
	r, _ := c.ParseReference(ref)
	out := map[string]v1.Descriptor{}
	for _, l := range m.Layers {
		if n := l.Annotations[AnnotationTitle]; n != "" {
			out[n] = l
		}
	}
	repo := r.Context()
	return out, func(d v1.Descriptor) ([]byte, error) { return c.readBlob(ctx, repo, d) }, nil
}
