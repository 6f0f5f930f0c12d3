package keys

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
)

// PassFunc returns the password for the key named by ref. It is called only
// when an encrypted private key is actually loaded.
type PassFunc func(ref string) ([]byte, error)

// LookupFunc resolves env:// references; os.LookupEnv has this shape. The
// library never reads the environment itself.
type LookupFunc func(name string) (string, bool)

// ErrUnknownScheme means a key reference has a URI scheme that is neither
// env:// nor a registered KMS provider.
var ErrUnknownScheme = errors.New("unknown key reference scheme")

// Loader resolves key references: a file path, env://VAR, or a KMS URI.
type Loader struct {
	// Password supplies passwords for encrypted private keys. Required for
	// encrypted keys; nil means "no password available".
	Password PassFunc
	// Lookup resolves env://VAR references. Nil means env:// is refused.
	Lookup LookupFunc
}

// LoadSigner returns a SignerVerifier for the private key named by ref.
func (l Loader) LoadSigner(ctx context.Context, ref string) (signature.SignerVerifier, error) {
	if isKMS(ref) {
		sv, err := kms.Get(ctx, ref, crypto.SHA256)
		if err != nil {
			return nil, kmsError(ref, err)
		}
		return sv, nil
	}
	priv, err := l.loadPrivate(ref)
	if err != nil {
		return nil, err
	}
	return SignerVerifier(priv)
}

// LoadCryptoSigner returns the private key named by ref as a crypto.Signer,
// for signature formats that choose their own scheme (Notation: ECDSA, or
// RSASSA-PSS, which an RSA key in a KMS must allow).
func (l Loader) LoadCryptoSigner(ctx context.Context, ref string) (crypto.Signer, error) {
	if !isKMS(ref) {
		return l.loadPrivate(ref)
	}
	sv, err := kms.Get(ctx, ref, crypto.SHA256)
	if err != nil {
		return nil, kmsError(ref, err)
	}
	cs, _, err := sv.CryptoSigner(ctx, func(error) {})
	if err != nil {
		return nil, kmsError(ref, err)
	}
	return cs, nil
}

func (l Loader) loadPrivate(ref string) (crypto.Signer, error) {
	data, err := l.read(ref)
	if err != nil {
		return nil, err
	}
	var password []byte
	if l.Password != nil {
		if password, err = l.Password(ref); err != nil {
			return nil, fmt.Errorf("reading password for %s: %w", ref, err)
		}
	}
	priv, err := ParsePrivateKey(data, password)
	if err != nil {
		return nil, fmt.Errorf("loading private key %s: %w", ref, err)
	}
	return priv, nil
}

// LoadVerifier returns a Verifier for the public key named by ref. A private
// key reference is accepted too (its public half is used), so a KMS URI
// verifies as it signs.
func (l Loader) LoadVerifier(ctx context.Context, ref string) (signature.Verifier, crypto.PublicKey, error) {
	if isKMS(ref) {
		sv, err := kms.Get(ctx, ref, crypto.SHA256)
		if err != nil {
			return nil, nil, kmsError(ref, err)
		}
		pub, err := sv.PublicKey()
		if err != nil {
			return nil, nil, fmt.Errorf("fetching public key from %s: %w", ref, err)
		}
		v, err := Verifier(pub)
		return v, pub, err
	}
	data, err := l.read(ref)
	if err != nil {
		return nil, nil, err
	}
	pub, err := ParsePublicKey(data)
	if err != nil {
		return nil, nil, fmt.Errorf("loading public key %s: %w", ref, err)
	}
	v, err := Verifier(pub)
	return v, pub, err
}

func (l Loader) read(ref string) ([]byte, error) {
	if name, ok := strings.CutPrefix(ref, "env://"); ok {
		if l.Lookup == nil {
			return nil, fmt.Errorf("reading key from env://%s: environment lookup is not enabled", name)
		}
		v, found := l.Lookup(name)
		if !found || v == "" {
			return nil, fmt.Errorf("reading key from env://%s: variable is not set", name)
		}
		return []byte(v), nil
	}
	if i := strings.Index(ref, "://"); i > 0 {
		return nil, fmt.Errorf("%w %q in %q (known: env://, %s)", ErrUnknownScheme, ref[:i], ref, strings.Join(kms.SupportedProviders(), ", "))
	}
	data, err := os.ReadFile(ref)
	if err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	return data, nil
}

func isKMS(ref string) bool {
	for _, p := range kms.SupportedProviders() {
		if strings.HasPrefix(ref, p) {
			return true
		}
	}
	return false
}

func kmsError(ref string, err error) error {
	var nf *kms.ProviderNotFoundError
	if errors.As(err, &nf) {
		return fmt.Errorf("%w: no KMS provider for %q", ErrUnknownScheme, ref)
	}
	return fmt.Errorf("loading KMS key %s: %w", ref, err)
}

// SignerVerifier wraps a private key with the signature scheme cosign uses for
// it: ECDSA and RSA PKCS#1 v1.5 over SHA-256, pure Ed25519.
func SignerVerifier(priv crypto.Signer) (signature.SignerVerifier, error) {
	if k, ok := priv.(ed25519.PrivateKey); ok {
		return signature.LoadED25519SignerVerifier(k)
	}
	sv, err := signature.LoadSignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	return sv, nil
}

// Verifier returns the verifier matching SignerVerifier for a public key.
func Verifier(pub crypto.PublicKey) (signature.Verifier, error) {
	if k, ok := pub.(ed25519.PublicKey); ok {
		return signature.LoadED25519Verifier(k)
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	return v, nil
}
