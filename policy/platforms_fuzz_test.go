package policy_test

import (
	"testing"

	"github.com/signet-dev/signet/policy"
)

// FuzzPlatformMatches: an index's platform label (outside data) is
// normalised once for good, and matching a label or its normal form gives
// the same answer, so no spelling of a platform escapes a filter naming it.
func FuzzPlatformMatches(f *testing.F) {
	for _, s := range [][2]string{{"linux/amd64", "Linux/x86_64"}, {"linux/arm/v7", "linux/arm"}, {"linux/arm", "linux/armhf"},
		{"linux/arm64/v8", "linux/aarch64/8"}, {"linux/386", "linux/i386"}, {"darwin/arm64", "MacOS/arm64"}, {"a/b", "a/b/c/d"}, {"", ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, filter, platform string) {
		n := policy.NormalizePlatform(platform)
		if again := policy.NormalizePlatform(n); again != n {
			t.Fatalf("NormalizePlatform(%q) = %q, but of that %q", platform, n, again)
		}
		if policy.ValidatePlatform(filter) != nil {
			return
		}
		if a, b := policy.PlatformMatches([]string{filter}, platform), policy.PlatformMatches([]string{filter}, n); a != b {
			t.Fatalf("filter %q: %q matches %v, its normal form %q %v", filter, platform, a, n, b)
		}
		if a, b := policy.PlatformFallback(filter, platform), policy.PlatformFallback(filter, n); a != b {
			t.Fatalf("filter %q: %q falls back %v, its normal form %q %v", filter, platform, a, n, b)
		}
	})
}
