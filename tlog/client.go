package tlog

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/rekor-tiles/v2/pkg/client/write"
	pb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/sigstore/sigstore/pkg/signature"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
)

// ErrNoLog means no transparency log is configured.
var ErrNoLog = errors.New("no transparency log configured")

// ErrUnreachable means a transparency log did not answer: the connection
// was refused or timed out, or the name did not resolve. A log that
// answers and refuses an entry is another error.
var ErrUnreachable = errors.New("transparency log did not answer")

// unreachable wraps err in ErrUnreachable, naming url, when it is a failure
// to reach the log: a network error or a timeout under the HTTP client's
// *url.Error (not a certificate refused, not the caller cancelling); else
// it returns err. Only the transport's own cause is kept: the client's
// wrappings repeat the method and URL.
func unreachable(url string, err error) error {
	var ue *neturl.Error
	if !errors.As(err, &ue) || errors.Is(ue.Err, context.Canceled) {
		return err
	}
	var ne net.Error
	if !ue.Timeout() && !errors.As(ue.Err, &ne) {
		return err
	}
	return fmt.Errorf("%w: %s: %w", ErrUnreachable, url, ue.Err)
}

// reachWriter is a log client whose failures to reach the log are
// ErrUnreachable.
type reachWriter struct {
	sign.Transparency
	url string
}

func (w reachWriter) GetTransparencyLogEntry(ctx context.Context, pub []byte, b *protobundle.Bundle) error {
	return unreachable(w.url, w.Transparency.GetTransparencyLogEntry(ctx, pub, b))
}

// Service is a log to upload to.
type Service struct {
	URL        string
	APIVersion uint32
}

// SelectService picks the log a signing config names for now: the newest
// API version Signet speaks (2, then 1) among the logs valid at now.
func SelectService(sc *root.SigningConfig, now time.Time) (Service, error) {
	if sc == nil || len(sc.RekorLogURLs()) == 0 {
		return Service{}, ErrNoLog
	}
	s, err := root.SelectService(sc.RekorLogURLs(), sign.RekorAPIVersions, now)
	if err != nil {
		return Service{}, fmt.Errorf("choosing a transparency log from the signing config: %w", err)
	}
	return Service{URL: s.URL, APIVersion: s.MajorAPIVersion}, nil
}

// Writer returns sigstore-go's Rekor client for the service, which uploads a
// bundle's signature (a DSSE as a hashedrekord on Rekor v2) and puts the
// returned entry, with its inclusion proof, into the bundle.
func (s Service) Writer(timeout time.Duration) (sign.Transparency, error) {
	if s.APIVersion != 1 && s.APIVersion != 2 {
		return nil, fmt.Errorf("transparency log %s: API version %d is not 1 or 2", s.URL, s.APIVersion)
	}
	return reachWriter{sign.NewRekor(&sign.RekorOptions{BaseURL: s.URL, Version: s.APIVersion, Timeout: timeout, Retries: 1}), s.URL}, nil
}

// ErrDigestLogUnsupported means the log cannot take a pre-computed digest
// (Rekor v1 needs the whole artifact or envelope).
var ErrDigestLogUnsupported = errors.New("logging by digest needs a Rekor v2 log")

// LogDigest logs a signature over a SHA-256 digest as a hashedrekord v0.0.2
// entry, through rekor-tiles' client, and returns the entry with its
// inclusion proof. It is how a DSSE over a payload too large to hold in
// memory is logged: the digest is that of the envelope's PAE.
func (s Service) LogDigest(ctx context.Context, digest, sig []byte, pub crypto.PublicKey) (*rekorpb.TransparencyLogEntry, error) {
	if s.APIVersion != 2 {
		return nil, ErrDigestLogUnsupported
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	alg, err := signature.GetDefaultAlgorithmDetails(pub, sigopts.WithED25519ph())
	if err != nil {
		return nil, err
	}
	w, err := write.NewWriter(s.URL)
	if err != nil {
		return nil, fmt.Errorf("transparency log %s: %w", s.URL, err)
	}
	tle, err := w.Add(ctx, &pb.HashedRekordRequestV002{
		Digest: digest,
		Signature: &pb.Signature{Content: sig, Verifier: &pb.Verifier{
			Verifier:   &pb.Verifier_PublicKey{PublicKey: &pb.PublicKey{RawBytes: der}},
			KeyDetails: alg.GetSignatureAlgorithm(),
		}},
	})
	if err != nil {
		if err := unreachable(s.URL, err); errors.Is(err, ErrUnreachable) {
			return nil, err
		}
		return nil, fmt.Errorf("logging to %s: %w", s.URL, err)
	}
	return tle, nil
}

// DetectAPIVersion asks the log at url which API it speaks: a Rekor v1
// answers GET /api/v1/log with its tree; anything else (Rekor v2 and
// Signet's log have no such endpoint) is taken as v2.
func DetectAPIVersion(ctx context.Context, c *http.Client, url string) (uint32, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(url, "/")+"/api/v1/log", nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		if err := unreachable(url, err); errors.Is(err, ErrUnreachable) {
			return 0, err
		}
		return 0, fmt.Errorf("asking transparency log %s for its API version: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 2, nil
	}
	var info struct {
		TreeSize *int64 `json:"treeSize"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&info); err != nil || info.TreeSize == nil {
		return 2, nil
	}
	return 1, nil
}
