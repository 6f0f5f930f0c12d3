package oci_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
)

func TestParseLayoutReference(t *testing.T) {
	t.Parallel()
	dg := "sha256:" + strings.Repeat("ab", 32)
	cases := []struct {
		ref  string
		want oci.LayoutReference
		why  string // part of the reason, when refused
	}{
		{ref: "oci-layout:./app", want: oci.LayoutReference{Dir: "./app"}},
		{ref: "oci-layout:/srv/app:v1", want: oci.LayoutReference{Dir: "/srv/app", Tag: "v1"}},
		{ref: "oci-layout:app@" + dg, want: oci.LayoutReference{Dir: "app", Digest: dg}},
		{ref: "oci-layout:/mnt/a:b/app", want: oci.LayoutReference{Dir: "/mnt/a:b/app"}},
		{ref: "oci-layout:/mnt/a:b/app:1.0", want: oci.LayoutReference{Dir: "/mnt/a:b/app", Tag: "1.0"}},
		{ref: "./app", why: "does not start with oci-layout:"},
		{ref: "oci-layout:", why: "names no directory"},
		{ref: "oci-layout::v1", why: "names no directory"},
		{ref: "oci-layout:app:", why: "tag after ':' is empty"},
		{ref: "oci-layout:app:v1!", why: "has the character '!'"},
		{ref: "oci-layout:app@sha256:abc", why: "has 3 hex digits"},
		{ref: "oci-layout:app@" + strings.ToUpper(dg[7:]), why: "names no algorithm"},
		{ref: "oci-layout:a pp:v1", why: "' ' at position 2"},
	}
	for _, tc := range cases {
		t.Run(tc.ref, func(t *testing.T) {
			got, err := oci.ParseLayoutReference(tc.ref)
			if tc.why != "" {
				if !errors.Is(err, oci.ErrInvalidReference) || !strings.Contains(err.Error(), tc.why) {
					t.Fatalf("got %+v, %v; want %v saying %q", got, err, oci.ErrInvalidReference, tc.why)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
			if again, err := oci.ParseLayoutReference(got.String()); err != nil || again != got {
				t.Fatalf("String() %q parses to %+v, %v", got.String(), again, err)
			}
		})
	}
}

func FuzzParseLayoutReference(f *testing.F) {
	for _, s := range []string{"oci-layout:./app", "oci-layout:/srv/app:v1", "oci-layout:a@sha256:" + strings.Repeat("0", 64), "oci-layout:a:b/c:d", "oci-layout:@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		got, err := oci.ParseLayoutReference(ref)
		if err != nil {
			if !errors.Is(err, oci.ErrInvalidReference) {
				t.Fatalf("%q: error %v is not %v", ref, err, oci.ErrInvalidReference)
			}
			return
		}
		if got.Dir == "" || (got.Tag != "" && got.Digest != "") {
			t.Fatalf("%q parsed to %+v", ref, got)
		}
		if again, err := oci.ParseLayoutReference(got.String()); err != nil || again != got {
			t.Fatalf("%q: String() %q parses to %+v, %v", ref, got.String(), again, err)
		}
	})
}

func FuzzParseLayoutIndex(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","size":7,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}`))
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"digest":"sha256:../../etc","size":-1}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		im, err := oci.ParseLayoutIndex(raw)
		if err != nil {
			if !errors.Is(err, oci.ErrNotLayout) {
				t.Fatalf("error %v is not %v", err, oci.ErrNotLayout)
			}
			return
		}
		for _, d := range im.Manifests {
			// Every digest accepted is a safe blob path.
			if d.Size < 0 || strings.ContainsAny(d.Digest.Hex, "./\\") || d.Digest.Algorithm == "" {
				t.Fatalf("accepted %+v", d)
			}
		}
	})
}

// newLayout writes a layout with go-containerregistry: two images, tagged
// v1 (plainly) and v2 (as crane pull --annotate-ref writes it).
func newLayout(t *testing.T) (string, v1.Hash, v1.Hash) {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	var hs []v1.Hash
	for _, tag := range []string{"v1", "registry.example.com/team/app:v2"} {
		img, _ := random.Image(64, 1)
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{oci.AnnotationRefName: tag})); err != nil {
			t.Fatal(err)
		}
		h, _ := img.Digest()
		hs = append(hs, h)
	}
	return dir, hs[0], hs[1]
}

func TestLayoutResolve(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, v1h, v2h := newLayout(t)
	c := oci.New(oci.WithLayoutDirs(true))
	cases := []struct {
		ref     string
		want    v1.Hash
		wantErr error
		why     string
	}{
		{ref: "oci-layout:" + dir + ":v1", want: v1h},
		{ref: "oci-layout:" + dir + ":v2", want: v2h},
		{ref: "oci-layout:" + dir + "@" + v2h.String(), want: v2h},
		{ref: "oci-layout:" + dir + ":v3", wantErr: oci.ErrNotFound, why: "its tags: v1, v2"},
		{ref: "oci-layout:" + dir, wantErr: oci.ErrInvalidReference, why: "holds 2 images, not one"},
		{ref: "oci-layout:" + dir + "@sha256:" + strings.Repeat("0", 64), wantErr: oci.ErrNotFound, why: "has no blob"},
		{ref: "oci-layout:" + filepath.Join(dir, "blobs"), wantErr: oci.ErrNotLayout, why: "no oci-layout file"},
		{ref: "oci-layout:" + filepath.Join(dir, "index.json"), wantErr: oci.ErrNotLayout, why: "is a file, not a directory"},
		{ref: "oci-layout:" + filepath.Join(dir, "nope"), wantErr: oci.ErrNotLayout, why: "does not exist"},
	}
	for _, tc := range cases {
		t.Run(strings.TrimPrefix(tc.ref, "oci-layout:"+dir), func(t *testing.T) {
			got, err := c.Resolve(ctx, tc.ref)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.why) {
					t.Fatalf("got %v, want %v saying %q", err, tc.wantErr, tc.why)
				}
				return
			}
			if err != nil || got.Descriptor.Digest != tc.want || got.Layout() == nil {
				t.Fatalf("got %v, %v; want %s in the layout", got, err, tc.want)
			}
			if reg := got.Digest.Context().RegistryStr(); reg != oci.LayoutRegistry {
				t.Fatalf("named in registry %s, want the pseudo-registry %s", reg, oci.LayoutRegistry)
			}
		})
	}
	t.Run("a client not allowed layouts reads no directory", func(t *testing.T) {
		def := oci.New()
		for _, call := range []func() error{
			func() error { _, err := def.Resolve(ctx, "oci-layout:"+dir+":v1"); return err },
			func() error { _, err := def.Target(ctx, "oci-layout:"+dir+"@"+v1h.String()); return err },
			func() error { _, err := def.ParseReference("oci-layout:" + dir); return err },
		} {
			if err := call(); !errors.Is(err, oci.ErrInvalidReference) || !strings.Contains(err.Error(), "not read here") {
				t.Fatalf("got %v, want %v saying layouts are not read here", err, oci.ErrInvalidReference)
			}
		}
	})
	t.Run("missing index.json", func(t *testing.T) {
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
		_, err := c.Resolve(ctx, "oci-layout:"+d+":v1")
		if !errors.Is(err, oci.ErrNotLayout) || !strings.Contains(err.Error(), "no index.json") {
			t.Fatalf("got %v, want %v saying index.json is missing", err, oci.ErrNotLayout)
		}
	})
	t.Run("named repository", func(t *testing.T) {
		got, err := oci.New(oci.WithLayoutDirs(true), oci.WithLayoutRepository("registry.example.com/team/app")).Resolve(ctx, "oci-layout:"+dir+":v1")
		if err != nil || got.Name() != "registry.example.com/team/app:v1" {
			t.Fatalf("got %v, %v; want registry.example.com/team/app:v1", got, err)
		}
	})
}

// TestLayoutWrites: a tag names one manifest (a new one moves it), a
// digest write lists the manifest untagged once, a manifest whose content
// is not its digest is refused.
func TestLayoutWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, v1h, _ := newLayout(t)
	l, err := oci.OpenLayout(dir, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	repo := l.Repository()
	raw := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)
	h, _, _ := v1.SHA256(strings.NewReader(string(raw)))
	if err := l.PutManifest(ctx, repo.Tag("v1"), raw, "application/vnd.oci.image.index.v1+json"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := l.PutManifest(ctx, repo.Digest(h.String()), raw, "application/vnd.oci.image.index.v1+json"); err != nil {
			t.Fatal(err)
		}
	}
	im, err := l.Index()
	if err != nil {
		t.Fatal(err)
	}
	n := map[v1.Hash]int{}
	for _, d := range im.Manifests {
		n[d.Digest]++
	}
	if n[v1h] != 0 || n[h] != 1 || len(im.Manifests) != 2 {
		t.Fatalf("index lists %v, want the old v1 gone and the new manifest once, beside v2", n)
	}
	got, err := l.Get(ctx, repo.Tag("v1"))
	if err != nil || got.Descriptor.Digest != h {
		t.Fatalf("v1 is %v (%v), want %s", got, err, h)
	}
	err = l.PutManifest(ctx, repo.Digest(v1h.String()), raw, "application/vnd.oci.image.index.v1+json")
	if err == nil || !strings.Contains(err.Error(), "its content has digest") {
		t.Fatalf("got %v, want the digest mismatch refused", err)
	}
}

// TestLayoutAttach attaches a bundle to a layout image and finds it there,
// and not in the registry the image came from.
func TestLayoutAttach(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registrytest.New(t, true)
	d := reg.PushImage(t, "app:v1")
	dir := t.TempDir()
	registrytest.CopyToLayout(t, dir, d, registrytest.LayoutCopy{Tag: "v1"})
	c := oci.New(oci.WithLayoutDirs(true))
	tg, err := c.Resolve(ctx, "oci-layout:"+dir+":v1")
	if err != nil {
		t.Fatal(err)
	}
	att, err := c.AttachBundle(ctx, tg, []byte(`{"a":"bundle"}`), map[string]string{"k": "v"})
	if err != nil || att.Layout != oci.LayoutOCI {
		t.Fatalf("attached %+v (%v), want it in the layout", att, err)
	}
	arts, err := c.Discover(ctx, tg)
	if err != nil || len(arts) != 1 || string(arts[0].Content) != `{"a":"bundle"}` || arts[0].Kind != oci.KindBundle || arts[0].Annotations["k"] != "v" {
		t.Fatalf("found %+v (%v), want the one bundle", arts, err)
	}
	rt, err := c.Resolve(ctx, d.String())
	if err != nil {
		t.Fatal(err)
	}
	if arts, err := c.Discover(ctx, rt); err != nil || len(arts) != 0 {
		t.Fatalf("registry has %d artifacts (%v), want none", len(arts), err)
	}
	// The bare directory now still names the one image: the referrer is not one.
	if r, err := c.ParseReference("oci-layout:" + dir); err != nil || r.(name.Digest).DigestStr() != d.DigestStr() {
		t.Fatalf("oci-layout:DIR is %v (%v), want %s", r, err, d.DigestStr())
	}
}

// TestLayoutIndexTargets: the platform manifests of an index in a layout are
// read from the layout, and so is what is attached to each.
func TestLayoutIndexTargets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registrytest.New(t, true)
	d := reg.PushIndex(t, "app:multi")
	c := oci.New(oci.WithLayoutDirs(true))
	rt, err := c.Targets(ctx, d.String(), true)
	if err != nil || len(rt) != 3 {
		t.Fatalf("registry targets: %d (%v), want 3", len(rt), err)
	}
	if _, err := c.AttachBundle(ctx, rt[2], []byte(`{"arm64":"bundle"}`), nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	registrytest.CopyToLayout(t, dir, d, registrytest.LayoutCopy{Tag: "multi"})
	registrytest.CopyToLayout(t, dir, rt[2].Digest, registrytest.LayoutCopy{})
	ts, err := c.Targets(ctx, "oci-layout:"+dir+":multi", true)
	if err != nil || len(ts) != 3 {
		t.Fatalf("layout targets: %d (%v), want the index and 2 platforms", len(ts), err)
	}
	for i, tg := range ts {
		if tg.Layout() == nil || !strings.HasPrefix(tg.Reference(), "oci-layout:"+dir+"@") || tg.Digest.DigestStr() != rt[i].Digest.DigestStr() {
			t.Fatalf("target %d: %s (layout %v), want %s in the layout", i, tg.Reference(), tg.Layout(), rt[i].Digest.DigestStr())
		}
	}
	arts, err := c.Discover(ctx, ts[2])
	if err != nil || len(arts) != 1 || string(arts[0].Content) != `{"arm64":"bundle"}` {
		t.Fatalf("arm64 platform: %+v (%v), want its one bundle", arts, err)
	}
}

// TestCreateLayout: a new layout is readable by go-containerregistry, and
// what Signet writes into it is too; an existing layout is kept.
func TestCreateLayout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "new")
	l, err := oci.CreateLayout(dir, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)
	if err := l.PutManifest(ctx, l.Repository().Tag("v1"), raw, "application/vnd.oci.image.index.v1+json"); err != nil {
		t.Fatal(err)
	}
	if _, err := oci.CreateLayout(dir, "", 0); err != nil {
		t.Fatalf("re-creating an existing layout: %v", err)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	ii, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := ii.IndexManifest()
	if err != nil || len(im.Manifests) != 1 || im.Manifests[0].Annotations[oci.AnnotationRefName] != "v1" {
		t.Fatalf("go-containerregistry reads %+v (%v), want the one manifest tagged v1", im, err)
	}
	notLayout := t.TempDir()
	os.WriteFile(filepath.Join(notLayout, "index.json"), []byte("{}"), 0o644)
	if _, err := oci.CreateLayout(notLayout, "", 0); !errors.Is(err, oci.ErrNotLayout) {
		t.Fatalf("over a stray index.json: got %v, want %v", err, oci.ErrNotLayout)
	}
}

// BenchmarkLayoutReferrers measures finding an image's referrers in a
// layout whose index.json lists n other manifests: each is read and its
// subject checked, so the cost grows with the layout.
func BenchmarkLayoutReferrers(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("manifests=%d", n), func(b *testing.B) {
			ctx := context.Background()
			l, err := oci.CreateLayout(b.TempDir(), "", 0)
			if err != nil {
				b.Fatal(err)
			}
			repo := l.Repository()
			put := func(m string) v1.Hash {
				h, _, _ := v1.SHA256(strings.NewReader(m))
				if err := l.PutManifest(ctx, repo.Digest(h.String()), []byte(m), "application/vnd.oci.image.manifest.v1+json"); err != nil {
					b.Fatal(err)
				}
				return h
			}
			cfg := `"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]`
			var subject v1.Hash
			for i := 0; i < n; i++ {
				h := put(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",%s,"annotations":{"i":"%d"}}`, cfg, i))
				if i == 0 {
					subject = h
				}
			}
			put(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",%s,"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":1}}`, cfg, subject))
			d := repo.Digest(subject.String())
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				im, _, err := l.Referrers(ctx, d)
				if err != nil || len(im.Manifests) != 1 {
					b.Fatalf("%d referrers (%v), want 1", len(im.Manifests), err)
				}
			}
		})
	}
}
