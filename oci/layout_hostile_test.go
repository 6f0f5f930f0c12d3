package oci_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/oci"
)

// within runs f, failing the test if it has not returned after a minute
// (a read that blocks on a FIFO never returns).
func within(t *testing.T, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("still reading after a minute: a layout file blocked the read")
		return nil
	}
}

// TestLayoutHostileFiles: a layout someone hands over (a downloaded
// artifact, a CI cache) may put a FIFO, a device or a huge file where a
// layout file goes. Each is refused, as not a layout or as corrupt, and no
// read blocks or reads without bound.
func TestLayoutHostileFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name    string
		file    func(dir string, v1h v1.Hash) string // the file to replace
		replace func(t *testing.T, path string)
		ref     func(dir string, v1h v1.Hash) string
		wantErr error
		why     string
	}{
		{name: "oci-layout is a FIFO", file: func(dir string, _ v1.Hash) string { return filepath.Join(dir, "oci-layout") },
			replace: fifo, wantErr: oci.ErrNotLayout, why: "not a regular file"},
		{name: "oci-layout is huge", file: func(dir string, _ v1.Hash) string { return filepath.Join(dir, "oci-layout") },
			replace: huge(`{"imageLayoutVersion":"1.0.0"}`), wantErr: oci.ErrNotLayout, why: "over"},
		{name: "oci-layout links to a device", file: func(dir string, _ v1.Hash) string { return filepath.Join(dir, "oci-layout") },
			replace: link("/dev/null"), wantErr: oci.ErrNotLayout, why: "not a regular file"},
		{name: "index.json is a FIFO", file: func(dir string, _ v1.Hash) string { return filepath.Join(dir, "index.json") },
			replace: fifo, wantErr: oci.ErrNotLayout, why: "not a regular file"},
		{name: "index.json links to a device", file: func(dir string, _ v1.Hash) string { return filepath.Join(dir, "index.json") },
			replace: link("/dev/null"), wantErr: oci.ErrNotLayout, why: "not a regular file"},
		{name: "a blob is a FIFO", file: func(dir string, h v1.Hash) string { return filepath.Join(dir, "blobs", "sha256", h.Hex) },
			replace: fifo, wantErr: oci.ErrCorrupt, why: "not a regular file"},
		{name: "a blob links to a device", file: func(dir string, h v1.Hash) string { return filepath.Join(dir, "blobs", "sha256", h.Hex) },
			replace: link("/dev/zero"), wantErr: oci.ErrCorrupt, why: "not a regular file"},
		{name: "a blob is a directory", file: func(dir string, h v1.Hash) string { return filepath.Join(dir, "blobs", "sha256", h.Hex) },
			replace: func(t *testing.T, p string) { must(t, os.Mkdir(p, 0o755)) }, wantErr: oci.ErrCorrupt, why: "not a regular file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, v1h, _ := newLayout(t)
			p := tc.file(dir, v1h)
			must(t, os.Remove(p))
			tc.replace(t, p)
			c := oci.New(oci.WithLayoutDirs(true))
			err := within(t, func() error { _, err := c.Resolve(ctx, "oci-layout:"+dir+":v1"); return err })
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("got %v, want %v saying %q", err, tc.wantErr, tc.why)
			}
		})
	}
}

// TestLayoutWritesStayInside: signing or attesting into a layout whose
// blobs directory is a link elsewhere writes nothing there.
func TestLayoutWritesStayInside(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, linked := range []string{"blobs", "blobs/sha256"} {
		t.Run(linked, func(t *testing.T) {
			dir, _, _ := newLayout(t)
			outside := t.TempDir()
			p := filepath.Join(dir, linked)
			must(t, os.Rename(p, filepath.Join(outside, "moved")))
			must(t, os.Symlink(filepath.Join(outside, "moved"), p))
			before := countFiles(t, outside)
			l, err := oci.OpenLayout(dir, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			raw := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)
			err = l.PutManifest(ctx, l.Repository().Tag("sig"), raw, "application/vnd.oci.image.index.v1+json")
			if after := countFiles(t, outside); err == nil || !strings.Contains(err.Error(), "symbolic link") || after != before {
				t.Fatalf("got %v, %d files outside the layout (%d before); want the write refused as %s is a link out of the layout, nothing written there",
					err, after, before, linked)
			}
		})
	}
}

// countFiles counts the files under dir.
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	must(t, filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	}))
	return n
}

func fifo(t *testing.T, p string) { must(t, syscall.Mkfifo(p, 0o644)) }

func link(target string) func(*testing.T, string) {
	return func(t *testing.T, p string) { must(t, os.Symlink(target, p)) }
}

// huge writes content padded with spaces to 80 MiB (sparse: no disk used).
func huge(content string) func(*testing.T, string) {
	return func(t *testing.T, p string) {
		must(t, os.WriteFile(p, []byte(content), 0o644))
		must(t, os.Truncate(p, 80<<20))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestLayoutMediaTypeLie: index.json's descriptor may not call an image
// index an image manifest (or the reverse): what is judged as an index —
// its platform manifests checked against recall lists — is what the
// manifest itself says it is.
func TestLayoutMediaTypeLie(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, v1h, _ := newLayout(t)
	l, err := oci.OpenLayout(dir, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := l.Get(ctx, l.Repository().Digest(v1h.String()))
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex,
		Manifests: []v1.Descriptor{{MediaType: m.Descriptor.MediaType, Digest: v1h, Size: m.Descriptor.Size}}})
	// Listed under tag "multi" as an image manifest.
	if err := l.PutManifest(ctx, l.Repository().Tag("multi"), idx, types.OCIManifestSchema1); err != nil {
		t.Fatal(err)
	}
	c := oci.New(oci.WithLayoutDirs(true))
	got, err := c.Resolve(ctx, "oci-layout:"+dir+":multi")
	if !errors.Is(err, oci.ErrCorrupt) || !strings.Contains(err.Error(), "says it is") {
		t.Fatalf("got %v, %v; want %v: index.json calls an index an image manifest", got, err, oci.ErrCorrupt)
	}
}

// TestLayoutUntypedIndex: an index that neither index.json nor the index
// itself gives a media type is still judged as an index.
func TestLayoutUntypedIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, v1h, _ := newLayout(t)
	l, err := oci.OpenLayout(dir, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	idx := []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + v1h.String() + `","size":1}]}`)
	if err := l.PutManifest(ctx, l.Repository().Tag("multi"), idx, ""); err != nil {
		t.Fatal(err)
	}
	c := oci.New(oci.WithLayoutDirs(true))
	got, err := c.Resolve(ctx, "oci-layout:"+dir+":multi")
	if err != nil || !got.Descriptor.MediaType.IsIndex() {
		t.Fatalf("got %v, %v; want it judged as an index", got, err)
	}
	children, err := c.Children(ctx, got)
	if err != nil || len(children) != 1 || children[0].Digest != v1h {
		t.Fatalf("children %v, %v; want %s", children, err, v1h)
	}
}

// TestLayoutLayerSwapped: a blob checked by Layer, then swapped for a FIFO
// or grown before it is read (signet copy streams it later), is refused
// as corrupt: the read neither blocks nor runs past the descriptor's size.
func TestLayoutLayerSwapped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, swap := range []struct {
		name string
		do   func(t *testing.T, p string)
	}{
		{"FIFO", func(t *testing.T, p string) { must(t, os.Remove(p)); fifo(t, p) }},
		{"grown", func(t *testing.T, p string) {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			must(t, err)
			_, err = f.Write(make([]byte, 1<<20))
			must(t, err)
			must(t, f.Close())
		}},
	} {
		t.Run(swap.name, func(t *testing.T) {
			t.Parallel()
			dir, v1h, _ := newLayout(t)
			l, err := oci.OpenLayout(dir, "", 0)
			must(t, err)
			m, err := l.Get(ctx, l.Repository().Digest(v1h.String()))
			must(t, err)
			var im v1.Manifest
			must(t, json.Unmarshal(m.Raw, &im))
			desc := im.Layers[0]
			layer, err := l.Layer(ctx, l.Repository(), desc)
			must(t, err)
			p := filepath.Join(dir, "blobs", desc.Digest.Algorithm, desc.Digest.Hex)
			must(t, os.Chmod(p, 0o644))
			swap.do(t, p)
			err = within(t, func() error {
				rc, err := layer.Compressed()
				if err != nil {
					return err
				}
				defer rc.Close()
				_, err = io.Copy(io.Discard, rc)
				return err
			})
			if !errors.Is(err, oci.ErrCorrupt) {
				t.Fatalf("got %v, want %v", err, oci.ErrCorrupt)
			}
		})
	}
}
