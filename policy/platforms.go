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
// Both are compared as a node's runtime compares them (see
// NormalizePlatform): an index entry labelled linux/x86_64 or Linux/amd64
// is pulled by a linux/amd64 node, so it is linux/amd64 to the filter too.
func PlatformMatches(filter []string, platform string) bool {
	if len(filter) == 0 {
		return true
	}
	platform = NormalizePlatform(platform)
	for _, f := range filter {
		if strings.Count(f, "/") == 1 {
			// Any variant: os and arch as normalised (linux/arm is not
			// only linux/arm/v7 here).
			os, arch, _ := splitPlatform(NormalizePlatform(f))
			f = os + "/" + arch
			if f == platform || strings.HasPrefix(platform, f+"/") {
				return true
			}
		} else if NormalizePlatform(f) == platform {
			return true
		}
	}
	return false
}

// PlatformFallback says whether a node of the filter entry's platform may
// pull platform when the index lists nothing that matches the entry: a
// runtime falls back to a compatible platform (containerd: an amd64 node
// runs 386, an arm64 node arm, an arm node an older arm variant).
func PlatformFallback(filterEntry, platform string) bool {
	fos, farch, _ := splitPlatform(NormalizePlatform(filterEntry))
	pos, parch, _ := splitPlatform(NormalizePlatform(platform))
	if fos != pos {
		return false
	}
	switch farch {
	case "amd64":
		return parch == "amd64" || parch == "386"
	case "arm64":
		return parch == "arm64" || parch == "arm"
	}
	return farch == parch
}

// NormalizePlatform is os/arch[/variant] as containerd's platform matcher
// sees it: lower case, architecture aliases folded (x86_64 and x86-64 are
// amd64, aarch64 arm64, i386 386, armhf arm/v7, armel arm/v6), arm without
// a variant arm/v7, arm64/v8 and amd64/v1 without their variant.
func NormalizePlatform(p string) string {
	os, arch, variant := splitPlatform(strings.ToLower(p))
	if os == "macos" {
		os = "darwin"
	}
	switch arch {
	case "i386":
		arch, variant = "386", ""
	case "x86_64", "x86-64", "amd64":
		arch = "amd64"
		if variant == "v1" {
			variant = ""
		}
	case "aarch64", "arm64":
		arch = "arm64"
		switch variant {
		case "8", "v8", "v8.0":
			variant = ""
		case "9", "9.0", "v9.0":
			variant = "v9"
		}
	case "armhf":
		arch, variant = "arm", "v7"
	case "armel":
		arch, variant = "arm", "v6"
	case "arm":
		switch variant {
		case "", "7":
			variant = "v7"
		case "5", "6", "8":
			variant = "v" + variant
		}
	}
	out := os + "/" + arch
	if variant != "" {
		out += "/" + variant
	}
	return out
}

func splitPlatform(p string) (os, arch, variant string) {
	os, rest, _ := strings.Cut(p, "/")
	arch, variant, _ = strings.Cut(rest, "/")
	return os, arch, variant
}
