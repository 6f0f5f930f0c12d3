package attacks

import (
	"encoding/json"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/verify"
)

// Rows on embedded content in cosign's legacy tags: readBlob honours a
// descriptor's data for every reader, including cosign's legacy .sig
// layers, which cosign never writes with data. Anyone with push access can
// add it: it must be checked there as on the referrers path. (From the
// attacker-minded review of the embedding change.)

// embedInSigTag rewrites the .sig tag of d so its one layer embeds what
// edit makes of the layer's blob (digest, size and signature annotation
// left as they were).
func (w *world) embedInSigTag(d name.Digest, edit func([]byte) []byte) {
	w.t.Helper()
	tag := d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
	got, err := w.client.Get(w.ctx, tag)
	if err != nil {
		w.t.Fatal(err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(got.Raw, &m); err != nil || len(m.Layers) != 1 {
		w.t.Fatalf("the .sig manifest: %v, %d layers", err, len(m.Layers))
	}
	blob, err := w.client.Blob(w.ctx, d.Context(), m.Layers[0])
	if err != nil {
		w.t.Fatal(err)
	}
	m.Layers[0].Data = edit(append([]byte(nil), blob...))
	raw, err := json.Marshal(m)
	if err != nil {
		w.t.Fatal(err)
	}
	if m.Layers[0].Data != nil && len(m.Layers[0].Data) == 0 {
		// omitempty drops an empty data: write "data":"" by hand.
		var generic map[string]any
		json.Unmarshal(raw, &generic)
		generic["layers"].([]any)[0].(map[string]any)["data"] = ""
		raw, _ = json.Marshal(generic)
	}
	mt := got.Descriptor.MediaType
	if mt == "" {
		mt = types.OCIManifestSchema1
	}
	if err := w.client.PutManifest(w.ctx, tag, raw, mt); err != nil {
		w.t.Fatal(err)
	}
}

func init() {
	sigTagEmbedded := func(edit func([]byte) []byte) func(w *world) verdict {
		return func(w *world) verdict {
			d := w.image("team/app:v1")
			w.signInSigTag("release", d.String())
			w.embedInSigTag(d, edit)
			return w.decide(releasePolicy, d.String())
		}
	}
	register(
		row{name: "a .sig tag layer embeds a payload of the blob's length but other bytes", entry: entryPolicy,
			run: sigTagEmbedded(func(b []byte) []byte {
				b[len(b)/2] ^= 1
				return b
			}),
			want: refused(verify.ClassInvalid, "embeds")},
		row{name: "a .sig tag layer embeds a longer payload", entry: entryPolicy,
			run:  sigTagEmbedded(func(b []byte) []byte { return append(b, ' ') }),
			want: refused(verify.ClassInvalid, "embeds")},
		row{name: "a .sig tag layer embeds nothing (data \"\") for a non-empty blob", entry: entryPolicy,
			run:  sigTagEmbedded(func([]byte) []byte { return []byte{} }),
			want: refused(verify.ClassInvalid, "embeds")},
		row{name: "control: a .sig tag layer embeds its blob as it is", entry: entryPolicy,
			run:  sigTagEmbedded(func(b []byte) []byte { return b }),
			want: allowed()},
	)
}
