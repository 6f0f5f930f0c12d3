package oci

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/internal/lazyre"
)

// DefaultMaxRepositories is how many repositories Catalog reads by default.
const DefaultMaxRepositories = 100_000

// Catalog lists every repository of the registry (host[:port]), following
// the registry's pages of /v2/_catalog (n and the Link header) with pageSize
// repositories asked for per page (the registry's default when <= 0). More
// than max repositories (DefaultMaxRepositories when max <= 0), or more
// pages than that, is an error rather than a partial list, as with Tags.
func (c *Client) Catalog(ctx context.Context, registry string, pageSize, max int) ([]string, error) {
	if max <= 0 {
		max = DefaultMaxRepositories
	}
	op := "listing the repositories of " + registry
	reg, err := name.NewRegistry(registry, c.nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrInvalidReference, registry, err)
	}
	opts := c.remoteOpts(ctx, nil)
	if pageSize > 0 {
		opts = append(opts, remote.WithPageSize(pageSize))
	}
	p, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, registryErr(op, err)
	}
	l, err := p.Catalogger(ctx, reg)
	if err != nil {
		return nil, registryErr(op, err)
	}
	var repos []string
	for pages := 0; l.HasNext(); pages++ {
		page, err := l.Next(ctx)
		if err != nil {
			return nil, registryErr(op, err)
		}
		repos = append(repos, page.Repos...)
		if len(repos) > max || pages > max {
			return nil, fmt.Errorf("%s: the registry lists more than %d repositories; Signet will not judge only some of them", op, max)
		}
	}
	return repos, nil
}

// attachedTag is the name of a tag that holds what is attached to an
// image (cosign's legacy signatures, attestations and SBOMs, the referrers
// fallback index), not an image one runs.
var attachedTag = lazyre.New(`^sha256-[0-9a-f]{64}(\.sig|\.att|\.sbom)?$`)

// AttachedTag says whether tag names what is attached to an image rather
// than an image: cosign's sha256-<hex>.sig, .att and .sbom tags and the
// referrers API's fallback tag sha256-<hex>.
func AttachedTag(tag string) bool { return attachedTag.MatchString(tag) }
