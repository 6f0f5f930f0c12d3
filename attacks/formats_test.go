package attacks

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/signet-dev/signet/internal/notarytest"
	"github.com/signet-dev/signet/notary"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// Rows for one policy over several signature formats (issue 23) and for
// multi-platform rules (issue 24).

// notationSign signs image in Notation's format (envelope jws or cose) with
// pki's leaf, whose CA the policies below trust as security-ca.pem.
func (w *world) notationSign(pki *notarytest.PKI, envelope, image string) {
	w.t.Helper()
	s, err := sign.NewNotation(pki.Key, pki.Chain, w.client, notary.SignOptions{Envelope: envelope})
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := s.SignImage(w.ctx, image, sign.Request{}); err != nil {
		w.t.Fatal(err)
	}
}

// securityPKI makes the Notation CA the policies trust and its leaf.
func (w *world) securityPKI() *notarytest.PKI {
	pki := notarytest.New(w.t, "security-ca", "security")
	w.write("security-ca.pem", notarytest.PEM(pki.CA))
	return pki
}

const crossFormatPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    threshold: 2
    signers:
      - {name: release, key: release.pub}
      - {name: security, notation: {trustStore: security-ca.pem, subject: "CN=security,O=Acme,ST=WA,C=US"}}
`

func init() {
	register(
		row{name: "control: cosign key and Notation certificate meet a 2-of-2 across formats", entry: entryPolicy,
			run: func(w *world) verdict {
				pki := w.securityPKI()
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				w.notationSign(pki, "jws", d.String())
				return w.decide(crossFormatPolicy, d.String())
			},
			want: allowed()},
		row{name: "formats: one Notation signer signing twice (JWS and COSE) for two overlapping principals", entry: entryPolicy,
			run: func(w *world) verdict {
				pki := w.securityPKI()
				d := w.image("team/app:v1")
				w.notationSign(pki, "jws", d.String())
				w.notationSign(pki, "cose", d.String())
				return w.decide(`apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    threshold: 2
    signers:
      - {name: anyone-certified, notation: {trustStore: security-ca.pem}}
      - {name: security, notation: {trustStore: security-ca.pem, subject: "CN=security,O=Acme,ST=WA,C=US"}}
`, d.String())
			},
			want: refused(verify.ClassPolicyDenied, "1 of 2 required signers")},
		row{name: "formats: a Notation signature copied onto another image", entry: entryPolicy,
			run: func(w *world) verdict {
				pki := w.securityPKI()
				signed, other := w.image("team/app:v1"), w.image("team/app:v2")
				w.sign("release", other.String())
				w.notationSign(pki, "jws", signed.String())
				t, err := w.client.Resolve(w.ctx, signed.String())
				if err != nil {
					w.t.Fatal(err)
				}
				arts, err := w.client.Discover(w.ctx, t)
				if err != nil || len(arts) != 1 {
					w.t.Fatalf("discover: %v, %d artifacts", err, len(arts))
				}
				to, err := w.client.Resolve(w.ctx, other.String())
				if err != nil {
					w.t.Fatal(err)
				}
				if _, err := w.client.AttachNotation(w.ctx, to, arts[0].Content, arts[0].MediaType, nil); err != nil {
					w.t.Fatal(err)
				}
				return w.decide(crossFormatPolicy, other.String())
			},
			want: refused(verify.ClassPolicyDenied, "the signature is for another artifact")},
		row{name: "platforms: an unsigned manifest labelled linux/x86_64 beside a platformFilter of linux/amd64", entry: entryPolicy,
			run: func(w *world) verdict {
				idx, byPlatform := w.reg.PushPlatforms(w.t, "team/app:v1",
					v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "x86_64"})
				w.sign("release", byPlatform["linux/amd64"].String())
				return w.decide(`apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    platforms: every
    platformFilter: [linux/amd64]
    signers: [{name: release, key: release.pub}]
`, idx.String())
			},
			want: refused(verify.ClassNotFound, "NOT verified: linux/x86_64")},
	)
}
