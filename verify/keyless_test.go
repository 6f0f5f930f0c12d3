package verify_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// keylessBundle signs the cosign statement for digest with a certificate
// for identity from the virtual Sigstore (a test Fulcio CA and TSA), with
// an RFC 3161 timestamp when withTime, and returns it as bundle v0.3 JSON.
func keylessBundle(t *testing.T, vs *ca.VirtualSigstore, identity, issuer, digest string, withTime bool) []byte {
	t.Helper()
	stmt, err := sign.Statement("team/app", digest, nil)
	if err != nil {
		t.Fatal(err)
	}
	ent, err := vs.Attest(identity, issuer, stmt)
	if err != nil {
		t.Fatal(err)
	}
	vc, _ := ent.VerificationContent()
	sc, _ := ent.SignatureContent()
	env := sc.EnvelopeContent().RawEnvelope()
	sig, _ := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	payload, _ := base64.StdEncoding.DecodeString(env.Payload)
	b := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: env.PayloadType, Signatures: []*protodsse.Signature{{Sig: sig}},
		}},
	}
	if withTime {
		ts, _ := ent.Timestamps()
		b.VerificationMaterial.TimestampVerificationData = &protobundle.TimestampVerificationData{}
		for _, tsr := range ts {
			b.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps = append(b.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps,
				&protocommon.RFC3161SignedTimestamp{SignedTimestamp: tsr})
		}
	}
	out, err := protojson.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// noCT hides the virtual Sigstore's CT log: its test certificates carry no
// SCTs, and a trusted root with CT logs makes Signet require them.
type noCT struct{ root.TrustedMaterial }

func (noCT) CTLogs() map[string]*root.TransparencyLog { return nil }

func TestKeylessIdentities(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	rogue, _ := ca.NewVirtualSigstore()
	reg := registrytest.New(t, true)
	client := oci.New()
	const who, iss = "dev@example.com", "https://accounts.example.com"
	ann := sign.BundleAnnotations(oci.CosignSignPredicateType, registrytestNow())

	cases := []struct {
		name   string
		bundle func(digest string) []byte
		ids    []verify.Identity
		want   error
		text   string
	}{
		{"trusted identity", func(d string) []byte { return keylessBundle(t, vs, who, iss, d, true) },
			[]verify.Identity{{Name: "dev", Subject: who, Issuer: iss}}, nil, ""},
		{"regexp identity", func(d string) []byte { return keylessBundle(t, vs, who, iss, d, true) },
			[]verify.Identity{{Name: "any-example", SubjectRegExp: `@example\.com$`, Issuer: iss}}, nil, ""},
		{"wrong identity", func(d string) []byte { return keylessBundle(t, vs, "mallory@example.org", iss, d, true) },
			[]verify.Identity{{Name: "dev", Subject: who, Issuer: iss}}, verify.ErrIdentityMismatch, "found subject mallory@example.org"},
		{"wrong issuer", func(d string) []byte { return keylessBundle(t, vs, who, "https://evil.example", d, true) },
			[]verify.Identity{{Name: "dev", Subject: who, Issuer: iss}}, verify.ErrIdentityMismatch, "issuer https://evil.example"},
		{"untrusted CA", func(d string) []byte { return keylessBundle(t, rogue, who, iss, d, true) },
			[]verify.Identity{{Name: "dev", Subject: who, Issuer: iss}}, verify.ErrBadSignature, ""},
		{"no trusted time", func(d string) []byte { return keylessBundle(t, vs, who, iss, d, false) },
			[]verify.Identity{{Name: "dev", Subject: who, Issuer: iss}}, verify.ErrNoTrustedTime, ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := reg.PushImage(t, "team/app:k"+string(rune('a'+i)))
			target, _ := client.Resolve(ctx, d.String())
			if _, err := client.AttachBundle(ctx, target, tc.bundle(d.DigestStr()), ann); err != nil {
				t.Fatal(err)
			}
			v, err := verify.New(client, nil, verify.WithTrustedRoot(noCT{vs}), verify.WithIdentities(tc.ids...))
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(ctx, d.String(), verify.Request{})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if s := res.Signatures[0]; s.Key != tc.ids[0].Name || !strings.Contains(s.Identity, who) {
					t.Fatalf("signature %+v", s)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want %v containing %q", err, tc.want, tc.text)
			}
		})
	}
}

func registrytestNow() time.Time { return time.Now() }

func TestPolicyKeylessSigner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	vs, _ := ca.NewVirtualSigstore()
	w := newWorld(t)
	good := w.reg.PushImage(t, "team/app:good")
	bad := w.reg.PushImage(t, "team/app:bad")
	for d, who := range map[string]string{good.String(): "ci@example.com", bad.String(): "someone@example.com"} {
		target, _ := w.client.Resolve(ctx, d)
		if _, err := w.client.AttachBundle(ctx, target, keylessBundle(t, vs, who, "https://ci.example.com", target.Digest.DigestStr(), true),
			sign.BundleAnnotations(oci.CosignSignPredicateType, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	e := w.engine(t, `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    signers:
      - name: ci
        keyless: {issuer: "https://ci.example.com", subjectRegExp: "^ci@example\\.com$"}
`, verify.WithEngineTrustedRoot(noCT{vs}))
	if d := e.Decide(ctx, good.String()); !d.Allowed {
		t.Fatalf("keyless signer: %s", d.Reason)
	}
	d := e.Decide(ctx, bad.String())
	if d.Allowed || d.Class != verify.ClassInvalid || !strings.Contains(d.Reason, "found subject someone@example.com") {
		t.Fatalf("wrong identity: %+v", d.Reason)
	}
}

// One certificate that two overlapping identities of the policy accept is
// one signature: it counts for one of them, and a threshold of two
// distinct signers refuses it.
func TestOverlappingIdentitiesCountOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	vs, _ := ca.NewVirtualSigstore()
	w := newWorld(t)
	one := w.reg.PushImage(t, "team/app:one")
	two := w.reg.PushImage(t, "team/app:two")
	sign1 := func(d, who string) {
		target, _ := w.client.Resolve(ctx, d)
		if _, err := w.client.AttachBundle(ctx, target, keylessBundle(t, vs, who, "https://ci.example.com", target.Digest.DigestStr(), true),
			sign.BundleAnnotations(oci.CosignSignPredicateType, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	sign1(one.String(), "release@example.com")
	twice := w.reg.PushImage(t, "team/app:twice")
	sign1(twice.String(), "release@example.com")
	sign1(twice.String(), "release@example.com")
	sign1(two.String(), "release@example.com")
	sign1(two.String(), "ci@example.com")
	e := w.engine(t, `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    threshold: 2
    signers:
      - name: anyone-at-example
        keyless: {issuer: "https://ci.example.com", subjectRegExp: "@example\\.com$"}
      - name: release
        keyless: {issuer: "https://ci.example.com", subject: "release@example.com"}
`, verify.WithEngineTrustedRoot(noCT{vs}))
	d := e.Decide(ctx, one.String())
	if d.Allowed || d.Class != verify.ClassPolicyDenied || !strings.Contains(d.Reason, "1 of 2 required signers") {
		t.Fatalf("one signature, two overlapping identities: allowed=%v %s", d.Allowed, d.Reason)
	}
	// One signer signing twice is one signer, though the two principals
	// it matches could each take one of its signatures.
	if d := e.Decide(ctx, twice.String()); d.Allowed || !strings.Contains(d.Reason, "1 of 2 required signers") {
		t.Fatalf("one identity signing twice: allowed=%v %s", d.Allowed, d.Reason)
	}
	// Two signatures: release's counts for release, ci's for anyone-at-example
	// (a greedy count giving release's to anyone-at-example would find one).
	if d := e.Decide(ctx, two.String()); !d.Allowed {
		t.Fatalf("two signers: %s", d.Reason)
	}
}

// TestKeylessIdentityCaseCountsOnce: attack — one mailbox holding
// certificates for two spellings of its address (Release@ and release@)
// meets a threshold of two when a case-insensitive identity takes one
// spelling and an exact one the other. An identity's case does not make
// another signer.
func TestKeylessIdentityCaseCountsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	vs, _ := ca.NewVirtualSigstore()
	w := newWorld(t)
	img := w.reg.PushImage(t, "team/app:case")
	target, _ := w.client.Resolve(ctx, img.String())
	for _, who := range []string{"release@example.com", "Release@Example.com"} {
		if _, err := w.client.AttachBundle(ctx, target, keylessBundle(t, vs, who, "https://ci.example.com", target.Digest.DigestStr(), true),
			sign.BundleAnnotations(oci.CosignSignPredicateType, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	d := w.engine(t, `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    threshold: 2
    signers:
      - name: anyone-at-example
        keyless: {issuer: "https://ci.example.com", subjectRegExp: "(?i)@example\\.com$"}
      - name: release
        keyless: {issuer: "https://ci.example.com", subject: "release@example.com"}
`, verify.WithEngineTrustedRoot(noCT{vs})).Decide(ctx, img.String())
	if d.Allowed || !strings.Contains(d.Reason, "1 of 2 required signers") {
		t.Fatalf("one address in two spellings met a threshold of two: allowed=%v %s", d.Allowed, d.Reason)
	}
}
