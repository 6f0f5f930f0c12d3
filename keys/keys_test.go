package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
)

func TestRoundTripEachType(t *testing.T) {
	t.Parallel()
	for _, typ := range Types {
		t.Run(string(typ), func(t *testing.T) {
			t.Parallel()
			priv, err := Generate(typ)
			if err != nil {
				t.Fatal(err)
			}
			pemBytes, err := EncryptPrivateKey(priv, []byte("hunter2"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(pemBytes, []byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")) {
				t.Fatalf("unexpected PEM header: %q", pemBytes[:40])
			}
			got, err := ParsePrivateKey(pemBytes, []byte("hunter2"))
			if err != nil {
				t.Fatal(err)
			}
			sv, err := SignerVerifier(got)
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte("payload")
			sig, err := sv.SignMessage(bytes.NewReader(msg))
			if err != nil {
				t.Fatal(err)
			}
			pubPEM, err := PublicKeyPEM(priv.Public())
			if err != nil {
				t.Fatal(err)
			}
			pub, err := ParsePublicKey(pubPEM)
			if err != nil {
				t.Fatal(err)
			}
			v, err := Verifier(pub)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(msg)); err != nil {
				t.Fatalf("signature by reloaded key does not verify: %v", err)
			}
			if err := v.VerifySignature(bytes.NewReader(sig), bytes.NewReader([]byte("other"))); err == nil {
				t.Fatal("signature verified over a different message")
			}
		})
	}
}

func TestWrongPasswordAndCorruptKey(t *testing.T) {
	t.Parallel()
	priv, err := Generate(ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := EncryptPrivateKey(priv, []byte("right"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePrivateKey(pemBytes, []byte("wrong")); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: got %v, want ErrWrongPassword", err)
	}
	corrupt := bytes.Replace(pemBytes, []byte("PRIVATE KEY-----\n"), []byte("PRIVATE KEY-----\nAAAA"), 1)
	for name, in := range map[string][]byte{
		"garbage":       []byte("not a key"),
		"corrupt body":  corrupt,
		"public key":    mustPEM(t, priv.Public()),
		"truncated PEM": pemBytes[:len(pemBytes)/2],
	} {
		_, err := ParsePrivateKey(in, []byte("right"))
		if !errors.Is(err, ErrMalformedKey) {
			t.Errorf("%s: got %v, want ErrMalformedKey", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "BEGIN") {
			t.Errorf("%s: error echoes key material: %v", name, err)
		}
	}
}

func mustPEM(t *testing.T, pub crypto.PublicKey) []byte {
	t.Helper()
	b, err := PublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoaderReferences(t *testing.T) {
	priv, err := Generate(ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := EncryptPrivateKey(priv, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "k.key")
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SIGNING_KEY": string(pemBytes)}
	l := Loader{
		Password: func(string) ([]byte, error) { return []byte("pw"), nil },
		Lookup:   func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	}
	ctx := context.Background()
	for _, ref := range []string{path, "env://SIGNING_KEY"} {
		if _, err := l.LoadSigner(ctx, ref); err != nil {
			t.Errorf("%s: %v", ref, err)
		}
	}
	if _, err := l.LoadSigner(ctx, "env://MISSING"); err == nil || !strings.Contains(err.Error(), "not set") {
		t.Errorf("missing env var: got %v", err)
	}
	if _, err := l.LoadSigner(ctx, "madeup://key/1"); !errors.Is(err, ErrUnknownScheme) {
		t.Errorf("unknown scheme: got %v, want ErrUnknownScheme", err)
	}
	bad := Loader{Password: func(string) ([]byte, error) { return []byte("nope"), nil }}
	if _, err := bad.LoadSigner(ctx, path); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("wrong password: got %v", err)
	}
}

// TestLoaderKMS registers a KMS provider the way sigstore's cloud providers
// do, so the KMS path is exercised without a cloud.
func TestLoaderKMS(t *testing.T) {
	priv, err := Generate(ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := SignerVerifier(priv)
	if err != nil {
		t.Fatal(err)
	}
	kms.AddProvider("testkms://", func(_ context.Context, ref string, _ crypto.Hash, _ ...signature.RPCOption) (kms.SignerVerifier, error) {
		if ref != "testkms://keys/release" {
			return nil, errors.New("no such key")
		}
		return fakeKMS{sv}, nil
	})
	l := Loader{}
	got, err := l.LoadSigner(context.Background(), "testkms://keys/release")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := got.SignMessage(bytes.NewReader([]byte("m")))
	if err != nil {
		t.Fatal(err)
	}
	v, pub, err := l.LoadVerifier(context.Background(), "testkms://keys/release")
	if err != nil || pub == nil {
		t.Fatal(err)
	}
	if err := v.VerifySignature(bytes.NewReader(sig), bytes.NewReader([]byte("m"))); err != nil {
		t.Fatal(err)
	}
	if _, err := l.LoadSigner(context.Background(), "testkms://keys/other"); err == nil || !strings.Contains(err.Error(), "no such key") {
		t.Fatalf("unknown KMS key: got %v", err)
	}
}

type fakeKMS struct{ signature.SignerVerifier }

func (fakeKMS) CreateKey(context.Context, string) (crypto.PublicKey, error) { return nil, nil }
func (f fakeKMS) CryptoSigner(context.Context, func(error)) (crypto.Signer, crypto.SignerOpts, error) {
	return nil, nil, errors.New("unsupported")
}
func (fakeKMS) SupportedAlgorithms() []string { return nil }
func (fakeKMS) DefaultAlgorithm() string      { return "" }

func FuzzParsePrivateKey(f *testing.F) {
	f.Add(mustRead(f, "testdata/cosign.key"), []byte("cosign-test"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), []byte(""))
	f.Fuzz(func(t *testing.T, data, pw []byte) {
		k, err := ParsePrivateKey(data, pw)
		if err == nil && k == nil {
			t.Fatal("nil key without error")
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParsePublicKey(data)
		if err == nil && k == nil {
			t.Fatal("nil key without error")
		}
	})
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestCosignKeyPairLoads loads testdata/cosign.key and cosign.pub, written by
// `cosign generate-key-pair` v3.1.3 with COSIGN_PASSWORD=cosign-test.
func TestCosignKeyPairLoads(t *testing.T) {
	t.Parallel()
	priv, err := ParsePrivateKey(mustRead(t, "testdata/cosign.key"), []byte("cosign-test"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(mustRead(t, "testdata/cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ID(priv.Public())
	b, _ := ID(pub)
	if a != b {
		t.Fatalf("private and public key do not match: %s vs %s", a, b)
	}
	if _, err := ParsePrivateKey(mustRead(t, "testdata/cosign.key"), []byte("wrong")); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: got %v", err)
	}
}

func TestWriteKeyPair(t *testing.T) {
	t.Parallel()
	priv, err := Generate(ED25519)
	if err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(t.TempDir(), "release")
	keyPath, pubPath, err := WriteKeyPair(prefix, priv, []byte("pw"), false)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v, want 0600", st.Mode().Perm())
	}
	if _, err := ParsePublicKey(mustRead(t, pubPath)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := WriteKeyPair(prefix, priv, []byte("pw"), false); !errors.Is(err, ErrExists) {
		t.Fatalf("overwrite without force: got %v", err)
	}
	if _, _, err := WriteKeyPair(prefix, priv, []byte("pw"), true); err != nil {
		t.Fatalf("overwrite with force: %v", err)
	}
}

// TestParsePublicKeySaysWhatToGive: the files people give by mistake are
// refused with a sentence saying what to give, not the parser's words.
func TestParsePublicKeySaysWhatToGive(t *testing.T) {
	t.Parallel()
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(x.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	x25519 := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	for _, tc := range []struct {
		name, data string
		want       error
		says       string
	}{
		{"the private key", string(mustRead(t, "testdata/cosign.key")), ErrMalformedKey, "this is a private key (ENCRYPTED SIGSTORE PRIVATE KEY); give its public key instead"},
		{"not PEM", "junk\n", ErrMalformedKey, "not a PEM file"},
		{"another PEM type", "-----BEGIN NOTHING-----\nAAAA\n-----END NOTHING-----\n", ErrMalformedKey, `a PEM block of type "NOTHING" that is not a public key`},
		{"an X25519 key", x25519, ErrUnsupportedKey, "an ECDH (X25519) key, which cannot sign (want ECDSA, Ed25519 or RSA)"},
	} {
		_, err := ParsePublicKey([]byte(tc.data))
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: got %v, want %v saying %q", tc.name, err, tc.want, tc.says)
		}
		if err != nil && (strings.Contains(err.Error(), "Are you passing") || strings.Contains(err.Error(), "PEM decoding failed") || strings.Contains(err.Error(), "*ecdh")) {
			t.Errorf("%s: %v shows the library's words", tc.name, err)
		}
	}
}
