package oci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
)

// rawIndex lets remote.Put push a fallback index exactly as written.
type rawIndex []byte

func (r rawIndex) RawManifest() ([]byte, error)        { return r, nil }
func (r rawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

// TestFallbackTagKeepsOthersAndRepairs: entries other tools wrote stay, and an
// entry for our manifest written without its artifactType (the malformed
// fallback content of cosign#4641) is repaired on the next write.
func TestFallbackTagKeepsOthersAndRepairs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registrytest.New(t, false)
	d := reg.PushImage(t, "app:v1")
	c := oci.New()
	target, err := c.Resolve(ctx, d.String())
	if err != nil {
		t.Fatal(err)
	}
	// Another tool's referrer, listed in the fallback tag by ggcr's writer.
	registrytest.PushArtifact(t, d, target.Descriptor, "application/vnd.example.sbom", []byte("sbom"))
	att, err := c.AttachBundle(ctx, target, []byte(`{"not":"checked here"}`), map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if att.Layout != oci.LayoutFallbackTag {
		t.Fatalf("layout %s, want fallback-tag", att.Layout)
	}
	got := readIndex(t, d.Context().Tag(oci.FallbackTag(d).TagStr()).String())
	if len(got.Manifests) != 2 {
		t.Fatalf("fallback index has %d entries, want the foreign one and ours", len(got.Manifests))
	}

	// Strip our entry's artifactType, as a broken writer would, then attach again.
	for i := range got.Manifests {
		if got.Manifests[i].Digest == att.Digest {
			got.Manifests[i].ArtifactType = ""
		}
	}
	raw, _ := json.Marshal(got)
	if err := remote.Put(oci.FallbackTag(d), rawIndex(raw)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachBundle(ctx, target, []byte(`{"not":"checked here"}`), map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	got = readIndex(t, oci.FallbackTag(d).String())
	for _, m := range got.Manifests {
		if m.Digest == att.Digest && m.ArtifactType != oci.BundleMediaType {
			t.Fatalf("entry not repaired: %+v", m)
		}
	}
	arts, err := c.Discover(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	var bundles int
	for _, a := range arts {
		if a.Kind == oci.KindBundle {
			bundles++
		}
	}
	if bundles != 1 {
		t.Fatalf("discovered %d bundles, want 1", bundles)
	}
}

func TestFallbackTagOccupiedByImageIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registrytest.New(t, false)
	d := reg.PushImage(t, "app:v1")
	img, _ := random.Image(10, 1)
	if err := remote.Write(oci.FallbackTag(d), img); err != nil {
		t.Fatal(err)
	}
	c := oci.New()
	target, err := c.Resolve(ctx, d.String())
	if err != nil {
		t.Fatal(err)
	}
	// ggcr's own fallback update refuses a non-index tag; so must we, and
	// the image at that tag must be left alone.
	if _, err := c.AttachBundle(ctx, target, []byte(`{}`), nil); err == nil {
		t.Fatal("attached over an image sitting at the fallback tag")
	}
	h, _ := img.Digest()
	got, err := remote.Head(oci.FallbackTag(d))
	if err != nil || got.Digest != h {
		t.Fatalf("fallback tag changed: %v %v", got, err)
	}
}

func TestOversizedBundleIsNotRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registrytest.New(t, true)
	d := reg.PushImage(t, "app:v1")
	writer := oci.New()
	target, err := writer.Resolve(ctx, d.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.AttachBundle(ctx, target, []byte(strings.Repeat(" ", 4096)+"{}"), nil); err != nil {
		t.Fatal(err)
	}
	reader := oci.New(oci.WithMaxArtifactBytes(1024))
	arts, err := reader.Discover(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 1 || arts[0].Err == nil || !strings.Contains(arts[0].Err.Error(), "over the 1024-byte cap") || arts[0].Content != nil {
		t.Fatalf("artifacts %+v", arts)
	}
}

func TestResolveMissingImage(t *testing.T) {
	t.Parallel()
	reg := registrytest.New(t, true)
	_, err := oci.New().Resolve(context.Background(), reg.Host+"/nope:v1")
	if !errors.Is(err, oci.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
	// Said for people: what was asked and the registry's code, not the
	// request line that repeats the reference.
	want := "resolving " + reg.Host + "/nope:v1: not found in registry (the registry answered 404 "
	if msg := err.Error(); !strings.HasPrefix(msg, want) || strings.Contains(msg, "GET ") || strings.Contains(msg, "http") {
		t.Fatalf("message %q, want it to start %q and name no request", msg, want)
	}
	// Without a tag, the one asked for is named.
	_, err = oci.New().Resolve(context.Background(), reg.Host+"/nope")
	if want := "resolving " + reg.Host + "/nope (no tag given: latest): not found in registry"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("no tag: %v, want it to start %q", err, want)
	}
}

func readIndex(t *testing.T, ref string) *v1.IndexManifest {
	t.Helper()
	r, err := oci.New().ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatal(err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(desc.Manifest, &im); err != nil {
		t.Fatal(err)
	}
	return &im
}

// TestLyingBlobIsNotReadPastItsDescriptor: a registry that answers a small
// bundle's digest with a 2 GB stream is cut off one byte past the
// descriptor's size; the stream is never read to its end.
func TestLyingBlobIsNotReadPastItsDescriptor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var evil atomic.Value // the digest to lie about
	var served atomic.Int64
	reg := registrytest.NewWrapped(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d, _ := evil.Load().(string)
			if d == "" || !strings.HasSuffix(r.URL.Path, "/blobs/"+d) || r.Method != http.MethodGet {
				h.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(2<<30))
			chunk := make([]byte, 32<<10)
			for served.Load() < 2<<30 {
				n, err := w.Write(chunk)
				served.Add(int64(n))
				if err != nil {
					return
				}
			}
		})
	})
	d := reg.PushImage(t, "app:v1")
	c := oci.New(oci.WithEmbeddedBundles(0)) // the bundle only in its blob, as cosign writes it
	target, _ := c.Resolve(ctx, d.String())
	bundle := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`)
	if _, err := c.AttachBundle(ctx, target, bundle, nil); err != nil {
		t.Fatal(err)
	}
	h, _, _ := v1.SHA256(bytes.NewReader(bundle))
	evil.Store(h.String())
	start := time.Now()
	arts, err := oci.New().Discover(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 1 || arts[0].Err == nil || arts[0].Content != nil {
		t.Fatalf("artifacts %+v", arts)
	}
	if n := served.Load(); n > 256<<20 {
		t.Fatalf("the client read on: %d bytes served", n)
	}
	t.Logf("refused in %s after %d bytes were sent: %v", time.Since(start).Round(time.Millisecond), served.Load(), arts[0].Err)
}

// TestConcurrentReadsCoalesce: many identical manifest reads at once reach
// the registry as far fewer requests.
func TestConcurrentReadsCoalesce(t *testing.T) {
	t.Parallel()
	var gets atomic.Int64
	var holding atomic.Bool
	gate := make(chan struct{})
	reg := registrytest.NewWrapped(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if holding.Load() && r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/v1") {
				gets.Add(1)
				<-gate // hold the first ones so the rest pile up
			}
			h.ServeHTTP(w, r)
		})
	})
	reg.PushImage(t, "app:v1")
	c := oci.New()
	c.Resolve(context.Background(), reg.Host+"/app:v1") // authenticate once
	holding.Store(true)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Resolve(context.Background(), reg.Host+"/app:v1"); err != nil {
				t.Error(err)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	close(gate)
	wg.Wait()
	if n := gets.Load(); n > 3 {
		t.Fatalf("20 identical reads made %d requests", n)
	}
}
