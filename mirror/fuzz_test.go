package mirror_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/mirror"
	"github.com/signet-dev/signet/oci"
)

// FuzzCopy copies a manifest of any content between two layouts: the copy
// may refuse it, but what it writes is the manifest's bytes, unchanged.
func FuzzCopy(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`), false)
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":3}]}`), true)
	f.Add([]byte(`{"subject":{"digest":"sha256:00"},"layers":[{"digest":"../x"}]}`), false)
	f.Fuzz(func(t *testing.T, raw []byte, index bool) {
		ctx := context.Background()
		dir := t.TempDir()
		src, err := oci.CreateLayout(filepath.Join(dir, "src"), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		mt := types.OCIManifestSchema1
		if index {
			mt = types.OCIImageIndex
		}
		if err := src.PutManifest(ctx, src.Repository().Tag("v1"), raw, mt); err != nil {
			return
		}
		dst, err := oci.CreateLayout(filepath.Join(dir, "dst"), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = mirror.Copy(ctx, mirror.Request{Src: src, SrcRef: src.Repository().Tag("v1"), Dst: dst, DstRepo: dst.Repository(), DstTag: "v1"})
		if err != nil {
			return
		}
		got, err := dst.Get(ctx, dst.Repository().Tag("v1"))
		if err != nil {
			t.Fatalf("copied, but the destination lacks it: %v", err)
		}
		if !bytes.Equal(got.Raw, raw) {
			t.Fatalf("the copy changed the manifest's bytes")
		}
	})
}
