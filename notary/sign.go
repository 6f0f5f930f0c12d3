package notary

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/notaryproject/notation-core-go/signature"
	"github.com/notaryproject/tspclient-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// signingAgent names Signet in the envelope's unsigned attributes.
const signingAgent = "signet"

// SignOptions are the choices of one Notation signature.
type SignOptions struct {
	Envelope     string            // "jws" (the default) or "cose"
	Expiry       time.Duration     // zero: the signature does not expire
	TSAURL       string            // an RFC 3161 timestamping service; empty: no timestamp
	TSARoots     *x509.CertPool    // the roots the TSA's response must chain to (required with TSAURL)
	UserMetadata map[string]string // added to the signed target's annotations
}

// Sign makes a Notation signature envelope over target (mediaType, digest,
// size and annotations) with key, whose public half must be chain's leaf. It
// returns the envelope and its media type.
func Sign(ctx context.Context, key crypto.Signer, chain []*x509.Certificate, target ocispec.Descriptor, o SignOptions) (envelope []byte, mediaType string, err error) {
	mediaType, err = envelopeMediaType(o.Envelope)
	if err != nil {
		return nil, "", err
	}
	s, err := newCryptoSigner(key, chain)
	if err != nil {
		return nil, "", err
	}
	content, err := signedPayload(target, o.UserMetadata)
	if err != nil {
		return nil, "", err
	}
	req := &signature.SignRequest{
		Payload:       signature.Payload{ContentType: payloadMediaType, Content: content},
		Signer:        s,
		SigningTime:   time.Now(),
		SigningScheme: signature.SigningSchemeX509,
		SigningAgent:  signingAgent,
	}
	if o.Expiry > 0 {
		req.Expiry = req.SigningTime.Add(o.Expiry)
	}
	if err := addTimestamper(req, o); err != nil {
		return nil, "", err
	}
	env, err := signature.NewEnvelope(mediaType)
	if err != nil {
		return nil, "", fmt.Errorf("creating a %s envelope: %w", o.Envelope, err)
	}
	sig, err := env.Sign(req.WithContext(ctx))
	if err != nil {
		return nil, "", fmt.Errorf("signing the Notation envelope: %w", err)
	}
	if _, err := parse(sig, mediaType, true); err != nil {
		return nil, "", fmt.Errorf("checking the new Notation envelope: %w", err)
	}
	return sig, mediaType, nil
}

func envelopeMediaType(name string) (string, error) {
	switch name {
	case "", "jws":
		return MediaTypeJWS, nil
	case "cose":
		return MediaTypeCOSE, nil
	}
	return "", fmt.Errorf("unknown Notation envelope %q: use jws or cose", name)
}

func addTimestamper(req *signature.SignRequest, o SignOptions) error {
	if o.TSAURL == "" {
		if o.TSARoots != nil {
			return errors.New("TSA roots given without a timestamp URL")
		}
		return nil
	}
	if o.TSARoots == nil {
		return errors.New("a timestamp URL needs the TSA's root certificates to check its answer")
	}
	ts, err := tspclient.NewHTTPTimestamper(nil, o.TSAURL)
	if err != nil {
		return fmt.Errorf("timestamp URL %q: %w", o.TSAURL, err)
	}
	req.Timestamper = ts
	req.TSARootCAs = o.TSARoots
	return nil
}

// signedPayload is the Notation payload naming target, with the user's
// metadata in its annotations.
func signedPayload(target ocispec.Descriptor, meta map[string]string) ([]byte, error) {
	if target.Digest == "" || target.MediaType == "" || target.Size <= 0 {
		return nil, fmt.Errorf("the target needs a media type, digest and size (got %q, %q, %d)", target.MediaType, target.Digest, target.Size)
	}
	t := ocispec.Descriptor{MediaType: target.MediaType, Digest: target.Digest, Size: target.Size}
	if len(target.Annotations)+len(meta) > 0 {
		t.Annotations = map[string]string{}
	}
	for k, v := range target.Annotations {
		t.Annotations[k] = v
	}
	for k, v := range meta {
		if strings.HasPrefix(k, "io.cncf.notary") {
			return nil, fmt.Errorf("metadata key %q: the prefix io.cncf.notary is reserved for Notation", k)
		}
		if _, ok := t.Annotations[k]; ok {
			return nil, fmt.Errorf("metadata key %q is already an annotation of the target", k)
		}
		t.Annotations[k] = v
	}
	return json.Marshal(payload{TargetArtifact: t})
}

// cryptoSigner is a notation-core-go remote signer over a crypto.Signer,
// so that keys held in a KMS sign Notation envelopes.
type cryptoSigner struct {
	key   crypto.Signer
	chain []*x509.Certificate
	spec  signature.KeySpec
}

func newCryptoSigner(key crypto.Signer, chain []*x509.Certificate) (*cryptoSigner, error) {
	if len(chain) == 0 {
		return nil, errors.New("no certificate chain: Notation signatures carry the signing certificate and its chain")
	}
	if !publicKeyEqual(key.Public(), chain[0].PublicKey) {
		return nil, fmt.Errorf("the key is not the key of the chain's first certificate %q: give the chain that starts with this key's certificate", chain[0].Subject)
	}
	spec, err := signature.ExtractKeySpec(chain[0])
	if err != nil {
		return nil, fmt.Errorf("certificate %q: %w", chain[0].Subject, err)
	}
	return &cryptoSigner{key: key, chain: chain, spec: spec}, nil
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// KeySpec returns the key's Notation key spec.
func (s *cryptoSigner) KeySpec() (signature.KeySpec, error) { return s.spec, nil }

// Sign signs payload as JWS and COSE expect: RSASSA-PSS, or ECDSA as r||s.
func (s *cryptoSigner) Sign(msg []byte) ([]byte, []*x509.Certificate, error) {
	hash := s.spec.SignatureAlgorithm().Hash()
	h := hash.New()
	h.Write(msg)
	digest := h.Sum(nil)
	var opts crypto.SignerOpts = hash
	if s.spec.Type == signature.KeyTypeRSA {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: hash}
	}
	sig, err := s.key.Sign(rand.Reader, digest, opts)
	if err != nil {
		return nil, nil, err
	}
	if s.spec.Type == signature.KeyTypeEC {
		if sig, err = ecdsaRawSignature(sig, s.key.Public()); err != nil {
			return nil, nil, err
		}
	}
	return sig, s.chain, nil
}

// ecdsaRawSignature turns an ASN.1 ECDSA signature into r||s.
func ecdsaRawSignature(der []byte, pub crypto.PublicKey) ([]byte, error) {
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("the key is not an ECDSA key")
	}
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) > 0 {
		return nil, errors.New("the key returned a malformed ECDSA signature")
	}
	n := (ec.Curve.Params().BitSize + 7) / 8
	out := make([]byte, 2*n)
	rs.R.FillBytes(out[:n])
	rs.S.FillBytes(out[n:])
	return out, nil
}
