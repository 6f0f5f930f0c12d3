package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// platformFlags are --platforms and --platform-filter.
type platformFlags struct {
	platforms string
	filter    []string
}

func (p *platformFlags) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.platforms, "platforms", "index", "what an index must carry: index (a signature on its digest), every (on each platform manifest) or any (on one)")
	cmd.Flags().StringArrayVar(&p.filter, "platform-filter", nil, "with --platforms every or any: only this platform, os/arch[/variant] (repeatable)")
}

// given says whether either flag was set.
func (p *platformFlags) given(cmd *cobra.Command) bool {
	return cmd.Flags().Changed("platforms") || cmd.Flags().Changed("platform-filter")
}

// mode checks the flags and returns the platform mode.
func (p *platformFlags) mode() (verify.PlatformMode, error) {
	m, err := verify.ParsePlatformMode(p.platforms)
	if err != nil {
		return "", usageError{fmt.Errorf("--platforms: %w", err)}
	}
	if len(p.filter) > 0 && m == verify.PlatformsIndex {
		return "", usageError{fmt.Errorf("--platform-filter applies to --platforms every or any; with index the index's own signature covers all its platforms")}
	}
	for _, f := range p.filter {
		if err := policy.ValidatePlatform(f); err != nil {
			return "", usageError{fmt.Errorf("--platform-filter: %w", err)}
		}
	}
	return m, nil
}

// printPlatforms prints the outcome of each platform of an index verified
// platform by platform.
func printPlatforms(s *streams, res *verify.Result, what candidates) {
	if res.PlatformMode == "" {
		return
	}
	for _, p := range res.Platforms {
		mark := "✓"
		if !p.Verified {
			mark = "✗"
		}
		fmt.Fprintf(s.out, "  %s platform %s (%s)\n", mark, p.Platform, short(p.Digest))
		if !p.Verified {
			fmt.Fprintf(s.out, "      %s\n", p.Error)
			continue
		}
		for _, sig := range p.Signatures {
			if sig.Verified {
				fmt.Fprintf(s.out, "      %s %s by %s\n", sig.Format, what.noun(), signerName(sig))
				break
			}
		}
	}
	for _, why := range res.Skipped {
		fmt.Fprintf(s.out, "  - not checked: %s\n", why)
	}
	if res.Verified && res.PlatformMode == verify.PlatformsAny {
		for _, p := range res.Platforms {
			if !p.Verified {
				fmt.Fprintf(s.out, "  ⚠ --platforms any: a node may pull %s, which is not verified\n", p.Platform)
			}
		}
	}
}

// platformsReason is the headline of an index that did not verify
// platform by platform.
func platformsReason(res *verify.Result) string {
	var failed []string
	for _, p := range res.Platforms {
		if !p.Verified {
			failed = append(failed, p.Platform)
		}
	}
	need := "every platform must verify"
	if res.PlatformMode == verify.PlatformsAny {
		need = "at least one platform must verify"
	}
	return fmt.Sprintf("%s (--platforms %s); not verified: %s", need, res.PlatformMode, strings.Join(failed, ", "))
}

// signerName is who made a verified signature: the keyless identity, or
// the trusted key's name.
func signerName(sig verify.Signature) string {
	if sig.Identity != "" {
		return sig.Identity
	}
	return "key " + sig.Key
}

// platformsText says what a rule requires of an index, for policy explain.
func platformsText(r *policy.Rule) string {
	switch r.Platforms {
	case policy.PlatformsEvery:
		return "every — an index's platform manifests" + filterText(r) + " must each meet these on their own digests"
	case policy.PlatformsAny:
		return "any — at least one of an index's platform manifests" + filterText(r) + " must meet these (a node may pull an unverified one: audit and warn)"
	}
	return "index — an index meets these on its own digest, which covers its platforms'"
}

func filterText(r *policy.Rule) string {
	if len(r.PlatformFilter) == 0 {
		return ""
	}
	return " (" + strings.Join(r.PlatformFilter, ", ") + ")"
}
