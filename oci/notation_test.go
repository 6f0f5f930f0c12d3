package oci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
)

// rawManifest lets remote.Put push a manifest exactly as written.
type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error)        { return r, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

func TestAttachNotation(t *testing.T) {
	t.Parallel()
	for _, referrers := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers API", false: "fallback tag"}[referrers], func(t *testing.T) {
			ctx := context.Background()
			reg := registrytest.New(t, referrers)
			d := reg.PushImage(t, "app:v1")
			c := oci.New()
			target, err := c.Resolve(ctx, d.String())
			if err != nil {
				t.Fatal(err)
			}
			env := []byte(`{"payload":"not checked here"}`)
			att, err := c.AttachNotation(ctx, target, env, "application/jose+json", map[string]string{"io.cncf.notary.x509chain.thumbprint#S256": `["ab"]`})
			if err != nil {
				t.Fatal(err)
			}
			want := map[bool]oci.Layout{true: oci.LayoutReferrersAPI, false: oci.LayoutFallbackTag}[referrers]
			if att.Layout != want {
				t.Fatalf("layout %s, want %s", att.Layout, want)
			}
			m := readManifest(t, d.Context().Digest(att.Digest.String()))
			if m.ArtifactType != oci.NotationArtifactType || m.Config.MediaType != oci.EmptyMediaType || len(m.Layers) != 1 || m.Subject == nil || m.Subject.Digest != target.Descriptor.Digest {
				t.Fatalf("manifest %+v", m)
			}
			arts, err := c.Discover(ctx, target)
			if err != nil {
				t.Fatal(err)
			}
			if len(arts) != 1 {
				t.Fatalf("%d artifacts", len(arts))
			}
			a := arts[0]
			if a.Err != nil || a.Kind != oci.KindNotation || a.MediaType != "application/jose+json" || !bytes.Equal(a.Content, env) || a.Layout != want ||
				a.Annotations["io.cncf.notary.x509chain.thumbprint#S256"] != `["ab"]` || a.Annotations[oci.AnnotationCreated] == "" {
				t.Fatalf("artifact %+v", a)
			}
		})
	}
}

func TestAttachNotationRefusesMediaType(t *testing.T) {
	t.Parallel()
	reg := registrytest.New(t, true)
	d := reg.PushImage(t, "app:v1")
	c := oci.New()
	target, err := c.Resolve(context.Background(), d.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachNotation(context.Background(), target, []byte("x"), "application/json", nil); err == nil || !strings.Contains(err.Error(), `"application/json" is neither`) {
		t.Fatalf("got %v", err)
	}
}

func TestMalformedNotation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		layers map[string]types.MediaType
		want   string
	}{
		{"two layers", map[string]types.MediaType{"a": "application/jose+json", "b": "application/cose"}, "claims a Notation signature but has 2 layers, not one envelope layer"},
		{"no layers", nil, "has 0 layers"},
		{"wrong layer type", map[string]types.MediaType{"a": "application/json"}, `its layer is of type "application/json", not application/jose+json or application/cose`},
	}
	for _, referrers := range []bool{true, false} {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := context.Background()
				reg := registrytest.New(t, referrers)
				d := reg.PushImage(t, "app:v1")
				c := oci.New()
				target, err := c.Resolve(ctx, d.String())
				if err != nil {
					t.Fatal(err)
				}
				pushNotation(t, d, target.Descriptor, tt.layers, referrers)
				arts, err := c.Discover(ctx, target)
				if err != nil {
					t.Fatal(err)
				}
				if len(arts) != 1 || arts[0].Kind != oci.KindNotation || arts[0].Err == nil || !strings.Contains(arts[0].Err.Error(), tt.want) || arts[0].Content != nil {
					t.Fatalf("got %+v, want error %q", arts, tt.want)
				}
			})
		}
	}
}

// pushNotation writes a Notation-typed referrer with the given layers, and
// lists it in the fallback tag when the registry has no referrers API.
func pushNotation(t *testing.T, subject name.Digest, subjectDesc v1.Descriptor, layers map[string]types.MediaType, referrers bool) {
	t.Helper()
	repo := subject.Context()
	cfg := static.NewLayer([]byte("{}"), oci.EmptyMediaType)
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: oci.NotationArtifactType,
		Subject: &v1.Descriptor{MediaType: subjectDesc.MediaType, Digest: subjectDesc.Digest, Size: subjectDesc.Size}}
	all := []v1.Layer{cfg}
	for content, mt := range layers {
		all = append(all, static.NewLayer([]byte(content), mt))
	}
	for i, l := range all {
		if err := remote.WriteLayer(repo, l); err != nil {
			t.Fatal(err)
		}
		dg, _ := l.Digest()
		sz, _ := l.Size()
		mt, _ := l.MediaType()
		if i == 0 {
			m.Config = v1.Descriptor{MediaType: mt, Digest: dg, Size: sz}
		} else {
			m.Layers = append(m.Layers, v1.Descriptor{MediaType: mt, Digest: dg, Size: sz})
		}
	}
	raw, _ := json.Marshal(m)
	h, size, _ := v1.SHA256(bytes.NewReader(raw))
	if err := remote.Put(repo.Digest(h.String()), rawManifest(raw)); err != nil {
		t.Fatal(err)
	}
	if referrers {
		return
	}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{{
		MediaType: types.OCIManifestSchema1, Digest: h, Size: size, ArtifactType: oci.NotationArtifactType}}}
	raw, _ = json.Marshal(idx)
	if err := remote.Put(oci.FallbackTag(subject), rawIndex(raw)); err != nil {
		t.Fatal(err)
	}
}

func readManifest(t *testing.T, ref name.Reference) *v1.Manifest {
	t.Helper()
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
