// Package registrytest runs go-containerregistry's in-memory registry for
// tests, with the OCI referrers API on or off, and pushes sample images.
package registrytest

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Registry is a running in-memory registry.
type Registry struct {
	// Host is host:port, e.g. 127.0.0.1:34567.
	Host string
	// Referrers says whether the referrers API is on.
	Referrers bool
}

// New starts a registry on 127.0.0.1 that stops when the test ends.
func New(t testing.TB, referrers bool) *Registry {
	t.Helper()
	return NewWrapped(t, referrers, nil)
}

// NewWrapped is New with wrap (if not nil) around the registry's handler,
// for tests that stall or fail requests.
func NewWrapped(t testing.TB, referrers bool, wrap func(http.Handler) http.Handler) *Registry {
	t.Helper()
	var h http.Handler = registry.New(registry.WithReferrersSupport(referrers), registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &Registry{Host: u.Host, Referrers: referrers}
}

// PushImage pushes a small random image to repo:tag and returns its digest reference.
func (r *Registry) PushImage(t testing.TB, repoTag string) name.Digest {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	return r.Push(t, repoTag, img)
}

// Push pushes img to repoTag (relative to the registry) and returns its digest reference.
func (r *Registry) Push(t testing.TB, repoTag string, img v1.Image) name.Digest {
	t.Helper()
	ref, err := name.ParseReference(r.Host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(h.String())
}

// PushIndex pushes a two-platform index (linux/amd64, linux/arm64) and returns its digest reference.
func (r *Registry) PushIndex(t testing.TB, repoTag string) name.Digest {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	ref, err := name.ParseReference(r.Host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	h, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(h.String())
}

// PushArtifact pushes an OCI 1.1 artifact manifest of artifactType, with one
// layer holding content, as a referrer of subject, the way tools other than
// Signet attach SBOMs and the like.
func PushArtifact(t testing.TB, subject name.Digest, subjectDesc v1.Descriptor, artifactType string, content []byte) name.Digest {
	t.Helper()
	layer := static.NewLayer(content, types.MediaType(artifactType))
	cfg := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	img, err := mutate.Append(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), "application/vnd.oci.empty.v1+json"), mutate.Addendum{Layer: layer})
	if err != nil {
		t.Fatal(err)
	}
	_ = cfg
	img = mutate.Subject(img, v1.Descriptor{MediaType: subjectDesc.MediaType, Digest: subjectDesc.Digest, Size: subjectDesc.Size}).(v1.Image)
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	dst := subject.Context().Digest(h.String())
	if err := remote.Write(dst, img); err != nil {
		t.Fatal(err)
	}
	return dst
}
