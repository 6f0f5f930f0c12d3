// Package keys generates, encrypts and loads signing keys.
//
// Private keys are stored in the sigstore encrypted PEM format ("ENCRYPTED
// SIGSTORE PRIVATE KEY": scrypt + NaCl secretbox over PKCS#8 DER), the format
// cosign generate-key-pair writes, so key files work in both tools with the
// same password. Public keys are PKIX PEM. Keys may also be referenced as
// env://VAR (a PEM held in an environment variable, resolved by the caller's
// lookup function) or as a KMS URI handled by sigstore's kms package.
package keys

import (
	"crypto"
	"crypto/dsa"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Type names a kind of key that Generate can make.
type Type string

// Key types accepted by Generate.
const (
	ECDSAP256 Type = "ecdsa-p256"
	ED25519   Type = "ed25519"
	RSA4096   Type = "rsa-4096"
)

// Types lists the key types Generate accepts, default first.
var Types = []Type{ECDSAP256, ED25519, RSA4096}

// Sentinel errors callers can branch on. Their messages never contain key material.
var (
	// ErrWrongPassword means an encrypted private key did not decrypt with the given password.
	ErrWrongPassword = errors.New("wrong password for encrypted private key")
	// ErrMalformedKey means a key file is not a PEM key Signet can read.
	ErrMalformedKey = errors.New("malformed key")
	// ErrUnsupportedKey means the key is of an algorithm Signet does not sign with.
	ErrUnsupportedKey = errors.New("unsupported key type")
)

// encryptedPEMTypes are the PEM block types cosign and sigstore write for encrypted keys.
var encryptedPEMTypes = map[string]bool{
	string(cryptoutils.EncryptedSigstorePrivateKeyPEMType): true,
	"ENCRYPTED COSIGN PRIVATE KEY":                         true,
}

// ParseType turns a --type value into a Type.
func ParseType(s string) (Type, error) {
	for _, t := range Types {
		if strings.EqualFold(s, string(t)) {
			return t, nil
		}
	}
	return "", fmt.Errorf("%w %q (want one of ecdsa-p256, ed25519, rsa-4096)", ErrUnsupportedKey, s)
}

// Generate makes a new private key of type t.
func Generate(t Type) (crypto.Signer, error) {
	switch t {
	case ECDSAP256, "":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ED25519:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case RSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	default:
		return nil, fmt.Errorf("%w %q", ErrUnsupportedKey, t)
	}
}

// EncryptPrivateKey returns priv as an encrypted PEM block that cosign can read.
func EncryptPrivateKey(priv crypto.Signer, password []byte) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encoding private key: %w", err)
	}
	enc, err := encrypted.Encrypt(der, password)
	if err != nil {
		return nil, fmt.Errorf("encrypting private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: string(cryptoutils.EncryptedSigstorePrivateKeyPEMType), Bytes: enc}), nil
}

// PublicKeyPEM returns the PKIX PEM encoding of pub.
func PublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	return cryptoutils.MarshalPublicKeyToPEM(pub)
}

// ParsePrivateKey decodes an encrypted private key PEM with password. A wrong
// password gives ErrWrongPassword; anything unreadable gives ErrMalformedKey.
// Unencrypted PKCS#8 ("PRIVATE KEY") blocks are accepted too, for imports.
func ParsePrivateKey(pemBytes, password []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block found", ErrMalformedKey)
	}
	der := block.Bytes
	switch {
	case encryptedPEMTypes[block.Type]:
		plain, err := encrypted.Decrypt(der, password)
		if err != nil {
			if strings.Contains(err.Error(), "decryption failed") {
				return nil, ErrWrongPassword
			}
			// The library's own messages describe structure only, never key bytes.
			return nil, fmt.Errorf("%w: encrypted key envelope is not readable", ErrMalformedKey)
		}
		der = plain
	case block.Type == "PRIVATE KEY":
	default:
		return nil, fmt.Errorf("%w: PEM block type %q is not a private key Signet reads", ErrMalformedKey, block.Type)
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: private key is not PKCS#8", ErrMalformedKey)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %s (want ECDSA, Ed25519 or RSA)", ErrUnsupportedKey, keyKind(key))
	}
	switch k := signer.(type) {
	case *ecdsa.PrivateKey, ed25519.PrivateKey, *rsa.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("%w: %s (want ECDSA, Ed25519 or RSA)", ErrUnsupportedKey, keyKind(key))
	}
}

// ParsePublicKey decodes a PEM public key (PKIX, or a certificate's key).
// A private key, or a file that is not PEM, is refused with a sentence
// saying what to give instead, never the parser's words.
func ParsePublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	switch {
	case block == nil:
		return nil, fmt.Errorf("%w: not a PEM file (a public key file starts with -----BEGIN PUBLIC KEY-----)", ErrMalformedKey)
	case strings.Contains(block.Type, "PRIVATE KEY"):
		return nil, fmt.Errorf("%w: this is a private key (%s); give its public key instead, such as the .pub file that keys generate wrote beside it",
			ErrMalformedKey, block.Type)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: a PEM block of type %q that is not a public key Signet reads (want PUBLIC KEY or CERTIFICATE)", ErrMalformedKey, block.Type)
	}
	switch pub.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey, *rsa.PublicKey:
		return pub, nil
	default:
		return nil, fmt.Errorf("%w: %s (want ECDSA, Ed25519 or RSA)", ErrUnsupportedKey, keyKind(pub))
	}
}

// keyKind names a key's algorithm for people.
func keyKind(k any) string {
	switch k.(type) {
	case *dsa.PublicKey, *dsa.PrivateKey:
		return "a DSA key"
	case *ecdh.PublicKey, *ecdh.PrivateKey:
		return "an ECDH (X25519) key, which cannot sign"
	default:
		return "a key of an algorithm Signet does not know"
	}
}

// ID returns the key's identifier as cosign and sigstore-go compute the bundle
// hint: base64 of the SHA-256 of the PKIX DER public key.
func ID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encoding public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}
