package attacks

import (
	"encoding/json"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/signet-dev/signet/internal/rekorv1test"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/verify"
)

// Legacy .sig layers with cosign v2's dev.sigstore.cosign/bundle
// annotation (a Rekor v1 entry and its signed entry timestamp), against a
// verifier that requires the log and trusts one Rekor v1 log.
func init() {
	register(
		row{name: "control: legacy .sig signature logged in the trusted Rekor v1 log, log required", entry: entryVerify,
			run: func(w *world) verdict {
				rk := rekorv1test.Start(w.t)
				d := w.image("team/app:v1")
				w.signLegacy(d, rk)
				return w.verifyLegacyLogged(d, rk, time.Time{})
			},
			want: allowed()},
		row{name: "legacy .sig signature logged in a Rekor v1 log the verifier does not trust", entry: entryVerify,
			run: func(w *world) verdict {
				trusted, rogue := rekorv1test.Start(w.t), rekorv1test.Start(w.t)
				d := w.image("team/app:v1")
				w.signLegacy(d, rogue)
				return w.verifyLegacyLogged(d, trusted, time.Time{})
			},
			want: refused(verify.ClassInvalid, "not from a trusted log")},
		row{name: "legacy .sig signature carries the log entry of another signature by the same key", entry: entryVerify,
			run: func(w *world) verdict {
				rk := rekorv1test.Start(w.t)
				d := w.image("team/app:v1")
				w.signLegacy(d, rk)  // logged
				w.signLegacy(d, nil) // same payload, another signature, not logged
				w.rewriteLegacy(d, func(layers []legacyLayer) []legacyLayer {
					// Keep the unlogged signature, with the logged one's entry.
					layers[1].ann[oci.AnnotationLegacyBundle] = layers[0].ann[oci.AnnotationLegacyBundle]
					return layers[1:]
				})
				return w.verifyLegacyLogged(d, rk, time.Time{})
			},
			want: refused(verify.ClassInvalid, "records another signature")},
		row{name: "legacy .sig signature's log entry with its integrated time edited", entry: entryVerify,
			run: func(w *world) verdict {
				rk := rekorv1test.Start(w.t)
				d := w.image("team/app:v1")
				w.signLegacy(d, rk)
				w.rewriteLegacy(d, func(layers []legacyLayer) []legacyLayer {
					var lb struct {
						SET     []byte         `json:"SignedEntryTimestamp"`
						Payload map[string]any `json:"Payload"`
					}
					if err := json.Unmarshal([]byte(layers[0].ann[oci.AnnotationLegacyBundle]), &lb); err != nil {
						w.t.Fatal(err)
					}
					lb.Payload["integratedTime"] = time.Now().Add(24 * time.Hour).Unix()
					b, err := json.Marshal(map[string]any{"SignedEntryTimestamp": lb.SET, "Payload": lb.Payload})
					if err != nil {
						w.t.Fatal(err)
					}
					layers[0].ann[oci.AnnotationLegacyBundle] = string(b)
					return layers
				})
				return w.verifyLegacyLogged(d, rk, time.Time{})
			},
			want: refused(verify.ClassInvalid, "signed entry timestamp does not verify")},
		row{name: "legacy .sig signature logged before the trusted log key's validity", entry: entryVerify,
			run: func(w *world) verdict {
				rk := rekorv1test.Start(w.t)
				d := w.image("team/app:v1")
				w.signLegacy(d, rk)
				return w.verifyLegacyLogged(d, rk, time.Now().Add(time.Hour))
			},
			want: refused(verify.ClassInvalid, "outside the trusted log key's validity")},
		row{name: "control: policy requiring the log, legacy .sig signature logged in the trusted Rekor v1 log", entry: entryPolicy,
			run: func(w *world) verdict {
				rk := rekorv1test.Start(w.t)
				d := w.image("team/app:v1")
				w.signLegacy(d, rk)
				return w.decide(replaceAll(releasePolicy, "    signers:", "    transparencyLog: required\n    signers:"), d.String(),
					verify.WithEngineTrustedRoot(w.legacyLogRoot(rk)))
			},
			want: allowed()},
		row{name: "policy requiring the log: legacy .sig signature carries the log entry of another signature by the same key", entry: entryPolicy,
			run: func(w *world) verdict {
				rk := rekorv1test.Start(w.t)
				d := w.image("team/app:v1")
				w.signLegacy(d, rk)
				w.signLegacy(d, nil)
				w.rewriteLegacy(d, func(layers []legacyLayer) []legacyLayer {
					layers[1].ann[oci.AnnotationLegacyBundle] = layers[0].ann[oci.AnnotationLegacyBundle]
					return layers[1:]
				})
				return w.decide(replaceAll(releasePolicy, "    signers:", "    transparencyLog: required\n    signers:"), d.String(),
					verify.WithEngineTrustedRoot(w.legacyLogRoot(rk)))
			},
			want: refused(verify.ClassInvalid, "records another signature")},
	)
}

// legacyLogRoot is a trusted root listing rk from the epoch.
func (w *world) legacyLogRoot(rk *rekorv1test.Log) *root.TrustedRoot {
	w.t.Helper()
	tr, err := tlog.TrustedRoot(tlog.LogInfo{URL: rk.URL, PublicKey: rk.Key.Public(), APIVersion: 1})
	if err != nil {
		w.t.Fatal(err)
	}
	return tr
}

// signLegacy signs d with release's key in cosign v2's legacy layout,
// logged in rk (nil: not logged).
func (w *world) signLegacy(d name.Digest, rk *rekorv1test.Log) {
	w.t.Helper()
	s := w.signers["release"]
	if rk != nil {
		tw, err := tlog.Service{URL: rk.URL, APIVersion: 1}.Writer(0)
		if err != nil {
			w.t.Fatal(err)
		}
		if s, err = sign.New(w.svs["release"], w.client, sign.WithTransparencyLog(tw)); err != nil {
			w.t.Fatal(err)
		}
	}
	if _, err := s.SignImage(w.ctx, d.String(), sign.Request{Layout: sign.LayoutLegacy}); err != nil {
		w.t.Fatal(err)
	}
}

// verifyLegacyLogged is signet verify --key release.pub --tlog required
// with a trusted root listing rk from start (zero: the epoch).
func (w *world) verifyLegacyLogged(d name.Digest, rk *rekorv1test.Log, start time.Time) verdict {
	w.t.Helper()
	tr, err := tlog.TrustedRoot(tlog.LogInfo{URL: rk.URL, PublicKey: rk.Key.Public(), APIVersion: 1, Start: start})
	if err != nil {
		w.t.Fatal(err)
	}
	pub, err := keys.ParsePublicKey(w.pubs["release"])
	if err != nil {
		w.t.Fatal(err)
	}
	v, err := verify.New(w.client, []verify.Key{{Name: "release.pub", PublicKey: pub}}, verify.WithTrustedRoot(tr))
	if err != nil {
		w.t.Fatal(err)
	}
	_, err = v.Verify(w.ctx, d.String(), verify.Request{TransparencyLog: verify.TlogRequired})
	return verifyVerdict(err)
}

// legacyLayer is one layer of a .sig image and its annotations.
type legacyLayer struct {
	layer v1.Layer
	ann   map[string]string
}

// rewriteLegacy replaces d's .sig image with edit's layers, as someone with
// push access to the registry can.
func (w *world) rewriteLegacy(d name.Digest, edit func([]legacyLayer) []legacyLayer) {
	w.t.Helper()
	tag := oci.LegacySignatureTag(d)
	img, err := remote.Image(tag, remote.WithContext(w.ctx))
	if err != nil {
		w.t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		w.t.Fatal(err)
	}
	var layers []legacyLayer
	for _, desc := range m.Layers {
		l, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			w.t.Fatal(err)
		}
		ann := map[string]string{}
		for k, v := range desc.Annotations {
			ann[k] = v
		}
		layers = append(layers, legacyLayer{layer: l, ann: ann})
	}
	out := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for _, l := range edit(layers) {
		if out, err = mutate.Append(out, mutate.Addendum{Layer: l.layer, Annotations: l.ann}); err != nil {
			w.t.Fatal(err)
		}
	}
	if err := remote.Write(tag, out, remote.WithContext(w.ctx)); err != nil {
		w.t.Fatal(err)
	}
}
