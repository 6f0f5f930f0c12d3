package keys

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"
)

// Keypair adapts a SignerVerifier (a key file or a KMS key) to sigstore-go's
// sign.Keypair, so bundles are built by sigstore-go rather than by hand.
type Keypair struct {
	sv   signature.SignerVerifier
	pub  crypto.PublicKey
	hint []byte
	alg  signature.AlgorithmDetails
}

// NewKeypair returns a Keypair over sv. Its hint is the key ID (see ID).
func NewKeypair(sv signature.SignerVerifier) (*Keypair, error) {
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("reading public key: %w", err)
	}
	id, err := ID(pub)
	if err != nil {
		return nil, err
	}
	alg, err := signature.GetDefaultAlgorithmDetails(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	return &Keypair{sv: sv, pub: pub, hint: []byte(id), alg: alg}, nil
}

// GetHashAlgorithm returns the hash the signature is computed over.
func (k *Keypair) GetHashAlgorithm() protocommon.HashAlgorithm { return k.alg.GetProtoHashType() }

// GetSigningAlgorithm returns the key's signature algorithm.
func (k *Keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return k.alg.GetSignatureAlgorithm()
}

// GetHint returns the key ID recorded in bundles.
func (k *Keypair) GetHint() []byte { return k.hint }

// GetKeyAlgorithm names the key algorithm as Fulcio expects it.
func (k *Keypair) GetKeyAlgorithm() string {
	switch k.alg.GetKeyType() {
	case signature.RSA:
		return "RSA"
	case signature.ED25519:
		return "ED25519"
	default:
		return "ECDSA"
	}
}

// GetPublicKey returns the public key.
func (k *Keypair) GetPublicKey() crypto.PublicKey { return k.pub }

// GetPublicKeyPem returns the public key as PEM.
func (k *Keypair) GetPublicKeyPem() (string, error) {
	b, err := PublicKeyPEM(k.pub)
	return string(b), err
}

// SignData signs data and returns the signature and the digest that was signed
// (nil for pure Ed25519, which signs the message itself).
func (k *Keypair) SignData(ctx context.Context, data []byte) ([]byte, []byte, error) {
	opts := []signature.SignOption{sigopts.WithContext(ctx)}
	var digest []byte
	if h := k.alg.GetHashType(); h != crypto.Hash(0) {
		hh := h.New()
		hh.Write(data)
		digest = hh.Sum(nil)
		opts = append(opts, sigopts.WithDigest(digest))
	}
	sig, err := k.sv.SignMessage(bytes.NewReader(data), opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: %w", err)
	}
	return sig, digest, nil
}

// ErrSignsMessage means the key signs whole messages (pure Ed25519), so it
// cannot sign a pre-computed digest.
var ErrSignsMessage = errors.New("key signs whole messages, not digests")

// SignDigest signs a digest computed with the key's hash (see
// GetHashAlgorithm), for payloads streamed rather than held in memory.
func (k *Keypair) SignDigest(ctx context.Context, digest []byte) ([]byte, error) {
	if k.alg.GetHashType() == crypto.Hash(0) {
		return nil, ErrSignsMessage
	}
	sig, err := k.sv.SignMessage(bytes.NewReader(nil), sigopts.WithContext(ctx), sigopts.WithDigest(digest), sigopts.WithCryptoSignerOpts(k.alg.GetHashType()))
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return sig, nil
}
