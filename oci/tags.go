package oci

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// DefaultMaxTags is how many tags Tags reads from one repository by default.
const DefaultMaxTags = 100_000

// Tags lists every tag of the repository repo (REGISTRY/REPOSITORY),
// following the registry's pages (the Link header of /tags/list). More than
// max tags (DefaultMaxTags when max <= 0), or more pages than that, is an
// error rather than a partial list: a caller judging every tag must not
// judge only some.
func (c *Client) Tags(ctx context.Context, repo string, max int) ([]string, error) {
	if max <= 0 {
		max = DefaultMaxTags
	}
	r, err := ParseRepository(repo, c.nameOpts...)
	if err != nil {
		return nil, err
	}
	op := "listing the tags of " + r.String()
	p, err := remote.NewPuller(c.remoteOpts(ctx, nil)...)
	if err != nil {
		return nil, registryErr(op, err)
	}
	l, err := p.Lister(ctx, r)
	if err != nil {
		return nil, registryErr(op, err)
	}
	var tags []string
	for pages := 0; l.HasNext(); pages++ {
		page, err := l.Next(ctx)
		if err != nil {
			return nil, registryErr(op, err)
		}
		tags = append(tags, page.Tags...)
		if len(tags) > max || pages > max {
			return nil, fmt.Errorf("%s: the registry lists more than %d tags; Signet will not judge only some of them", op, max)
		}
	}
	return tags, nil
}
