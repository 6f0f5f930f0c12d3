package verify_test

// Regression tests for attacks published against our peers' verifiers: each
// builds the attack the advisory describes and asserts that Signet refuses
// it, and why.

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/internal/rekorv1test"
	"github.com/signet-dev/signet/internal/sigstoretest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/verify"
)

var signatureAnnotations = map[string]string{oci.AnnotationBundleContent: "dsse-envelope", oci.AnnotationPredicateType: oci.CosignSignPredicateType}

// TestAdvisoryKeyInCertificateField is cosign's GHSA-fx35-mq7g-6g98: a bare
// public key placed where the bundle's certificate goes was loaded as the
// verification key, skipping the certificate chain and identity checks (and
// taking priority over the key the verifier was given). Here the key is the
// trusted key itself, so the only thing wrong is where it sits; every
// verifier (key, keyless, both) must refuse it, and attribute it to no one.
func TestAdvisoryKeyInCertificateField(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registrytest.New(t, true)
	client := oci.New()
	priv, _ := keys.Generate(keys.ECDSAP256)
	sv, _ := keys.SignerVerifier(priv)
	// A timestamp from a trusted TSA, so the keyless verifier has a signing
	// time and gets as far as the certificate.
	ss := sigstoretest.Start(t)
	tsaRoot, err := ss.TrustedRoot()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sign.New(sv, client, sign.WithTimestampAuthority(sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: ss.TSAURL})))
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	vs, _ := ca.NewVirtualSigstore()
	const who, iss = "dev@example.com", "https://accounts.example.com"
	trusted := []verify.Key{{Name: "release", PublicKey: priv.Public()}}
	id := verify.Identity{Name: "dev", Subject: who, Issuer: iss}
	verifiers := map[string]*verify.Verifier{}
	verifiers["key"], _ = verify.New(client, trusted)
	tr := root.TrustedMaterialCollection{noCT{vs}, tsaRoot}
	verifiers["keyless"], _ = verify.New(client, nil, verify.WithTrustedRoot(tr), verify.WithIdentities(id))
	verifiers["key and keyless"], _ = verify.New(client, trusted, verify.WithTrustedRoot(tr), verify.WithIdentities(id))

	cases := []struct {
		name     string
		material func(t *testing.T, b *protobundle.Bundle)
		want     error
	}{
		{"public key in the certificate field", func(t *testing.T, b *protobundle.Bundle) {
			b.VerificationMaterial.Content = &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: der}}
		}, verify.ErrMalformed},
		{"public key as a v0.2 certificate chain", func(t *testing.T, b *protobundle.Bundle) {
			b.MediaType = "application/vnd.dev.sigstore.bundle+json;version=0.2"
			b.VerificationMaterial.Content = &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: &protocommon.X509CertificateChain{
				Certificates: []*protocommon.X509Certificate{{RawBytes: der}}}}
		}, verify.ErrMalformed},
		{"self-signed certificate for the trusted key naming the trusted identity", func(t *testing.T, b *protobundle.Bundle) {
			b.VerificationMaterial.Content = &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: selfSigned(t, priv, who)}}
		}, verify.ErrBadSignature},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := reg.PushImage(t, fmt.Sprintf("team/app:fx35-%d", i))
			target, _ := client.Resolve(ctx, d.String())
			pb := parse(t, must(signer.Bundle(ctx, "team/app", d.DigestStr(), nil)))
			tc.material(t, pb)
			if _, err := client.AttachBundle(ctx, target, marshal(t, pb), signatureAnnotations); err != nil {
				t.Fatal(err)
			}
			for name, v := range verifiers {
				res, err := v.Verify(ctx, d.String(), verify.Request{})
				if err == nil || res == nil || res.Verified {
					t.Fatalf("%s verifier accepted a key posing as a certificate: %+v", name, res)
				}
				s := res.Signatures[0]
				if !errors.Is(s.Err(), tc.want) {
					t.Fatalf("%s verifier refused with %v, want %v", name, s.Err(), tc.want)
				}
				if s.Key != "" || s.KeyID != "" {
					t.Fatalf("%s verifier attributed the refused bundle to key %q (%q)", name, s.Key, s.KeyID)
				}
			}
		})
	}
}

// selfSigned makes a certificate for priv's key, signed by itself (no
// trusted certificate authority), that names email.
func selfSigned(t *testing.T, priv crypto.Signer, email string) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: email}, EmailAddresses: []string{email},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// logWorld is a trusted key and an untrusted one, each logging to a Rekor v1
// stand-in and to a Rekor v2 log, and a verifier that trusts both logs and
// the one key.
type logWorld struct {
	reg      *registrytest.Registry
	client   *oci.Client
	signers  map[string]*sign.Signer // "release v1", "release v2", "mallory v1", "mallory v2"
	verifier *verify.Verifier
}

func newLogWorld(t *testing.T) *logWorld {
	t.Helper()
	w := &logWorld{reg: registrytest.New(t, true), client: oci.New(), signers: map[string]*sign.Signer{}}
	rekor := rekorv1test.Start(t)
	v2log, v2url := startLog(t)
	writers := map[string]tlog.Service{"v1": {URL: rekor.URL, APIVersion: 1}, "v2": {URL: v2url, APIVersion: 2}}
	var release crypto.PublicKey
	for _, who := range []string{"release", "mallory"} {
		priv, _ := keys.Generate(keys.ECDSAP256)
		sv, _ := keys.SignerVerifier(priv)
		if who == "release" {
			release = priv.Public()
		}
		for version, svc := range writers {
			lw, err := svc.Writer(0)
			if err != nil {
				t.Fatal(err)
			}
			if w.signers[who+" "+version], err = sign.New(sv, w.client, sign.WithTransparencyLog(lw)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tr, err := tlog.TrustedRoot(tlog.LogInfo{URL: rekor.URL, PublicKey: rekor.Key.Public(), APIVersion: 1},
		tlog.LogInfo{URL: v2url, PublicKey: v2log.PublicKey(), APIVersion: 2})
	if err != nil {
		t.Fatal(err)
	}
	if w.verifier, err = verify.New(w.client, []verify.Key{{Name: "release", PublicKey: release}}, verify.WithTrustedRoot(tr)); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestAdvisoryLogEntryForAnotherSignature is cosign's GHSA-whqx-f9j3-ch6m: a
// genuine log entry (its signed entry timestamp and inclusion proof verify)
// made for some other signature, paired with the signature being verified.
// The entry must be compared with the bundle's signature, key and payload,
// whether the log is required or optional (with the log trusted), for Rekor
// v1 entries (compared field by field) and v2 entries (whose hash is rebuilt
// from the bundle) alike.
func TestAdvisoryLogEntryForAnotherSignature(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newLogWorld(t)
	other := "sha256:" + hex64("ab")

	cases := []struct {
		name string
		// entryFrom signs what the borrowed entry was made for (the signer, and
		// the digest, or "" for the image's own) and bundle signs the image.
		entryFrom, entryDigest, bundle string
		want                           error // nil: verifies
	}{
		{"v1: genuine entry", "", "", "release v1", nil},
		{"v1: entry for another signature of the same statement", "release v1", "", "release v1", verify.ErrTransparencyLog},
		{"v1: entry for the same key's signature of another image", "release v1", other, "release v1", verify.ErrTransparencyLog},
		{"v1: entry for another key's signature of the same statement", "mallory v1", "", "release v1", verify.ErrTransparencyLog},
		{"v2: genuine entry", "", "", "release v2", nil},
		{"v2: entry for another signature of the same statement", "release v2", "", "release v2", verify.ErrTransparencyLog},
		{"v2: entry for the same key's signature of another image", "release v2", other, "release v2", verify.ErrTransparencyLog},
		{"v2: entry for another key's signature of the same statement", "mallory v2", "", "release v2", verify.ErrTransparencyLog},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := w.reg.PushImage(t, fmt.Sprintf("team/app:whqx-%d", i))
			target, _ := w.client.Resolve(ctx, d.String())
			b := parse(t, must(w.signers[tc.bundle].Bundle(ctx, "team/app", d.DigestStr(), nil)))
			if tc.entryFrom != "" {
				digest := tc.entryDigest
				if digest == "" {
					digest = d.DigestStr()
				}
				donor := parse(t, must(w.signers[tc.entryFrom].Bundle(ctx, "team/app", digest, nil)))
				b.VerificationMaterial.TlogEntries = donor.VerificationMaterial.TlogEntries
			}
			if _, err := w.client.AttachBundle(ctx, target, marshal(t, b), signatureAnnotations); err != nil {
				t.Fatal(err)
			}
			for _, mode := range []verify.TlogMode{verify.TlogRequired, verify.TlogOptional} {
				res, err := w.verifier.Verify(ctx, d.String(), verify.Request{TransparencyLog: mode})
				if tc.want == nil {
					if err != nil || !res.Signatures[0].Log[0].Verified {
						t.Fatalf("%s: want verified with its log entry, got %v", mode, err)
					}
					continue
				}
				if !errors.Is(err, tc.want) {
					t.Fatalf("%s: got %v, want %v", mode, err, tc.want)
				}
				for _, l := range res.Signatures[0].Log {
					if l.Verified {
						t.Fatalf("%s: borrowed entry %d reported verified", mode, l.Index)
					}
				}
			}
		})
	}
}

// TestAdvisoryDuplicateLogEntries is sigstore-go's GHSA-9vcr-p3rj-q5q6: a
// threshold of N transparency logs met by one log, its entry (or entries)
// counted once per copy. Signet asks sigstore-go for one log
// (WithTransparencyLog(1)) and never more, so no threshold above one exists
// to be met falsely; what it does count, the trusted entries a bundle
// carries (tlogPlan), only decides whether the log is checked. The test pins
// that two copies of one entry are not two entries: such a bundle is refused
// (sigstore-go rejects duplicates outright), in both log modes, not accepted
// as logged twice.
func TestAdvisoryDuplicateLogEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newLogWorld(t)
	for i, who := range []string{"release v1", "release v2"} {
		t.Run(who, func(t *testing.T) {
			d := w.reg.PushImage(t, fmt.Sprintf("team/app:9vcr-%d", i))
			target, _ := w.client.Resolve(ctx, d.String())
			b := parse(t, must(w.signers[who].Bundle(ctx, "team/app", d.DigestStr(), nil)))
			e := b.VerificationMaterial.TlogEntries
			b.VerificationMaterial.TlogEntries = append(e, e[0])
			if _, err := w.client.AttachBundle(ctx, target, marshal(t, b), signatureAnnotations); err != nil {
				t.Fatal(err)
			}
			for _, mode := range []verify.TlogMode{verify.TlogRequired, verify.TlogOptional} {
				res, err := w.verifier.Verify(ctx, d.String(), verify.Request{TransparencyLog: mode})
				if !errors.Is(err, verify.ErrTransparencyLog) || res.Verified {
					t.Fatalf("%s: two copies of one entry: got %v, want %v", mode, err, verify.ErrTransparencyLog)
				}
			}
		})
	}
}
