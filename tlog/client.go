package tlog

import (
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
)

// ErrNoLog means no transparency log is configured.
var ErrNoLog = errors.New("no transparency log configured")

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
	return sign.NewRekor(&sign.RekorOptions{BaseURL: s.URL, Version: s.APIVersion, Timeout: timeout, Retries: 1}), nil
}
