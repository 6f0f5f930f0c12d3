package tlog

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	rnote "github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/signet-dev/signet/internal/atomicfile"
)

// LogInfo describes a transparency log to trust or to sign with.
type LogInfo struct {
	// URL is the log's base URL (for Rekor v2, its host is the checkpoint origin).
	URL string
	// PublicKey verifies the log's checkpoints (v2) or signed entry timestamps (v1).
	PublicKey crypto.PublicKey
	// APIVersion is 1 or 2.
	APIVersion uint32
	// Origin is the checkpoint origin; empty means the URL's host name (v2 only).
	Origin string
	// Start is when the log began; zero means the Unix epoch.
	Start time.Time
	// Operator names who runs the log (signing configs record it).
	Operator string
}

// ID returns the log ID Sigstore uses to find the log in a trusted root: for
// Rekor v2 the signed-note key hash over origin and key, for Rekor v1 the
// SHA-256 of the PKIX public key.
func (l LogInfo) ID() ([]byte, error) {
	if l.APIVersion == 2 {
		origin, err := l.OriginName()
		if err != nil {
			return nil, err
		}
		_, id, err := rnote.KeyHash(origin, l.PublicKey)
		return id, err
	}
	der, err := x509.MarshalPKIXPublicKey(l.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return sum[:], nil
}

// OriginName returns the checkpoint origin: Origin, else the URL's host name.
func (l LogInfo) OriginName() (string, error) {
	if l.Origin != "" {
		return l.Origin, nil
	}
	u, err := url.Parse(l.URL)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("log URL %q has no host name to use as origin", l.URL)
	}
	return u.Hostname(), nil
}

// TrustedRoot returns a Sigstore trusted root (trusted_root.json) listing the logs.
func TrustedRoot(logs ...LogInfo) (*root.TrustedRoot, error) {
	return TrustedRootWith(Authorities{}, logs...)
}

// TrustedRootWith is TrustedRoot with certificate and timestamp authorities.
func TrustedRootWith(auth Authorities, logs ...LogInfo) (*root.TrustedRoot, error) {
	tlogs := make(map[string]*root.TransparencyLog, len(logs))
	for _, l := range logs {
		if l.APIVersion == 2 && l.Origin != "" {
			if o, _ := (LogInfo{URL: l.URL}).OriginName(); o != l.Origin {
				return nil, fmt.Errorf("log %s: origin %q must equal the URL's host name %q (verifiers derive it from the URL)", l.URL, l.Origin, o)
			}
		}
		id, err := l.ID()
		if err != nil {
			return nil, fmt.Errorf("log %s: %w", l.URL, err)
		}
		start := l.Start
		if start.IsZero() {
			start = time.Unix(0, 0).UTC()
		}
		tlogs[hex.EncodeToString(id)] = &root.TransparencyLog{
			BaseURL: l.URL, ID: id, ValidityPeriodStart: start,
			HashFunc: crypto.SHA256, PublicKey: l.PublicKey, SignatureHashFunc: crypto.SHA256,
		}
	}
	return root.NewTrustedRoot(root.TrustedRootMediaType01, auth.CAs, nil, auth.TSAs, tlogs)
}

// SigningConfig returns a Sigstore signing config (signing_config.json) that
// sends signatures to the logs.
func SigningConfig(logs ...LogInfo) (*root.SigningConfig, error) {
	var services []root.Service
	for _, l := range logs {
		start := l.Start
		if start.IsZero() {
			start = time.Unix(0, 0).UTC()
		}
		services = append(services, root.Service{URL: l.URL, MajorAPIVersion: l.APIVersion, ValidityPeriodStart: start, Operator: l.Operator})
	}
	return root.NewSigningConfig(root.SigningConfigMediaType02, nil, nil, services,
		root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}, nil,
		root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY})
}

// WriteJSON writes v's JSON encoding to path through a temporary file.
func WriteJSON(path string, v interface{ MarshalJSON() ([]byte, error) }) error {
	b, err := v.MarshalJSON()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Replace(path, b, 0o644)
}
