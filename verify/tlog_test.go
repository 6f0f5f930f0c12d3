package verify_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/internal/rekorv1test"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/tlog/logserver"
	"github.com/signet-dev/signet/verify"
)

// logFixture is an embedded log served over HTTP, a signer that logs to it,
// and a verifier that trusts it.
type logFixture struct {
	log      *logserver.Log
	url      string
	signer   *sign.Signer
	verifier *verify.Verifier
	client   *oci.Client
	reg      *registrytest.Registry
	sv       signature.SignerVerifier
}

func startLog(t *testing.T) (*logserver.Log, string) {
	t.Helper()
	l, err := logserver.Open(context.Background(), t.TempDir(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(func() { srv.Close(); l.Close(context.Background()) })
	return l, srv.URL
}

func newLogFixture(t *testing.T) *logFixture {
	t.Helper()
	f := &logFixture{reg: registrytest.New(t, true), client: oci.New()}
	f.log, f.url = startLog(t)
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	sv, _ := keys.SignerVerifier(priv)
	w, err := tlog.Service{URL: f.url, APIVersion: 2}.Writer(0)
	if err != nil {
		t.Fatal(err)
	}
	if f.signer, err = sign.New(sv, f.client, sign.WithTransparencyLog(w)); err != nil {
		t.Fatal(err)
	}
	tr, err := tlog.TrustedRoot(tlog.LogInfo{URL: f.url, PublicKey: f.log.PublicKey(), APIVersion: 2})
	if err != nil {
		t.Fatal(err)
	}
	if f.verifier, err = verify.New(f.client, []verify.Key{{Name: "release", PublicKey: priv.Public()}}, verify.WithTrustedRoot(tr)); err != nil {
		t.Fatal(err)
	}
	f.sv = sv
	return f
}

func parse(t *testing.T, b []byte) *protobundle.Bundle {
	t.Helper()
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(b, &pb); err != nil {
		t.Fatal(err)
	}
	return &pb
}

func marshal(t *testing.T, pb *protobundle.Bundle) []byte {
	t.Helper()
	b, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTransparencyLogOffline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newLogFixture(t)
	ann := map[string]string{oci.AnnotationBundleContent: "dsse-envelope", oci.AnnotationPredicateType: oci.CosignSignPredicateType}

	// A second log with the same origin but another key: untrusted.
	_, rogueURL := startLog(t)
	rw, _ := tlog.Service{URL: rogueURL, APIVersion: 2}.Writer(0)

	cases := []struct {
		name   string
		bundle func(t *testing.T, digest string) []byte
		mode   verify.TlogMode
		want   error // nil: verifies
	}{
		{"logged and verified offline", func(t *testing.T, d string) []byte {
			b, _ := f.signer.Bundle(ctx, "app", d, nil)
			return b
		}, verify.TlogRequired, nil},
		{"inclusion proof for another entry", func(t *testing.T, d string) []byte {
			b := parse(t, must(f.signer.Bundle(ctx, "app", d, nil)))
			other := parse(t, must(f.signer.Bundle(ctx, "app", "sha256:"+hex64("ab"), nil)))
			b.VerificationMaterial.TlogEntries[0].InclusionProof = other.VerificationMaterial.TlogEntries[0].InclusionProof
			b.VerificationMaterial.TlogEntries[0].LogIndex = other.VerificationMaterial.TlogEntries[0].LogIndex
			return marshal(t, b)
		}, verify.TlogRequired, verify.ErrTransparencyLog},
		{"tampered checkpoint", func(t *testing.T, d string) []byte {
			b := parse(t, must(f.signer.Bundle(ctx, "app", d, nil)))
			cp := b.VerificationMaterial.TlogEntries[0].InclusionProof.Checkpoint
			cp.Envelope = tamperLine(cp.Envelope, 1)
			return marshal(t, b)
		}, verify.TlogRequired, verify.ErrTransparencyLog},
		{"checkpoint signed by an untrusted key", func(t *testing.T, d string) []byte {
			rs, err := sign.New(f.sv, f.client, sign.WithTransparencyLog(rw))
			if err != nil {
				t.Fatal(err)
			}
			b := parse(t, must(rs.Bundle(ctx, "app", d, nil)))
			// Claim the trusted log made the entry.
			b.VerificationMaterial.TlogEntries[0].LogId.KeyId = f.log.LogID()
			return marshal(t, b)
		}, verify.TlogRequired, verify.ErrTransparencyLog},
		{"log body does not match the bundle's signature", func(t *testing.T, d string) []byte {
			first := parse(t, must(f.signer.Bundle(ctx, "app", d, nil)))
			second := parse(t, must(f.signer.Bundle(ctx, "app", d, nil))) // ECDSA: a different signature
			second.VerificationMaterial.TlogEntries = first.VerificationMaterial.TlogEntries
			return marshal(t, second)
		}, verify.TlogRequired, verify.ErrTransparencyLog},
		{"required but not logged", func(t *testing.T, d string) []byte {
			b := parse(t, must(f.signer.Bundle(ctx, "app", d, nil)))
			b.VerificationMaterial.TlogEntries = nil
			return marshal(t, b)
		}, verify.TlogRequired, verify.ErrTransparencyLog},
		{"optional and not logged", func(t *testing.T, d string) []byte {
			b := parse(t, must(f.signer.Bundle(ctx, "app", d, nil)))
			b.VerificationMaterial.TlogEntries = nil
			return marshal(t, b)
		}, verify.TlogOptional, nil},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := f.reg.PushImage(t, "app:tlog"+string(rune('a'+i)))
			target, err := f.client.Resolve(ctx, d.String())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.client.AttachBundle(ctx, target, tc.bundle(t, d.DigestStr()), ann); err != nil {
				t.Fatal(err)
			}
			res, err := f.verifier.Verify(ctx, d.String(), verify.Request{TransparencyLog: tc.mode})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("want verified, got %v", err)
				}
				s := res.Signatures[0]
				if tc.mode == verify.TlogRequired && (len(s.Log) != 1 || !s.Log[0].Verified || s.Log[0].URL != f.url || s.Log[0].Kind != "hashedrekord/0.0.2") {
					t.Fatalf("log entries %+v", s.Log)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if errors.Is(err, verify.ErrBadSignature) {
				t.Fatalf("a log failure was reported as a bad signature: %v", err)
			}
			if res == nil || res.Verified {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func hex64(pair string) string {
	s := ""
	for range 32 {
		s += pair
	}
	return s
}

// tamperLine flips one character of line n of a signed note.
func tamperLine(note string, n int) string {
	b := []byte(note)
	line := 0
	for i := range b {
		if b[i] == '\n' {
			line++
			continue
		}
		if line == n {
			if b[i] == '1' {
				b[i] = '2'
			} else {
				b[i] = '1'
			}
			return string(b)
		}
	}
	return note
}

// TestRekorV1 logs through sigstore-go's Rekor v1 client to a Rekor v1
// stand-in (internal/rekorv1test) and verifies the signed entry timestamp
// and inclusion proof offline.
func TestRekorV1(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rekor := rekorv1test.Start(t)
	reg := registrytest.New(t, true)
	client := oci.New()
	v, err := tlog.DetectAPIVersion(ctx, http.DefaultClient, rekor.URL)
	if err != nil || v != 1 {
		t.Fatalf("detected API version %d, %v", v, err)
	}
	w, _ := tlog.Service{URL: rekor.URL, APIVersion: 1}.Writer(0)
	priv, _ := keys.Generate(keys.ECDSAP256)
	sv, _ := keys.SignerVerifier(priv)
	s, err := sign.New(sv, client, sign.WithTransparencyLog(w))
	if err != nil {
		t.Fatal(err)
	}
	d := reg.PushImage(t, "team/app:v1")
	res, err := s.SignImage(ctx, d.String(), sign.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Signed[0].Log) != 1 || res.Signed[0].Log[0].Kind != "dsse/0.0.1" {
		t.Fatalf("log entries %+v", res.Signed[0].Log)
	}
	tr, err := tlog.TrustedRoot(tlog.LogInfo{URL: rekor.URL, PublicKey: rekor.Key.Public(), APIVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	ver, _ := verify.New(client, []verify.Key{{Name: "k", PublicKey: priv.Public()}}, verify.WithTrustedRoot(tr))
	vres, err := ver.Verify(ctx, d.String(), verify.Request{TransparencyLog: verify.TlogRequired})
	if err != nil {
		t.Fatal(err)
	}
	if l := vres.Signatures[0].Log; len(l) != 1 || !l[0].Verified {
		t.Fatalf("log entry not verified: %+v", l)
	}
	// A log key the verifier does not trust: the entry does not count.
	other, _ := keys.Generate(keys.ECDSAP256)
	otherTR, _ := tlog.TrustedRoot(tlog.LogInfo{URL: rekor.URL, PublicKey: other.Public(), APIVersion: 1})
	ver2, _ := verify.New(client, []verify.Key{{Name: "k", PublicKey: priv.Public()}}, verify.WithTrustedRoot(otherTR))
	if _, err := ver2.Verify(ctx, d.String(), verify.Request{TransparencyLog: verify.TlogRequired}); !errors.Is(err, verify.ErrTransparencyLog) {
		t.Fatalf("untrusted v1 log: got %v", err)
	}
}

// TestRekorV1LegacyLayout signs in cosign v2's legacy layout with a Rekor v1
// log (the stand-in): the signature is logged as a hashedrekord and its
// signed entry timestamp travels in the layer's bundle annotation, which a
// required log check then verifies. A Rekor v2 log gives no SET for that
// annotation: signing refuses rather than attach an unlogged signature.
func TestRekorV1LegacyLayout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rekor := rekorv1test.Start(t)
	reg := registrytest.New(t, false)
	client := oci.New()
	priv, _ := keys.Generate(keys.ECDSAP256)
	sv, _ := keys.SignerVerifier(priv)
	w, _ := tlog.Service{URL: rekor.URL, APIVersion: 1}.Writer(0)
	s, err := sign.New(sv, client, sign.WithTransparencyLog(w))
	if err != nil {
		t.Fatal(err)
	}
	d := reg.PushImage(t, "team/app:v1")
	res, err := s.SignImage(ctx, d.String(), sign.Request{Layout: sign.LayoutLegacy})
	if err != nil {
		t.Fatal(err)
	}
	if l := res.Signed[0].Log; len(l) != 1 || l[0].Kind != "hashedrekord/0.0.1" {
		t.Fatalf("log entries %+v, want one hashedrekord/0.0.1", l)
	}
	tr, _ := tlog.TrustedRoot(tlog.LogInfo{URL: rekor.URL, PublicKey: rekor.Key.Public(), APIVersion: 1})
	ver, _ := verify.New(client, []verify.Key{{Name: "k", PublicKey: priv.Public()}}, verify.WithTrustedRoot(tr))
	vres, err := ver.Verify(ctx, d.String(), verify.Request{TransparencyLog: verify.TlogRequired})
	if err != nil {
		t.Fatal(err)
	}
	if sg := vres.Signatures[0]; sg.Layout != oci.LayoutLegacyTag || len(sg.Log) != 1 || !sg.Log[0].Verified {
		t.Fatalf("legacy signature %+v, want its log entry verified", sg)
	}

	// Both layouts: the bundle and the legacy layer are each logged.
	both, err := s.SignImage(ctx, reg.PushImage(t, "team/app:both").String(), sign.Request{Layout: sign.LayoutBoth})
	if err != nil {
		t.Fatal(err)
	}
	if l := both.Signed[0].Log; len(l) != 2 || l[0].Kind != "dsse/0.0.1" || l[1].Kind != "hashedrekord/0.0.1" {
		t.Fatalf("both layouts: log entries %+v, want the bundle's dsse/0.0.1 and the legacy hashedrekord/0.0.1", l)
	}

	// Rekor v2 (Signet's log): refused, and nothing attached.
	_, v2url := startLog(t)
	w2, _ := tlog.Service{URL: v2url, APIVersion: 2}.Writer(0)
	s2, _ := sign.New(sv, client, sign.WithTransparencyLog(w2))
	d2 := reg.PushImage(t, "team/app:v2")
	for _, layout := range []sign.Layout{sign.LayoutLegacy, sign.LayoutBoth} {
		if _, err := s2.SignImage(ctx, d2.String(), sign.Request{Layout: layout}); !errors.Is(err, sign.ErrLegacyNeedsRekorV1) {
			t.Fatalf("layout %s with a Rekor v2 log: got %v, want ErrLegacyNeedsRekorV1", layout, err)
		}
	}
	if _, err := ver.Verify(ctx, d2.String(), verify.Request{}); !errors.Is(err, verify.ErrNoSignatures) {
		t.Fatalf("after the refusal: got %v, want no signatures", err)
	}
}

// TestRekorV1LegacyLayoutEd25519 signs in the legacy layout with an Ed25519
// key and a Rekor v1 log: the hashedrekord entry needs a signed digest, so
// signing refuses, saying why, before anything is logged or attached.
func TestRekorV1LegacyLayoutEd25519(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rekor := rekorv1test.Start(t)
	reg := registrytest.New(t, false)
	client := oci.New()
	priv, _ := keys.Generate(keys.ED25519)
	sv, _ := keys.SignerVerifier(priv)
	w, _ := tlog.Service{URL: rekor.URL, APIVersion: 1}.Writer(0)
	s, err := sign.New(sv, client, sign.WithTransparencyLog(w))
	if err != nil {
		t.Fatal(err)
	}
	d := reg.PushImage(t, "team/app:v1")
	if _, err := s.SignImage(ctx, d.String(), sign.Request{Layout: sign.LayoutLegacy}); !errors.Is(err, sign.ErrLegacyLogNeedsDigest) {
		t.Fatalf("got %v, want ErrLegacyLogNeedsDigest", err)
	}
	if n := rekor.Entries.Load(); n != 0 {
		t.Fatalf("%d entries logged, want none", n)
	}
	ver, _ := verify.New(client, []verify.Key{{Name: "k", PublicKey: priv.Public()}})
	if _, err := ver.Verify(ctx, d.String(), verify.Request{}); !errors.Is(err, verify.ErrNoSignatures) {
		t.Fatalf("after the refusal: got %v, want no signatures", err)
	}
}

// TestRekorV1LegacyLayoutResignLogged signs in the legacy layout with a key
// whose signatures are deterministic (RSA PKCS#1 v1.5), first unlogged, then
// with a Rekor v1 log: the second signing reports an entry, so the layer it
// found already there must now carry it, or a required log check refuses a
// signature the signer was told is logged.
func TestRekorV1LegacyLayoutResignLogged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rekor := rekorv1test.Start(t)
	reg := registrytest.New(t, false)
	client := oci.New()
	priv, err := keys.Generate(keys.RSA4096)
	if err != nil {
		t.Fatal(err)
	}
	sv, _ := keys.SignerVerifier(priv)
	plain, _ := sign.New(sv, client)
	w, _ := tlog.Service{URL: rekor.URL, APIVersion: 1}.Writer(0)
	logged, _ := sign.New(sv, client, sign.WithTransparencyLog(w))
	d := reg.PushImage(t, "team/app:v1")
	if _, err := plain.SignImage(ctx, d.String(), sign.Request{Layout: sign.LayoutLegacy}); err != nil {
		t.Fatal(err)
	}
	res, err := logged.SignImage(ctx, d.String(), sign.Request{Layout: sign.LayoutLegacy})
	if err != nil {
		t.Fatal(err)
	}
	if l := res.Signed[0].Log; len(l) != 1 {
		t.Fatalf("signing reported log entries %+v, want one", l)
	}
	tr, _ := tlog.TrustedRoot(tlog.LogInfo{URL: rekor.URL, PublicKey: rekor.Key.Public(), APIVersion: 1})
	ver, _ := verify.New(client, []verify.Key{{Name: "k", PublicKey: priv.Public()}}, verify.WithTrustedRoot(tr))
	vres, err := ver.Verify(ctx, d.String(), verify.Request{TransparencyLog: verify.TlogRequired})
	if err != nil {
		t.Fatalf("the signature signing reported logged: %v", err)
	}
	if n := len(vres.Signatures); n != 1 {
		t.Fatalf("%d legacy signatures, want the one layer", n)
	}
}
