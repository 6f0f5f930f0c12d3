// Package trust fetches Sigstore trust material — trusted_root.json and
// signing_config.json — from a TUF repository with go-tuf v2 (through
// sigstore-go's client), so verifiers get CA, TSA and log keys with TUF's
// protections: signed root rotation, rollback and freeze detection,
// expiring metadata. The cache lets later calls work offline until the
// metadata expires.
package trust

import (
	"fmt"
	"os"

	"github.com/sigstore/sigstore-go/pkg/tuf"
)

// Targets Sigstore publishes in its TUF repositories.
const (
	TrustedRootTarget   = "trusted_root.json"
	SigningConfigTarget = "signing_config.v0.2.json"
)

// Options say which repository to trust.
type Options struct {
	// Mirror is the repository's base URL.
	Mirror string
	// Root is the initial trusted root.json (the TUF root, not Sigstore's
	// trusted root): trust on first use starts from it.
	Root []byte
	// CacheDir keeps metadata and targets between runs.
	CacheDir string
}

// Material is what a repository delivered.
type Material struct {
	TrustedRoot   []byte
	SigningConfig []byte // nil when the repository has none
}

// Fetch refreshes the TUF metadata (root rotations are followed; rolled-back
// or expired metadata is refused) and returns the trust material.
func Fetch(o Options) (*Material, error) {
	if o.Mirror == "" || len(o.Root) == 0 {
		return nil, fmt.Errorf("a TUF mirror and an initial root.json are required")
	}
	if err := os.MkdirAll(o.CacheDir, 0o700); err != nil {
		return nil, err
	}
	c, err := tuf.New(&tuf.Options{RepositoryBaseURL: o.Mirror, Root: o.Root, CachePath: o.CacheDir, CacheValidity: tuf.NoCache})
	if err != nil {
		return nil, fmt.Errorf("updating TUF metadata from %s: %w", o.Mirror, err)
	}
	tr, err := c.GetTarget(TrustedRootTarget)
	if err != nil {
		return nil, fmt.Errorf("fetching %s from %s: %w", TrustedRootTarget, o.Mirror, err)
	}
	m := &Material{TrustedRoot: tr}
	if sc, err := c.GetTarget(SigningConfigTarget); err == nil {
		m.SigningConfig = sc
	}
	return m, nil
}

// Config records which repository a Signet home follows.
type Config struct {
	Mirror string `json:"mirror"`
	Root   []byte `json:"root"`
}

// DefaultMirror is the public Sigstore TUF repository; DefaultRoot is its
// embedded initial root.
var DefaultMirror = tuf.DefaultMirror

// DefaultRoot returns the public Sigstore repository's embedded initial root.
func DefaultRoot() []byte { return tuf.DefaultRoot() }
