package notary

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/notaryproject/notation-core-go/signature"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/signer"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-dev/signet/internal/notarytest"
	"github.com/signet-dev/signet/internal/sigstoretest"
)

type pki struct {
	ca    *x509.Certificate
	leaf  *x509.Certificate
	key   *ecdsa.PrivateKey
	chain []*x509.Certificate
}

// newPKI makes a CA and a code-signing leaf with the given subject CN.
func newPKI(t *testing.T, caName, leafName string) *pki {
	p := notarytest.New(t, caName, leafName)
	return &pki{ca: p.CA, leaf: p.Leaf, key: p.Key, chain: p.Chain}
}

var target = ocispec.Descriptor{
	MediaType: ocispec.MediaTypeImageManifest,
	Digest:    digest.FromString("manifest"),
	Size:      123,
}

func mustVerifier(t *testing.T, ps ...Principal) *Verifier {
	t.Helper()
	v, err := NewVerifier(ps)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSignVerify(t *testing.T) {
	p := newPKI(t, "Acme CA", "Security")
	for _, env := range []string{"jws", "cose"} {
		t.Run(env, func(t *testing.T) {
			sig, mt, err := Sign(context.Background(), p.key, p.chain, target, SignOptions{Envelope: env, Expiry: time.Hour, UserMetadata: map[string]string{"team": "a"}})
			if err != nil {
				t.Fatal(err)
			}
			v := mustVerifier(t, Principal{Name: "security", Certificates: []*x509.Certificate{p.ca}, Subject: "CN=Security,O=Acme,ST=WA,C=US"})
			out, err := v.Verify(context.Background(), target, "", sig, mt)
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Principals) != 1 || out.Principals[0] != "security" || out.Envelope != env || out.Subject != p.leaf.Subject.String() || !out.Timestamp.IsZero() {
				t.Errorf("outcome %+v", out)
			}
			info, err := Describe(sig, mt)
			if err != nil {
				t.Fatal(err)
			}
			if info.Target.Digest != target.Digest || info.Target.Annotations["team"] != "a" || info.Expiry.IsZero() || info.HasTimestamp {
				t.Errorf("info %+v", info)
			}
		})
	}
}

// TestInteropNotationSigns: an envelope notation-go's own signer made verifies.
func TestInteropNotationSigns(t *testing.T) {
	p := newPKI(t, "Acme CA", "Security")
	s, err := signer.NewGenericSigner(p.key, p.chain)
	if err != nil {
		t.Fatal(err)
	}
	for _, mt := range []string{MediaTypeJWS, MediaTypeCOSE} {
		sig, _, err := s.Sign(context.Background(), target, notation.SignerSignOptions{SignatureMediaType: mt})
		if err != nil {
			t.Fatal(err)
		}
		v := mustVerifier(t, Principal{Name: "security", Certificates: []*x509.Certificate{p.ca}})
		if _, err := v.Verify(context.Background(), target, "", sig, mt); err != nil {
			t.Errorf("%s: %v", mt, err)
		}
	}
}

// TestInteropNotationVerifies: notation-go's verifier, with a trust policy
// written here (not by trustPolicy), accepts what Sign makes.
func TestInteropNotationVerifies(t *testing.T) {
	p := newPKI(t, "Acme CA", "Security")
	doc := &trustpolicy.Document{Version: "1.0", TrustPolicies: []trustpolicy.TrustPolicy{{
		Name: "wabbit-networks-images", RegistryScopes: []string{"*"},
		SignatureVerification: trustpolicy.SignatureVerification{VerificationLevel: "strict"},
		TrustStores:           []string{"ca:acme"}, TrustedIdentities: []string{"x509.subject: C=US, ST=WA, O=Acme, CN=Security"},
	}}}
	nv, err := verifier.New(doc, caStore{"acme": {p.ca}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"jws", "cose"} {
		sig, mt, err := Sign(context.Background(), p.key, p.chain, target, SignOptions{Envelope: env})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nv.Verify(context.Background(), target, sig, notation.VerifierVerifyOptions{ArtifactReference: "registry.example/app@" + target.Digest.String(), SignatureMediaType: mt}); err != nil {
			t.Errorf("%s: %v", env, err)
		}
	}
}

type caStore map[string][]*x509.Certificate

func (s caStore) GetCertificates(_ context.Context, typ truststore.Type, name string) ([]*x509.Certificate, error) {
	if typ != "ca" {
		return nil, errors.New("no such store")
	}
	return s[name], nil
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	p := newPKI(t, "Acme CA", "Security")
	other := newPKI(t, "Other CA", "Mallory")
	ca := []*x509.Certificate{p.ca}
	good, mt, err := Sign(ctx, p.key, p.chain, target, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expiring := signWith(t, p, func(r *signature.SignRequest) {
		r.SigningTime = time.Now().Add(-time.Hour)
		r.Expiry = time.Now().Add(-time.Minute)
	})
	pluginSig := signWith(t, p, func(r *signature.SignRequest) {
		r.ExtendedSignedAttributes = []signature.Attribute{{Key: pluginAttribute, Critical: true, Value: "com.example.plugin"}}
	})
	tests := []struct {
		name   string
		p      Principal
		target ocispec.Descriptor
		sig    []byte
		want   string
	}{
		{"wrong CA", Principal{Name: "x", Certificates: []*x509.Certificate{other.ca}}, target, good, `authenticity: the certificate chain does not lead to a certificate in its trust store (found leaf "CN=Security,O=Acme,ST=WA,C=US", issuer "CN=Acme CA,O=Acme")`},
		{"wrong subject", Principal{Name: "x", Certificates: ca, Subject: "CN=Release,O=Acme,ST=WA,C=US"}, target, good, `identity: the signing certificate's subject "CN=Security,O=Acme,ST=WA,C=US" is not the trusted identity "CN=Release,O=Acme,ST=WA,C=US"`},
		{"expired", Principal{Name: "x", Certificates: ca}, target, expiring, "expiry: the signature expired at"},
		{"other digest", Principal{Name: "x", Certificates: ca}, withDigest(target, digest.FromString("other")), good, "the signature is for another artifact"},
		{"other size", Principal{Name: "x", Certificates: ca}, withSize(target, 124), good, "the signature is for another artifact"},
		{"other media type", Principal{Name: "x", Certificates: ca}, withMediaType(target, ocispec.MediaTypeImageIndex), good, "the signature is for another artifact"},
		{"tampered payload", Principal{Name: "x", Certificates: ca}, target, tamper(t, good), "integrity: the envelope's signature does not match its content"},
		{"plugin", Principal{Name: "x", Certificates: ca}, target, pluginSig, `the signature requires the Notation verification plugin "com.example.plugin", and Signet runs no plugins`},
		{"signing authority store", Principal{Name: "x", Certificates: ca, SigningAuthority: true}, target, good, "authenticity: the signature uses signing scheme notary.x509, but the principal's trust store is a signing authority store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := mustVerifier(t, tt.p)
			out, err := v.Verify(ctx, tt.target, "registry.example/app:1", tt.sig, mt)
			if !errors.Is(err, ErrNotVerified) || !strings.Contains(err.Error(), "\nx: "+tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if out != nil && len(out.Principals) > 0 {
				t.Errorf("principals %v", out.Principals)
			}
		})
	}
}

func TestTwoPrincipals(t *testing.T) {
	p := newPKI(t, "Acme CA", "Security")
	sig, mt, err := Sign(context.Background(), p.key, p.chain, target, SignOptions{Envelope: "cose"})
	if err != nil {
		t.Fatal(err)
	}
	v := mustVerifier(t,
		Principal{Name: "security", Certificates: []*x509.Certificate{p.ca}},
		Principal{Name: "other", Certificates: []*x509.Certificate{newPKI(t, "Other", "x").ca}},
		Principal{Name: "acme-security", Certificates: []*x509.Certificate{p.ca}, Subject: "C=US,ST=WA,O=Acme"},
	)
	out, err := v.Verify(context.Background(), target, "", sig, mt)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(out.Principals, ",") != "security,acme-security" {
		t.Errorf("principals %v", out.Principals)
	}
}

func TestSignRefusesForeignKey(t *testing.T) {
	p := newPKI(t, "Acme CA", "Security")
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, _, err := Sign(context.Background(), other, p.chain, target, SignOptions{})
	if err == nil || !strings.Contains(err.Error(), "is not the key of the chain's first certificate") {
		t.Fatalf("got %v", err)
	}
	if _, _, err := Sign(context.Background(), p.key, p.chain, target, SignOptions{UserMetadata: map[string]string{"io.cncf.notary.x": "y"}}); err == nil {
		t.Fatal("reserved metadata key accepted")
	}
}

func TestNewVerifierRefuses(t *testing.T) {
	p := newPKI(t, "Acme CA", "Security")
	for _, pr := range []Principal{
		{Name: "none"},
		{Name: "rev", Certificates: []*x509.Certificate{p.ca}, Revocation: "maybe"},
		{Name: "ts", Certificates: []*x509.Certificate{p.ca}, VerifyTimestamp: "never"},
	} {
		if _, err := NewVerifier([]Principal{pr}); err == nil || !strings.Contains(err.Error(), "principal "+pr.Name) {
			t.Errorf("%s: got %v", pr.Name, err)
		}
	}
}

// TestTrustStoreCertificatesAsNotation: the in-memory trust store stands
// in for Notation's, so it takes only what Notation's takes: CA or
// self-signed signing certificates, and root certificates as TSA roots.
// A CA-issued leaf or an intermediate given as one would make Signet
// trust what notation-go, given the same certificates, refuses.
func TestTrustStoreCertificatesAsNotation(t *testing.T) {
	p := newPKI(t, "Acme CA", "Security")
	now := time.Now()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	selfSigned := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "pinned", Organization: []string{"Acme"}, Province: []string{"WA"}, Country: []string{"US"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	pinned := notarytest.Certificate(t, selfSigned, selfSigned, key.Public(), key)
	_, chain := longChain(t, 3)
	intermediate := chain[1]
	for _, tt := range []struct {
		name string
		p    Principal
		want string // empty: accepted
	}{
		{"CA", Principal{Certificates: []*x509.Certificate{p.ca}}, ""},
		{"self-signed signing certificate", Principal{Certificates: []*x509.Certificate{pinned}}, ""},
		{"intermediate CA", Principal{Certificates: []*x509.Certificate{intermediate}}, ""},
		{"CA-issued leaf", Principal{Certificates: []*x509.Certificate{p.ca, p.leaf}}, `trust store certificate "CN=Security,O=Acme,ST=WA,C=US" is neither a CA certificate nor a self-signed signing certificate`},
		{"CA-issued leaf, signing authority", Principal{Certificates: []*x509.Certificate{p.leaf}, SigningAuthority: true}, `is neither a CA certificate`},
		{"root TSA", Principal{Certificates: []*x509.Certificate{p.ca}, TSA: []*x509.Certificate{p.ca}}, ""},
		{"intermediate TSA", Principal{Certificates: []*x509.Certificate{p.ca}, TSA: []*x509.Certificate{intermediate}}, `TSA root "CN=ca 2" is not a root (self-signed) certificate`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Name = "x"
			_, err := NewVerifier([]Principal{tt.p})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestThumbprintAnnotation(t *testing.T) {
	p := newPKI(t, "Acme CA", "Security")
	k, v := ThumbprintAnnotation(p.chain)
	var prints []string
	if err := json.Unmarshal([]byte(v), &prints); err != nil || k != "io.cncf.notary.x509chain.thumbprint#S256" || len(prints) != 2 || len(prints[0]) != 64 {
		t.Errorf("%s=%s", k, v)
	}
}

func withDigest(d ocispec.Descriptor, g digest.Digest) ocispec.Descriptor { d.Digest = g; return d }
func withSize(d ocispec.Descriptor, n int64) ocispec.Descriptor           { d.Size = n; return d }
func withMediaType(d ocispec.Descriptor, m string) ocispec.Descriptor     { d.MediaType = m; return d }

// tamper rewrites the JWS payload to name another digest, keeping the signature.
func tamper(t *testing.T, sig []byte) []byte {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(sig, &env); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(string(raw), target.Digest.Encoded(), digest.FromString("forged").Encoded(), 1)
	env["payload"] = base64.RawURLEncoding.EncodeToString([]byte(forged))
	out, _ := json.Marshal(env)
	return out
}

func signWith(t *testing.T, p *pki, edit func(*signature.SignRequest)) []byte {
	t.Helper()
	s, err := newCryptoSigner(p.key, p.chain)
	if err != nil {
		t.Fatal(err)
	}
	content, _ := signedPayload(target, nil)
	env, _ := signature.NewEnvelope(MediaTypeJWS)
	req := &signature.SignRequest{
		Payload: signature.Payload{ContentType: payloadMediaType, Content: content}, Signer: s,
		SigningTime: time.Now(), SigningScheme: signature.SigningSchemeX509,
	}
	edit(req)
	sig, err := env.Sign(req)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// TestSignTimestamped: Sign asks a TSA (the test one) for an RFC 3161
// timestamp; Verify trusts its time only with that TSA's root, and refuses
// the signature when the principal's TSA roots are another's.
func TestSignTimestamped(t *testing.T) {
	ctx := context.Background()
	p := newPKI(t, "Acme CA", "Security")
	tsa, other := sigstoretest.Start(t), sigstoretest.Start(t)
	roots := x509.NewCertPool()
	roots.AddCert(tsa.TSARoot())
	for _, env := range []string{"jws", "cose"} {
		t.Run(env, func(t *testing.T) {
			sig, mt, err := Sign(ctx, p.key, p.chain, target, SignOptions{Envelope: env, TSAURL: tsa.TSAURL, TSARoots: roots})
			if err != nil {
				t.Fatal(err)
			}
			info, err := Describe(sig, mt)
			if err != nil || !info.HasTimestamp || info.Timestamp.IsZero() || info.TimestampAuthority == "" {
				t.Fatalf("no timestamp: %+v %v", info, err)
			}
			if d := info.Timestamp.Sub(info.SigningTime); d < -time.Minute || d > time.Minute {
				t.Fatalf("described timestamp %v, signing time %v", info.Timestamp, info.SigningTime)
			}
			ca := []*x509.Certificate{p.ca}
			v := mustVerifier(t, Principal{Name: "p", Certificates: ca, TSA: []*x509.Certificate{tsa.TSARoot()}, Revocation: "skip"})
			out, err := v.Verify(ctx, target, "", sig, mt)
			if err != nil {
				t.Fatal(err)
			}
			if out.Timestamp.IsZero() || out.Timestamp.Before(out.SigningTime.Add(-time.Minute)) {
				t.Errorf("timestamp %v, signing time %v", out.Timestamp, out.SigningTime)
			}
			v = mustVerifier(t, Principal{Name: "p", Certificates: ca, TSA: []*x509.Certificate{other.TSARoot()}, Revocation: "skip"})
			if _, err := v.Verify(ctx, target, "", sig, mt); err == nil || !strings.Contains(err.Error(), "\np: timestamp: the RFC 3161 timestamp does not verify against the principal's TSA roots") {
				t.Fatalf("untrusted TSA: got %v", err)
			}
			v = mustVerifier(t, Principal{Name: "p", Certificates: ca, TSA: []*x509.Certificate{other.TSARoot()}, VerifyTimestamp: "afterCertExpiry", Revocation: "skip"})
			if out, err := v.Verify(ctx, target, "", sig, mt); err != nil || !out.Timestamp.IsZero() {
				t.Fatalf("afterCertExpiry, untrusted TSA: want accepted without a trusted time, got %+v %v", out, err)
			}
		})
	}
}

// TestSigningAuthority: a signature under scheme notary.x509.signingAuthority
// verifies for a signingAuthority store holding the signing certificate, and
// not for a ca store (Notation ties the scheme to the store type).
func TestSigningAuthority(t *testing.T) {
	p := newPKI(t, "Acme CA", "Security")
	sig := signWith(t, p, func(r *signature.SignRequest) { r.SigningScheme = signature.SigningSchemeX509SigningAuthority })
	v := mustVerifier(t,
		Principal{Name: "authority", Certificates: []*x509.Certificate{p.ca}, SigningAuthority: true},
		Principal{Name: "ca", Certificates: []*x509.Certificate{p.ca}},
	)
	out, err := v.Verify(context.Background(), target, "", sig, MediaTypeJWS)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(out.Principals, ",") != "authority" || out.SigningScheme != "notary.x509.signingAuthority" {
		t.Errorf("outcome %+v", out)
	}
	v = mustVerifier(t, Principal{Name: "ca", Certificates: []*x509.Certificate{p.ca}})
	if _, err := v.Verify(context.Background(), target, "", sig, MediaTypeJWS); err == nil || !strings.Contains(err.Error(), "ca: authenticity: the signature uses signing scheme notary.x509.signingAuthority, but the principal's trust store is a certificate authority (ca) store") {
		t.Fatalf("got %v", err)
	}
}

// longChain is a signing key and a valid chain of n certificates: leaf,
// n-2 intermediates, root.
func longChain(t *testing.T, n int) (*ecdsa.PrivateKey, []*x509.Certificate) {
	t.Helper()
	now := time.Now()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ca := func(i int) *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(int64(i)), Subject: pkix.Name{CommonName: fmt.Sprint("ca ", i)},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	}
	key := newKey()
	parent := notarytest.Certificate(t, ca(1), ca(1), key.Public(), key)
	chain := []*x509.Certificate{parent}
	for i := 2; i < n; i++ {
		k := newKey()
		parent = notarytest.Certificate(t, ca(i), parent, k.Public(), key)
		chain, key = append([]*x509.Certificate{parent}, chain...), k
	}
	leafKey := newKey()
	leaf := notarytest.Certificate(t, &x509.Certificate{SerialNumber: big.NewInt(int64(n)),
		Subject:   pkix.Name{CommonName: "leaf", Organization: []string{"Acme"}, Province: []string{"WA"}, Country: []string{"US"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}, parent, leafKey.Public(), key)
	return leafKey, append([]*x509.Certificate{leaf}, chain...)
}

// TestLongChainRefused: attack — a registry writer's envelope with a
// long, valid chain to a root nobody trusts made every decision check
// each link once per parse and once per principal (seconds of CPU for a
// few thousand certificates, per signature): chains over maxChain are
// refused before their certificates are read, in both envelopes.
func TestLongChainRefused(t *testing.T) {
	other := newPKI(t, "Acme CA", "Security")
	for _, tt := range []struct {
		n       int
		refused bool
	}{{maxChain, false}, {maxChain + 1, true}} {
		key, chain := longChain(t, tt.n)
		for _, env := range []string{"jws", "cose"} {
			t.Run(fmt.Sprint(env, " ", tt.n), func(t *testing.T) {
				// notation-go's signer: Sign refuses to make what Signet refuses.
				mt := map[string]string{"jws": MediaTypeJWS, "cose": MediaTypeCOSE}[env]
				s, err := signer.NewGenericSigner(key, chain)
				if err != nil {
					t.Fatal(err)
				}
				sig, _, err := s.Sign(context.Background(), target, notation.SignerSignOptions{SignatureMediaType: mt})
				if err != nil {
					t.Fatal(err)
				}
				if got := chainLength(sig, mt); got != tt.n {
					t.Fatalf("counted %d certificates, want %d", got, tt.n)
				}
				_, err = Describe(sig, mt)
				want := fmt.Sprintf("its certificate chain has %d certificates, more than the %d Signet reads", tt.n, maxChain)
				switch {
				case tt.refused && (!errors.Is(err, ErrEnvelope) || !strings.Contains(err.Error(), want)):
					t.Fatalf("describe: got %v, want %q", err, want)
				case !tt.refused && err != nil:
					t.Fatalf("describe: %v", err)
				}
				_, err = mustVerifier(t, Principal{Name: "p", Certificates: []*x509.Certificate{other.ca}}).Verify(context.Background(), target, "", sig, mt)
				if !errors.Is(err, ErrNotVerified) || tt.refused != strings.Contains(err.Error(), want) {
					t.Fatalf("verify: got %v", err)
				}
			})
		}
	}
}
