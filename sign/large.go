package sign

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// DigestLog logs a signature over a digest (a Rekor v2 hashedrekord);
// tlog.Service is one. It lets payloads too large for memory be logged.
type DigestLog interface {
	LogDigest(ctx context.Context, digest, sig []byte, pub crypto.PublicKey) (*rekorpb.TransparencyLogEntry, error)
}

// WithDigestLog logs large statements (SignLargeStatement) to l. Set it
// alongside WithTransparencyLog for the same log.
func WithDigestLog(l DigestLog) Option {
	return func(s *Signer) { s.digestLogs = append(s.digestLogs, l) }
}

// ErrLargeUnsupported means a large payload cannot be signed as configured.
var ErrLargeUnsupported = errors.New("cannot sign a large payload without holding it in memory")

// LargePayload is a statement too big to hold in memory: its bytes are read
// by Open, in full, each time it is called.
type LargePayload struct {
	Size int64
	Open func() (io.ReadCloser, error)
}

// CanStream reports whether SignLargeStatement can sign with this Signer:
// a key that signs digests, no timestamp authority, and a log (if any) that
// takes digests.
func (s *Signer) CanStream() bool {
	return s.kp != nil && len(s.tsas) == 0 && hashFunc(s.kp.GetHashAlgorithm()) != 0 &&
		s.kp.GetKeyAlgorithm() != "ED25519" && (len(s.tlogs) == 0 || len(s.digestLogs) > 0)
}

// placeholder stands for the payload in the bundle JSON until it is streamed in.
var placeholder = []byte("signet-large-payload-placeholder")

// SignLargeStatement signs a large in-toto statement and writes the JSON
// bundle to w, reading the payload twice (once to hash it, once to encode
// it) and never holding it whole: the DSSE pre-authentication encoding is
// hashed as it streams, the key signs the digest, the log (Rekor v2) gets a
// hashedrekord over that digest, and the base64 payload is streamed into the
// bundle. Keys that sign messages rather than digests (Ed25519) are refused
// with ErrLargeUnsupported, as is a log that cannot take a digest.
func (s *Signer) SignLargeStatement(ctx context.Context, p LargePayload, w io.Writer) ([]LogEntry, error) {
	if s.kp == nil {
		return nil, fmt.Errorf("%w: keyless signing holds the payload in memory", ErrLargeUnsupported)
	}
	if len(s.tsas) > 0 {
		return nil, fmt.Errorf("%w: with a timestamp authority", ErrLargeUnsupported)
	}
	hf := hashFunc(s.kp.GetHashAlgorithm())
	if hf == crypto.Hash(0) {
		return nil, fmt.Errorf("%w: %s keys sign the whole message", ErrLargeUnsupported, s.kp.GetKeyAlgorithm())
	}
	if len(s.tlogs) > 0 && len(s.digestLogs) == 0 {
		return nil, fmt.Errorf("%w: the transparency log cannot be given a digest (Rekor v1)", ErrLargeUnsupported)
	}
	h := hf.New()
	fmt.Fprintf(h, "DSSEv1 %d %s %d ", len(InTotoPayloadType), InTotoPayloadType, p.Size)
	if err := copyPayload(h, p); err != nil {
		return nil, err
	}
	digest := h.Sum(nil)
	sig, err := s.kp.SignDigest(ctx, digest)
	if err != nil {
		return nil, err
	}
	b := &protobundle.Bundle{
		MediaType: bundleV03MediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{Content: &protobundle.VerificationMaterial_PublicKey{
			PublicKey: &protocommon.PublicKeyIdentifier{Hint: string(s.kp.GetHint())}}},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: placeholder, PayloadType: InTotoPayloadType, Signatures: []*protodsse.Signature{{Sig: sig}}}},
	}
	var entries []LogEntry
	for _, l := range s.digestLogs {
		tle, err := l.LogDigest(ctx, digest, sig, s.kp.GetPublicKey())
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTransparencyLog, err)
		}
		b.VerificationMaterial.TlogEntries = append(b.VerificationMaterial.TlogEntries, tle)
		entries = append(entries, LogEntry{Index: tle.GetLogIndex(), Kind: tle.GetKindVersion().GetKind() + "/" + tle.GetKindVersion().GetVersion()})
	}
	raw, err := protojson.Marshal(b)
	if err != nil {
		return nil, err
	}
	marker := []byte(strconv.Quote(base64.StdEncoding.EncodeToString(placeholder)))
	before, after, ok := bytes.Cut(raw, marker)
	if !ok {
		return nil, errors.New("building bundle: payload placeholder not found")
	}
	if _, err := w.Write(append(before, '"')); err != nil {
		return nil, err
	}
	enc := base64.NewEncoder(base64.StdEncoding, w)
	if err := copyPayload(enc, p); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	if _, err := w.Write(append([]byte{'"'}, after...)); err != nil {
		return nil, err
	}
	return entries, nil
}

// bundleV03MediaType is the Sigstore bundle v0.3 media type.
const bundleV03MediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

func copyPayload(w io.Writer, p LargePayload) error {
	r, err := p.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	n, err := io.Copy(w, r)
	if err != nil {
		return fmt.Errorf("reading payload: %w", err)
	}
	if n != p.Size {
		return fmt.Errorf("payload changed while signing: read %d bytes, expected %d", n, p.Size)
	}
	return nil
}

func hashFunc(h protocommon.HashAlgorithm) crypto.Hash {
	switch h {
	case protocommon.HashAlgorithm_SHA2_256:
		return crypto.SHA256
	case protocommon.HashAlgorithm_SHA2_384:
		return crypto.SHA384
	case protocommon.HashAlgorithm_SHA2_512:
		return crypto.SHA512
	}
	return crypto.Hash(0)
}
