package registrytest

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PushPlatforms pushes an OCI index with a small random image per platform
// to repoTag and returns its digest reference and each platform manifest's,
// by platform (os/arch[/variant]).
func (r *Registry) PushPlatforms(t testing.TB, repoTag string, platforms ...v1.Platform) (name.Digest, map[string]name.Digest) {
	t.Helper()
	ref, err := name.ParseReference(r.Host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	byPlatform := map[string]name.Digest{}
	for _, p := range platforms {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
		h, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		byPlatform[p.String()] = ref.Context().Digest(h.String())
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	h, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(h.String()), byPlatform
}
