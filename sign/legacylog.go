package sign

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/sign"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/signet-dev/signet/oci"
)

// ErrLegacyNeedsRekorV1 means a legacy-layout signature was to be logged to
// a log that gives no signed entry timestamp (Rekor v2, Signet's log): the
// legacy layer can carry only a Rekor v1 entry.
var ErrLegacyNeedsRekorV1 = errors.New("the legacy layout (.sig tag) can carry only a Rekor v1 log entry; this log gave no signed entry timestamp (a Rekor v2 log): sign with --registry-layout referrers, or log to a Rekor v1")

// ErrLegacyLogNeedsDigest means a legacy-layout signature was to be logged
// with a key that signs whole messages (pure Ed25519): the Rekor v1
// hashedrekord entry cosign v2's layout carries records a signed SHA-256
// digest.
var ErrLegacyLogNeedsDigest = errors.New("a logged legacy-layout signature is a Rekor v1 hashedrekord entry, a SHA-256 digest signed by the key, and an Ed25519 key signs whole messages, not digests: sign with an ECDSA or RSA key, or with --registry-layout referrers")

// legacySignature signs a simple-signing payload and returns the base64
// signature. With a transparency log the signature is logged (a
// hashedrekord on Rekor v1), as cosign v2 logs it, and the entry is
// returned as cosign v2's bundle annotation.
func (s *Signer) legacySignature(ctx context.Context, payload []byte) (sigB64, logBundle string, entries []LogEntry, err error) {
	if len(s.tlogs) == 0 {
		sig, err := s.sv.SignMessage(strings.NewReader(string(payload)), sigopts.WithContext(ctx))
		if err != nil {
			return "", "", nil, fmt.Errorf("signing: %w", err)
		}
		return base64.StdEncoding.EncodeToString(sig), "", nil, nil
	}
	if s.kp.GetKeyAlgorithm() == "ED25519" {
		return "", "", nil, ErrLegacyLogNeedsDigest
	}
	pb, err := sign.Bundle(&sign.PlainData{Data: payload}, s.kp, sign.BundleOptions{Context: ctx, TransparencyLogs: s.tlogs})
	if err != nil {
		return "", "", nil, fmt.Errorf("%w: %w", ErrTransparencyLog, err)
	}
	tles := pb.GetVerificationMaterial().GetTlogEntries()
	if len(tles) == 0 {
		return "", "", nil, fmt.Errorf("%w: the log returned no entry", ErrTransparencyLog)
	}
	e := tles[0]
	if len(e.GetInclusionPromise().GetSignedEntryTimestamp()) == 0 {
		return "", "", nil, ErrLegacyNeedsRekorV1
	}
	var lb oci.LegacyLogBundle
	lb.SignedEntryTimestamp = e.GetInclusionPromise().GetSignedEntryTimestamp()
	lb.Payload.Body = e.GetCanonicalizedBody()
	lb.Payload.IntegratedTime = e.GetIntegratedTime()
	lb.Payload.LogIndex = e.GetLogIndex()
	lb.Payload.LogID = hex.EncodeToString(e.GetLogId().GetKeyId())
	b, err := json.Marshal(lb)
	if err != nil {
		return "", "", nil, err
	}
	for _, e := range tles {
		entries = append(entries, LogEntry{Index: e.GetLogIndex(), Kind: e.GetKindVersion().GetKind() + "/" + e.GetKindVersion().GetVersion()})
	}
	return base64.StdEncoding.EncodeToString(pb.GetMessageSignature().GetSignature()), string(b), entries, nil
}
