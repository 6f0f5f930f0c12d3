package trustbundle

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Current is the directory, under a cache, of the last good bundle.
const currentDir = "current"

// Refresh verifies the bundle at ref (oci://REPO:TAG or REPO:TAG) and
// keeps it in cache/current as a pulled directory; when the registry
// cannot be read (class unavailable, and only then), it verifies the last
// good bundle kept there instead — signature, expiry and rollback state
// again, so a stale bundle stops counting when its metadata expires — and
// says so in Stale. A refusal (rollback, freeze, altered...) is never
// answered with the last good bundle: it is returned as is. Dir is where
// the bundle's files are.
func (v *Verifier) Refresh(ctx context.Context, ref, cache string) (vb *Verified, dir string, stale error, err error) {
	cur := filepath.Join(cache, currentDir)
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return nil, "", nil, err
	}
	tmp, err := os.MkdirTemp(cache, ".pull-")
	if err != nil {
		return nil, "", nil, err
	}
	defer os.RemoveAll(tmp)
	vb, err = v.PullDir(ctx, ref, tmp)
	if err == nil {
		old := cur + ".old"
		_ = os.RemoveAll(old)
		if err := os.Rename(cur, old); err != nil && !os.IsNotExist(err) {
			return nil, "", nil, err
		}
		if err := os.Rename(tmp, cur); err != nil {
			return nil, "", nil, err
		}
		_ = os.RemoveAll(old)
		return vb, cur, nil, nil
	}
	if ClassOf(err) != ClassUnavailable {
		return nil, "", nil, err
	}
	last, lerr := v.VerifyDir(ctx, cur)
	if lerr != nil {
		if _, serr := os.Stat(filepath.Join(cur, sigDir)); os.IsNotExist(serr) {
			return nil, "", nil, err
		}
		return nil, "", nil, fmt.Errorf("%w; the last good bundle cannot be used either: %w", err, lerr)
	}
	if tag, terr := bundleTag(v.client, ref); terr != nil || last.Reference != tag.String() {
		// The cache holds another reference's bundle: not this one's last good.
		return nil, "", nil, err
	}
	return last, cur, err, nil
}
