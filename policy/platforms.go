package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Platform settings of a rule (ImageRule.Platforms).
const (
	// PlatformsIndex requires the rule's signatures and attestations on an
	// index's own digest. The default: the index's digest covers every
	// platform manifest's digest, so one signature over it binds them all.
	PlatformsIndex = "index"
	// PlatformsEvery requires them on every platform manifest it lists.
	PlatformsEvery = "every"
	// PlatformsAny requires them on at least one platform manifest.
	PlatformsAny = "any"
)

// platforms validates a rule's platforms and platformFilter.
func (c *compiler) platforms(at func(...any) []any, r *ImageRule) (string, []string) {
	mode := r.Platforms
	if mode == "" {
		mode = PlatformsIndex
	}
	if !oneOf(mode, PlatformsIndex, PlatformsEvery, PlatformsAny) {
		c.fail(at("platforms"), "must be index, every or any, not %q", r.Platforms)
	}
	if len(r.PlatformFilter) > 0 && mode == PlatformsIndex {
		c.fail(at("platformFilter"), "applies to platforms: every or any; with platforms: index the index's own signature covers all its platforms")
	}
	for j, p := range r.PlatformFilter {
		if why := platformProblem(p); why != "" {
			c.fail(at("platformFilter", j), "%q %s", p, why)
		} else if slices.Contains(r.PlatformFilter[:j], p) {
			c.fail(at("platformFilter", j), "%q is given twice; keep one", p)
		}
	}
	return mode, r.PlatformFilter
}

// platformProblem says what is wrong with a platform filter entry, "" when
// it is os/arch or os/arch/variant.
func platformProblem(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return "is not a platform: write os/arch or os/arch/variant, like linux/amd64 or linux/arm/v7"
	}
	for _, part := range parts {
		if part == "" || strings.ContainsAny(part, "*?[]{} \t") {
			return "is not a platform: each of os, arch and variant is a name, no wildcards (write one entry per platform)"
		}
	}
	return ""
}

// ValidatePlatform says what is wrong with a platform filter entry (nil
// when it is os/arch or os/arch/variant).
func ValidatePlatform(p string) error {
	if why := platformProblem(p); why != "" {
		return fmt.Errorf("%q %s", p, why)
	}
	return nil
}

// PlatformMatches says whether a platform (os/arch[/variant], as an index
// lists it) is one the filter names: os and arch exactly, and the variant
// exactly when the filter gives one. An empty filter matches every platform.
func PlatformMatches(filter []string, platform string) bool {
	if len(filter) == 0 {
		return true
	}
	for _, f := range filter {
		if f == platform || (strings.Count(f, "/") == 1 && strings.HasPrefix(platform, f+"/")) {
			return true
		}
	}
	return false
}
