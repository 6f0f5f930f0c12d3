package mirror_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/mirror"
	"github.com/signet-dev/signet/oci"
)

// fixture is an image with a bundle signature, three attestations, a
// legacy .sig and .att, an SBOM referrer and signed tag heads.
type fixture struct {
	image     name.Digest
	bundles   []v1.Hash // the signature first
	sbom      name.Digest
	legacySig v1.Hash
	legacyAtt v1.Hash
	heads     v1.Hash
}

func signedImage(t *testing.T, ctx context.Context, c *oci.Client, reg *registrytest.Registry, repo string) fixture {
	t.Helper()
	f := fixture{image: reg.PushImage(t, repo+":v1")}
	target, err := c.Resolve(ctx, f.image.String())
	if err != nil {
		t.Fatal(err)
	}
	preds := []string{oci.CosignSignPredicateType, "https://slsa.dev/provenance/v1", "https://cyclonedx.org/bom", "https://in-toto.io/attestation/vulns/v0.2"}
	for i, pt := range preds {
		ann := map[string]string{oci.AnnotationBundleContent: "dsse-envelope", oci.AnnotationPredicateType: pt}
		att, err := c.AttachBundle(ctx, target, []byte(fmt.Sprintf(`{"bundle":%d}`, i)), ann)
		if err != nil {
			t.Fatal(err)
		}
		f.bundles = append(f.bundles, att.Digest)
	}
	f.sbom = registrytest.PushArtifact(t, f.image, target.Descriptor, "application/spdx+json", []byte(`{"spdxVersion":"SPDX-2.3"}`))
	att, err := c.AttachLegacySignature(ctx, target, []byte(`{"critical":{}}`), "c2lnbmF0dXJl")
	if err != nil {
		t.Fatal(err)
	}
	f.legacySig = att.Digest
	f.legacyAtt = pushRandom(t, f.image.Context().Tag(oci.FallbackTag(f.image).TagStr()+".att"))
	f.heads = pushRandom(t, f.image.Context().Tag("signet-tuf"))
	return f
}

func pushRandom(t *testing.T, tag name.Tag) v1.Hash {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func copyRefs(t *testing.T, ctx context.Context, c *oci.Client, src, dst string, only []mirror.Kind) *mirror.Result {
	t.Helper()
	req, err := mirror.Endpoints(c, src, dst, 0)
	if err != nil {
		t.Fatal(err)
	}
	req.Only = only
	res, err := mirror.Copy(ctx, req)
	if err != nil {
		t.Fatalf("copy %s -> %s: %v", src, dst, err)
	}
	return res
}

func kinds(res *mirror.Result, copied bool) map[mirror.Kind]int {
	out := map[mirror.Kind]int{}
	for _, it := range res.Items {
		if it.Copied == copied {
			out[it.Kind]++
		}
	}
	return out
}

// TestRoundTrip copies registry -> layout -> another registry, with and
// without the referrers API at the far end, and checks that every digest
// arrived, that everything attached is listed where verifiers look, and
// that a second run copies nothing.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := oci.New(oci.WithLayoutDirs(true))
	src := registrytest.New(t, true)
	f := signedImage(t, ctx, c, src, "team/app")
	want := map[mirror.Kind]int{mirror.KindImage: 1, mirror.KindSignature: 2, mirror.KindAttestation: 4, mirror.KindSBOM: 1, mirror.KindTagHeads: 1}
	for _, referrers := range []bool{true, false} {
		t.Run(fmt.Sprintf("referrers API %v", referrers), func(t *testing.T) {
			lay := "oci-layout:" + filepath.Join(t.TempDir(), "app")
			dst := registrytest.New(t, referrers)
			res := copyRefs(t, ctx, c, src.Host+"/team/app:v1", lay, nil)
			if got := kinds(res, true); !mapsEqual(got, want) || res.Skipped != 0 {
				t.Fatalf("into the layout: copied %v, skipped %d; want %v, 0", got, res.Skipped, want)
			}
			if res.Digest != f.image.DigestStr() {
				t.Fatalf("digest %s, want %s", res.Digest, f.image.DigestStr())
			}
			res = copyRefs(t, ctx, c, lay+":v1", dst.Host+"/mirror/app", nil)
			if got := kinds(res, true); !mapsEqual(got, want) {
				t.Fatalf("out of the layout: copied %v, want %v", got, want)
			}
			far := mustRef(t, dst.Host+"/mirror/app:v1")
			checkArrived(t, ctx, c, far, f, !referrers)

			// Again: nothing left to copy, on either hop.
			for _, hop := range [][2]string{{src.Host + "/team/app:v1", lay}, {lay + ":v1", dst.Host + "/mirror/app"}} {
				res := copyRefs(t, ctx, c, hop[0], hop[1], nil)
				if res.Copied != 0 || res.Skipped != 9 {
					t.Fatalf("re-run %s -> %s: copied %d, skipped %d; want 0, 9 (%v)", hop[0], hop[1], res.Copied, res.Skipped, kinds(res, true))
				}
			}
		})
	}
}

func mapsEqual(a, b map[mirror.Kind]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// checkArrived checks that the image at far has f's digests: the image,
// each referrer listed as one, the legacy tags and the tag heads.
// In the fallback tag (fallback) each bundle must be listed with its
// artifactType (go-containerregistry's registry lists the config's media
// type through its referrers API).
func checkArrived(t *testing.T, ctx context.Context, c *oci.Client, far name.Reference, f fixture, fallback bool) {
	t.Helper()
	m, err := c.Get(ctx, far)
	if err != nil {
		t.Fatal(err)
	}
	if m.Descriptor.Digest.String() != f.image.DigestStr() {
		t.Fatalf("image %s at the far end, want %s", m.Descriptor.Digest, f.image.DigestStr())
	}
	farImage := far.Context().Digest(f.image.DigestStr())
	refs, _, err := c.Referrers(ctx, farImage)
	if err != nil {
		t.Fatal(err)
	}
	var listed []v1.Hash
	for _, d := range refs.Manifests {
		listed = append(listed, d.Digest)
		if fallback && d.Digest != hashOf(t, f.sbom) && d.ArtifactType != oci.BundleMediaType {
			t.Errorf("referrer %s listed with artifactType %q, want the bundle type", d.Digest, d.ArtifactType)
		}
	}
	for _, b := range append(slices.Clone(f.bundles), hashOf(t, f.sbom)) {
		if !slices.Contains(listed, b) {
			t.Errorf("referrer %s is not listed at the far end (listed: %v)", b, listed)
		}
	}
	for tag, want := range map[string]v1.Hash{
		oci.LegacySignatureTag(farImage).TagStr():   f.legacySig,
		oci.FallbackTag(farImage).TagStr() + ".att": f.legacyAtt,
		"signet-tuf": f.heads,
	} {
		m, err := c.Get(ctx, far.Context().Tag(tag))
		if err != nil {
			t.Fatalf("tag %s at the far end: %v", tag, err)
		}
		if m.Descriptor.Digest != want {
			t.Errorf("tag %s is %s at the far end, want %s", tag, m.Descriptor.Digest, want)
		}
	}
}

func hashOf(t *testing.T, d name.Digest) v1.Hash {
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestOnly copies subsets: signatures only, then the rest, which must then
// skip the signatures.
func TestOnly(t *testing.T) {
	ctx := context.Background()
	c := oci.New(oci.WithLayoutDirs(true))
	src := registrytest.New(t, true)
	f := signedImage(t, ctx, c, src, "team/app")
	dst := registrytest.New(t, false)
	res := copyRefs(t, ctx, c, f.image.String(), dst.Host+"/mirror/app", []mirror.Kind{mirror.KindSignature})
	if got, want := kinds(res, true), map[mirror.Kind]int{mirror.KindSignature: 2}; !mapsEqual(got, want) {
		t.Fatalf("--only signatures copied %v, want %v", got, want)
	}
	farImage := mustRef(t, dst.Host+"/mirror/app@"+f.image.DigestStr())
	if _, err := c.Get(ctx, farImage); !errors.Is(err, oci.ErrNotFound) {
		t.Fatalf("--only signatures copied the image too: %v", err)
	}
	refs, _, err := c.Referrers(ctx, farImage.(name.Digest))
	if err != nil {
		t.Fatal(err)
	}
	if len(refs.Manifests) != 1 || refs.Manifests[0].Digest != f.bundles[0] {
		t.Fatalf("referrers at the far end: %v, want only the signature bundle %s", refs.Manifests, f.bundles[0])
	}
	if _, err := c.Get(ctx, mustRef(t, dst.Host+"/mirror/app:"+oci.FallbackTag(f.image).TagStr()+".att")); !errors.Is(err, oci.ErrNotFound) {
		t.Fatalf("--only signatures copied the legacy .att tag: %v", err)
	}
	res = copyRefs(t, ctx, c, f.image.String(), dst.Host+"/mirror/app", nil)
	if got, want := kinds(res, false), map[mirror.Kind]int{mirror.KindSignature: 2}; !mapsEqual(got, want) {
		t.Fatalf("the full copy after it skipped %v, want %v", got, want)
	}
	if res.Copied != 7 {
		t.Fatalf("the full copy after it copied %d, want 7", res.Copied)
	}
}

func TestParseOnly(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []mirror.Kind
		err  bool
	}{
		{"signatures", []mirror.Kind{mirror.KindSignature}, false},
		{"signatures,attestations", []mirror.Kind{mirror.KindSignature, mirror.KindAttestation}, false},
		{"image, tag-heads", []mirror.Kind{mirror.KindImage, mirror.KindTagHeads}, false},
		{"all", mirror.Kinds, false},
		{"signatures,layers", nil, true},
		{"", nil, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := mirror.ParseOnly(tc.in)
			if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
				t.Fatalf("ParseOnly(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

// TestRefusals: what the copy refuses, and why.
func TestRefusals(t *testing.T) {
	ctx := context.Background()
	c := oci.New(oci.WithLayoutDirs(true))
	src := registrytest.New(t, true)
	f := signedImage(t, ctx, c, src, "team/app")

	t.Run("a legacy tag the destination holds with other signatures", func(t *testing.T) {
		dst := registrytest.New(t, true)
		other := pushRandom(t, mustRef(t, dst.Host+"/mirror/app:"+oci.LegacySignatureTag(f.image).TagStr()).(name.Tag))
		req, err := mirror.Endpoints(c, f.image.String(), dst.Host+"/mirror/app", 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = mirror.Copy(ctx, req)
		if !errors.Is(err, mirror.ErrConflict) {
			t.Fatalf("err = %v, want ErrConflict", err)
		}
		m, err := c.Get(ctx, mustRef(t, dst.Host+"/mirror/app:"+oci.LegacySignatureTag(f.image).TagStr()))
		if err != nil || m.Descriptor.Digest != other {
			t.Fatalf("the destination's .sig was overwritten: %v %v", m, err)
		}
	})
	t.Run("a destination digest that is not the source's", func(t *testing.T) {
		dst := registrytest.New(t, true)
		req, err := mirror.Endpoints(c, f.image.String(), dst.Host+"/mirror/app@"+f.bundles[0].String(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mirror.Copy(ctx, req); err == nil {
			t.Fatal("copied to a digest that is not the image's")
		}
	})
	t.Run("a layout blob changed after it was written", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "app")
		copyRefs(t, ctx, c, f.image.String(), "oci-layout:"+dir+":v1", nil)
		m, err := remote.Image(f.image)
		if err != nil {
			t.Fatal(err)
		}
		ls, _ := m.Layers()
		h, _ := ls[0].Digest()
		p := filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[0] ^= 1
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		dst := registrytest.New(t, true)
		req, err := mirror.Endpoints(c, "oci-layout:"+dir+":v1", dst.Host+"/mirror/app", 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mirror.Copy(ctx, req); err == nil {
			t.Fatal("copied a corrupt layer")
		}
		if _, err := c.Get(ctx, mustRef(t, dst.Host+"/mirror/app:v1")); !errors.Is(err, oci.ErrNotFound) {
			t.Fatalf("the image was pushed with a corrupt layer: %v", err)
		}
	})
}

// TestIndex copies an index whose platform manifest is signed: the platform
// manifests and their signatures arrive, and the layout lists only the index.
func TestIndex(t *testing.T) {
	ctx := context.Background()
	c := oci.New(oci.WithLayoutDirs(true))
	src := registrytest.New(t, true)
	idx := src.PushIndex(t, "team/multi:v1")
	children, err := c.Children(ctx, mustResolve(t, ctx, c, idx.String()))
	if err != nil {
		t.Fatal(err)
	}
	child := mustResolve(t, ctx, c, idx.Context().Digest(children[0].Digest.String()).String())
	att, err := c.AttachBundle(ctx, child, []byte(`{"child":1}`), map[string]string{oci.AnnotationPredicateType: oci.CosignSignPredicateType})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "multi")
	res := copyRefs(t, ctx, c, src.Host+"/team/multi:v1", "oci-layout:"+dir, nil)
	if got, want := kinds(res, true), map[mirror.Kind]int{mirror.KindImage: 1, mirror.KindSignature: 1}; !mapsEqual(got, want) {
		t.Fatalf("copied %v, want %v", got, want)
	}
	l, err := oci.OpenLayout(dir, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	im, err := l.Index()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 {
		t.Fatalf("index.json lists %d manifests, want 2 (the index and the signature)", len(im.Manifests))
	}
	dst := registrytest.New(t, true)
	copyRefs(t, ctx, c, "oci-layout:"+dir+":v1", dst.Host+"/mirror/multi", nil)
	farChild := mustRef(t, dst.Host+"/mirror/multi@"+children[0].Digest.String()).(name.Digest)
	refs, _, err := c.Referrers(ctx, farChild)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs.Manifests) != 1 || refs.Manifests[0].Digest != att.Digest {
		t.Fatalf("the platform manifest's referrers at the far end: %v, want %s", refs.Manifests, att.Digest)
	}
}

func mustResolve(t *testing.T, ctx context.Context, c *oci.Client, ref string) *oci.Target {
	t.Helper()
	tg, err := c.Resolve(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestFallbackTagRepaired: on a registry without the referrers API, a
// fallback-tag update that is lost (another writer replaced the index
// between go-containerregistry's read and write) is noticed and repaired:
// every copied referrer ends up listed, with its artifactType.
func TestFallbackTagRepaired(t *testing.T) {
	ctx := context.Background()
	c := oci.New(oci.WithLayoutDirs(true))
	src := registrytest.New(t, true)
	f := signedImage(t, ctx, c, src, "team/app")
	var mu sync.Mutex
	dropped := 0
	dst := registrytest.NewWrapped(t, false, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			drop := r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256-") && !strings.Contains(r.URL.Path, ".") && dropped%2 == 0
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256-") && !strings.Contains(r.URL.Path, ".") {
				dropped++
			}
			mu.Unlock()
			if drop {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusCreated) // accepted, and lost
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	copyRefs(t, ctx, c, src.Host+"/team/app:v1", dst.Host+"/mirror/app", nil)
	mu.Lock()
	n := dropped
	mu.Unlock()
	if n == 0 {
		t.Fatal("no fallback-tag update was made: the test did not test the repair")
	}
	checkArrived(t, ctx, c, mustRef(t, dst.Host+"/mirror/app:v1"), f, true)
}
