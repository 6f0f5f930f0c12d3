package attacks

import (
	"bytes"
	"encoding/json"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/verify"
)

// Rows on bundles embedded in their referrer manifest (the layer
// descriptor's data, OCI image spec 1.1), which Signet writes and reads
// instead of the blob. Anyone with push access can write a referrer
// manifest: what it embeds must be the blob it names, byte for byte, or the
// signature is refused as the blob's would be were it corrupt.

// rewriteEmbedded replaces the referrer manifest of release's signature on
// d with one whose embedded bundle edit made (the layer descriptor's digest
// and size left as they were), deleting the original.
func (w *world) rewriteEmbedded(d name.Digest, edit func([]byte) []byte) {
	w.t.Helper()
	idx, _, err := w.client.Referrers(w.ctx, d)
	if err != nil || len(idx.Manifests) != 1 {
		w.t.Fatalf("listing the referrers of %s: %v (%d listed, want 1)", d, err, len(idx.Manifests))
	}
	orig := d.Context().Digest(idx.Manifests[0].Digest.String())
	got, err := w.client.Get(w.ctx, orig)
	if err != nil {
		w.t.Fatal(err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(got.Raw, &m); err != nil {
		w.t.Fatal(err)
	}
	if len(m.Layers) != 1 || m.Layers[0].Data == nil {
		w.t.Fatalf("release's signature manifest embeds no bundle: %s", got.Raw)
	}
	m.Layers[0].Data = edit(m.Layers[0].Data)
	raw, err := json.Marshal(m)
	if err != nil {
		w.t.Fatal(err)
	}
	h, _, _ := v1.SHA256(bytes.NewReader(raw))
	if err := w.client.PutManifest(w.ctx, d.Context().Digest(h.String()), raw, types.OCIManifestSchema1); err != nil {
		w.t.Fatal(err)
	}
	if err := remote.Delete(orig); err != nil {
		w.t.Fatal(err)
	}
}

func init() {
	signedEmbedded := func(edit func([]byte) []byte) func(w *world) verdict {
		return func(w *world) verdict {
			d := w.image("team/app:v1")
			w.sign("release", d.String())
			if edit != nil {
				w.rewriteEmbedded(d, edit)
			}
			return w.decide(releasePolicy, d.String())
		}
	}
	register(
		row{name: "a referrer manifest embeds a bundle of another length than the blob it names", entry: entryPolicy,
			run:  signedEmbedded(func(b []byte) []byte { return append(b, ' ') }),
			want: refused(verify.ClassInvalid, "embeds")},
		row{name: "a referrer manifest embeds a bundle of the blob's length but other bytes (one flipped)", entry: entryPolicy,
			run: signedEmbedded(func(b []byte) []byte {
				c := append([]byte(nil), b...)
				c[len(c)/2] ^= 1
				return c
			}),
			want: refused(verify.ClassInvalid, "embeds")},
		row{name: "control: release's signature with its bundle embedded as written", entry: entryPolicy,
			run:  signedEmbedded(nil),
			want: allowed()},
	)
}
