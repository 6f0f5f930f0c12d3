package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
)

// PlatformMode says what a multi-platform image (an index) must carry (see
// policy.ImageRule.Platforms).
type PlatformMode string

// Platform modes.
const (
	// PlatformsIndex: signatures and attestations on the index's own
	// digest, which covers every platform manifest's digest. The default.
	PlatformsIndex PlatformMode = policy.PlatformsIndex
	// PlatformsEvery: on every platform manifest the index lists, each on
	// its own digest; one failing platform fails the index.
	PlatformsEvery PlatformMode = policy.PlatformsEvery
	// PlatformsAny: on at least one platform manifest. A node may then
	// pull an unverified platform: for audit and warn only.
	PlatformsAny PlatformMode = policy.PlatformsAny
)

// ParsePlatformMode turns a flag or policy value into a PlatformMode ("" is
// index).
func ParsePlatformMode(s string) (PlatformMode, error) {
	switch PlatformMode(s) {
	case "":
		return PlatformsIndex, nil
	case PlatformsIndex, PlatformsEvery, PlatformsAny:
		return PlatformMode(s), nil
	}
	return "", fmt.Errorf("platforms %q: want index, every or any", s)
}

// perPlatform says whether m checks an index platform by platform.
func (m PlatformMode) perPlatform() bool { return m == PlatformsEvery || m == PlatformsAny }

// MaxPlatforms is how many platform manifests every and any verify for one
// index; an index listing more (after the filter) is refused.
const MaxPlatforms = 64

// Why an index is refused platform by platform, before any platform is
// verified. Each matches ErrPlatforms.
var (
	// ErrPlatforms matches every refusal of an index's platform list.
	ErrPlatforms = errors.New("the index's platforms cannot be verified")
	// ErrNestedIndex: the index lists another index, whose platforms a
	// node may pull but whose signatures would be another index's.
	ErrNestedIndex = fmt.Errorf("%w: it lists another index", ErrPlatforms)
	// ErrTooManyPlatforms: more than MaxPlatforms platforms to verify.
	ErrTooManyPlatforms = fmt.Errorf("%w: it lists more than %d platforms", ErrPlatforms, MaxPlatforms)
	// ErrNoPlatforms: no platform is left to verify after the filter.
	ErrNoPlatforms = fmt.Errorf("%w: it lists no platform to verify", ErrPlatforms)
)

// platformName is how a platform manifest is named in checks and results:
// os/arch[/variant], or "unspecified" for an entry without a platform.
func platformName(p *v1.Platform) string {
	if p == nil || p.OS == "" {
		return "unspecified"
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// notRunnable says whether an index entry is no platform a node pulls:
// BuildKit's attestation manifests, listed as unknown/unknown.
func notRunnable(p *v1.Platform) bool {
	return p != nil && p.OS == "unknown" && p.Architecture == "unknown"
}

// platformList is what every and any verify of an index.
type platformList struct {
	targets []*oci.Target
	names   []string // platformName of each target
	skipped []string // entries left out, and why
}

// listPlatforms lists the platform manifests of index t to verify under
// every or any: those filter names (an entry without a platform always, as
// a node of any platform may pull it), never BuildKit's unknown/unknown
// attestation manifests. An index nested in it, more than MaxPlatforms,
// or none at all, is refused (an error matching ErrPlatforms); a registry
// failure is returned as it is.
func listPlatforms(ctx context.Context, client *oci.Client, t *oci.Target, filter []string) (*platformList, error) {
	children, err := client.Children(ctx, t)
	if err != nil {
		return nil, err
	}
	l := &platformList{}
	var listed []string
	for _, c := range children {
		name := platformName(c.Platform)
		switch {
		case c.MediaType.IsIndex():
			return nil, fmt.Errorf("%w (%s, %s): under platforms every and any each platform manifest is verified on its own "+
				"digest, and a nested index's manifests are not the index's to judge; flatten the index, or use platforms: index", ErrNestedIndex, name, c.Digest)
		case notRunnable(c.Platform):
			l.skipped = append(l.skipped, fmt.Sprintf("%s (%s) is an attestation manifest, not a platform", short12(c.Digest.String()), name))
			continue
		}
		listed = append(listed, name)
		if c.Platform != nil && c.Platform.OS != "" && !policy.PlatformMatches(filter, name) {
			l.skipped = append(l.skipped, name+" is not in the platform filter")
			continue
		}
		l.targets = append(l.targets, t.Child(c))
		l.names = append(l.names, name)
	}
	switch {
	case len(l.targets) > MaxPlatforms:
		return nil, fmt.Errorf("%w (%d); verify it with platforms: index, or name the platforms that matter in platformFilter", ErrTooManyPlatforms, len(l.targets))
	case len(l.targets) == 0 && len(filter) > 0:
		return nil, fmt.Errorf("%w: the platform filter names %s, and the index lists %s", ErrNoPlatforms, strings.Join(filter, ", "), listOrNone(listed))
	case len(l.targets) == 0:
		return nil, fmt.Errorf("%w: it lists %s", ErrNoPlatforms, listOrNone(listed))
	}
	return l, nil
}

// platformTarget reads a platform manifest the index lists: a manifest the
// registry does not have is refused (oci.ErrNotFound), and one that turns
// out to be an index too (ErrNestedIndex).
func platformTarget(ctx context.Context, client *oci.Client, ct *oci.Target) (*oci.Target, error) {
	rt, err := client.Resolve(ctx, ct.Reference())
	if err != nil {
		return nil, err
	}
	if rt.Descriptor.MediaType.IsIndex() {
		return nil, fmt.Errorf("%w (%s is an index, though the index lists it as a platform manifest)", ErrNestedIndex, ct.Digest.DigestStr())
	}
	rt.Platform = ct.Platform
	return rt, nil
}

// platformClass is the class of a refusal to verify a platform manifest.
func platformClass(err error) Class {
	if errors.Is(err, ErrPlatforms) {
		return ClassPolicyDenied
	}
	return registryClass(err)
}

// PlatformsError is returned by Verify when an index verified platform by
// platform did not pass: the platforms that failed, and why each did
// (errors.Is sees every reason, so a missing manifest still matches
// oci.ErrNotFound and an unsigned one ErrNoSignatures).
type PlatformsError struct {
	Image, Digest string
	Mode          PlatformMode
	// Failed names the platforms that did not verify, in index order.
	Failed []string
	errs   []error
}

func (e *PlatformsError) Error() string {
	parts := make([]string, len(e.Failed))
	for i, p := range e.Failed {
		parts[i] = p + ": " + e.errs[i].Error()
	}
	need := "every platform must verify"
	if e.Mode == PlatformsAny {
		need = "at least one platform must verify"
	}
	return fmt.Sprintf("%s (%s): %s (platforms %s), and %s did not: %s", e.Image, e.Digest, need, e.Mode,
		strings.Join(e.Failed, ", "), strings.Join(parts, "; "))
}

// Unwrap lets errors.Is see each platform's reason.
func (e *PlatformsError) Unwrap() []error { return e.errs }

// verifyPlatforms verifies the signatures of index t's platform manifests
// (see eachPlatform).
func (v *Verifier) verifyPlatforms(ctx context.Context, image string, t *oci.Target, req Request) (*Result, error) {
	sub := req
	sub.Platforms, sub.PlatformFilter = PlatformsIndex, nil
	return v.eachPlatform(ctx, image, t, req.Platforms, req.PlatformFilter, func(ref string) (*Result, error) { return v.Verify(ctx, ref, sub) })
}

// eachPlatform verifies index t's platform manifests with verify, each on
// its own digest, at most 8 at once: all of them must verify under every,
// one under any. A refused platform list is an error matching
// ErrNoValidSignature and ErrPlatforms, with a nil Result.
func (v *Verifier) eachPlatform(ctx context.Context, image string, t *oci.Target, mode PlatformMode, filter []string,
	verify func(ref string) (*Result, error)) (*Result, error) {
	res := &Result{Image: image, Digest: t.Digest.DigestStr(), Tag: t.Tag, PlatformMode: mode}
	if err := v.recalledDigest(res); err != nil {
		return res, err
	}
	if err := v.platformsRecalled(ctx, res, t); err != nil {
		return res, err
	}
	l, err := listPlatforms(ctx, v.client, t, filter)
	switch {
	case errors.Is(err, ErrPlatforms):
		return nil, fmt.Errorf("%s (%s): %w: %w", image, res.Digest, ErrNoValidSignature, err)
	case err != nil:
		return nil, err
	}
	res.Skipped = l.skipped
	res.Platforms = make([]PlatformResult, len(l.targets))
	errs := make([]error, len(l.targets))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, ct := range l.targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			pr := PlatformResult{Platform: l.names[i], Digest: ct.Digest.DigestStr()}
			var r *Result
			rt, err := platformTarget(ctx, v.client, ct)
			if err == nil {
				r, err = verify(rt.Reference())
			}
			if r != nil {
				pr.Signatures = r.Signatures
			}
			if err != nil {
				pr.Error = err.Error()
			}
			pr.Verified = err == nil
			res.Platforms[i], errs[i] = pr, err
		}()
	}
	wg.Wait()
	perr := &PlatformsError{Image: image, Digest: res.Digest, Mode: mode}
	for i, p := range res.Platforms {
		if !p.Verified {
			perr.Failed, perr.errs = append(perr.Failed, p.Platform), append(perr.errs, errs[i])
		}
	}
	res.Verified = len(perr.Failed) == 0 || (mode == PlatformsAny && len(perr.Failed) < len(res.Platforms))
	if res.Verified {
		return res, nil
	}
	return res, perr
}
