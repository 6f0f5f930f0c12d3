package oci

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// HasReferrersAPI asks d's registry for d's referrers through the OCI
// referrers API (GET /v2/<repo>/referrers/<digest>) and says whether it
// answered with an index (true) or with 404/400 or a body that is not an
// index (false: clients use the fallback tag there). A registry that could
// not be asked is an error, never a guess.
func (c *Client) HasReferrersAPI(ctx context.Context, d name.Digest) (bool, error) {
	probe := &referrersProbe{subject: d.DigestStr()}
	_, err := remote.Referrers(d, c.remoteOpts(withProbe(ctx, probe), nil)...)
	probe.mu.Lock()
	answered, missing := probe.answered, probe.missing
	probe.mu.Unlock()
	switch {
	case answered:
		return true, nil
	case missing:
		return false, nil
	case err != nil:
		return false, registryErr(fmt.Sprintf("asking %s for the referrers of %s", d.RegistryStr(), d), err)
	}
	return false, fmt.Errorf("asking %s for the referrers of %s: %w: no answer from the referrers API", d.RegistryStr(), d, ErrRegistry)
}
