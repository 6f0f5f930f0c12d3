package attacks

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// Signatures: what a signature proves, in every layout. These held before
// issue 18; they stay as rows so a later shortcut cannot quietly undo them.
func init() {
	for _, layout := range []struct {
		suffix   string
		fallback bool
	}{{"", false}, {" (fallback tag layout)", true}} {
		register(
			row{name: "control: signed by the trusted key" + layout.suffix, entry: entryVerify, fallbackOnly: layout.fallback,
				run: func(w *world) verdict {
					d := w.image("team/app:v1")
					w.sign("release", d.String())
					return w.verify(w.ref("team/app:v1"), verify.Request{})
				},
				want: allowed()},
			row{name: "unsigned image" + layout.suffix, entry: entryVerify, fallbackOnly: layout.fallback,
				run: func(w *world) verdict {
					w.image("team/app:v1")
					return w.verify(w.ref("team/app:v1"), verify.Request{})
				},
				want: refused(verify.ClassNotFound, "no signatures found")},
			row{name: "signed by an untrusted key" + layout.suffix, entry: entryVerify, fallbackOnly: layout.fallback,
				run: func(w *world) verdict {
					d := w.image("team/app:v1")
					w.sign("attacker", d.String())
					return w.verify(d.String(), verify.Request{})
				},
				want: refused(verify.ClassInvalid, "does not verify with any trusted key")},
			row{name: "valid signature copied from another image" + layout.suffix, entry: entryVerify, fallbackOnly: layout.fallback,
				run: func(w *world) verdict {
					good := w.image("team/app:v1")
					evil := w.image("team/app:evil")
					w.attachBundle(evil.String(), w.bundle("release", good.Context().Name(), good.DigestStr(), nil), oci.CosignSignPredicateType)
					return w.verify(evil.String(), verify.Request{})
				},
				want: refused(verify.ClassInvalid, "signature is for another image digest")},
			row{name: "signed payload rewritten to name this image" + layout.suffix, entry: entryVerify, fallbackOnly: layout.fallback,
				run: func(w *world) verdict {
					good := w.image("team/app:v1")
					evil := w.image("team/app:evil")
					b := w.bundle("release", good.Context().Name(), good.DigestStr(), nil)
					w.attachBundle(evil.String(), rewritePayload(w, b, good.DigestStr(), evil.DigestStr()), oci.CosignSignPredicateType)
					return w.verify(evil.String(), verify.Request{})
				},
				want: refused(verify.ClassInvalid, "does not verify with any trusted key")},
		)
	}
	register(
		row{name: "trusted signature on the image, but the tag was re-pointed to an unsigned one", entry: entryVerify,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				w.image("team/app:v1") // the tag moves to a new, unsigned image
				return w.verify(w.ref("team/app:v1"), verify.Request{})
			},
			want: refused(verify.ClassNotFound, "no signatures found")},
		row{name: "control: required annotation signed", entry: entryVerify,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String(), map[string]string{"env": "prod"})
				return w.verify(d.String(), verify.Request{Annotations: map[string]string{"env": "prod"}})
			},
			want: allowed()},
		row{name: "required annotation missing from the signature", entry: entryVerify,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				return w.verify(d.String(), verify.Request{Annotations: map[string]string{"env": "prod"}})
			},
			want: refused(verify.ClassInvalid, "env is not signed")},
		row{name: "required annotation signed with another value", entry: entryVerify,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String(), map[string]string{"env": "dev"})
				return w.verify(d.String(), verify.Request{Annotations: map[string]string{"env": "prod"}})
			},
			want: refused(verify.ClassInvalid, `env is "dev", want "prod"`)},
		row{name: "annotation added to the referrer manifest, not signed", entry: entryVerify,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				ann := sign.BundleAnnotations(oci.CosignSignPredicateType, w.now())
				ann["env"] = "prod"
				t, _ := w.client.Resolve(w.ctx, d.String())
				if _, err := w.client.AttachBundle(w.ctx, t, w.bundle("release", d.Context().Name(), d.DigestStr(), nil), ann); err != nil {
					w.t.Fatal(err)
				}
				return w.verify(d.String(), verify.Request{Annotations: map[string]string{"env": "prod"}})
			},
			want: refused(verify.ClassInvalid, "env is not signed")},
		row{name: "legacy .sig signature by an untrusted key", entry: entryVerify,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				if _, err := w.signers["attacker"].SignImage(w.ctx, d.String(), sign.Request{Layout: sign.LayoutLegacy}); err != nil {
					w.t.Fatal(err)
				}
				return w.verify(d.String(), verify.Request{})
			},
			want: refused(verify.ClassInvalid, "does not verify with any trusted key")},
		row{name: "control: legacy .sig signature by the trusted key", entry: entryVerify,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				if _, err := w.signers["release"].SignImage(w.ctx, d.String(), sign.Request{Layout: sign.LayoutLegacy}); err != nil {
					w.t.Fatal(err)
				}
				return w.verify(d.String(), verify.Request{})
			},
			want: allowed()},
		row{name: "garbage where the bundle should be", entry: entryVerify,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.attachBundle(d.String(), []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`), oci.CosignSignPredicateType)
				return w.verify(d.String(), verify.Request{})
			},
			want: refused(verify.ClassInvalid, "malformed signature artifact")},
		row{name: "transparency log required, bundle has no entry", entry: entryVerify,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				return w.verify(d.String(), verify.Request{TransparencyLog: verify.TlogRequired})
			},
			want: refused(verify.ClassInvalid, "transparency log check failed")},
		row{name: "transparency log required, legacy .sig signature has no entry", entry: entryVerify,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				if _, err := w.signers["release"].SignImage(w.ctx, d.String(), sign.Request{Layout: sign.LayoutLegacy}); err != nil {
					w.t.Fatal(err)
				}
				return w.verify(d.String(), verify.Request{TransparencyLog: verify.TlogRequired})
			},
			want: refused(verify.ClassInvalid, "transparency log check failed")},
	)
}

// bundle is a Sigstore bundle by who naming digest (not attached).
func (w *world) bundle(who, subjectName, digest string, annotations map[string]string) []byte {
	w.t.Helper()
	b, err := w.signers[who].Bundle(w.ctx, subjectName, digest, annotations)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

// rewritePayload replaces from with to in a bundle's signed DSSE payload,
// keeping the signature: what an attacker without the key can do.
func rewritePayload(w *world, bundle []byte, from, to string) []byte {
	w.t.Helper()
	var b map[string]any
	if err := json.Unmarshal(bundle, &b); err != nil {
		w.t.Fatal(err)
	}
	env := b["dsseEnvelope"].(map[string]any)
	raw, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		w.t.Fatal(err)
	}
	from, to = strings.TrimPrefix(from, "sha256:"), strings.TrimPrefix(to, "sha256:")
	env["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(string(raw), from, to)))
	out, err := json.Marshal(b)
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}
