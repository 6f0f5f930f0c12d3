package policy_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/signet-dev/signet/policy"
)

func TestPlatformsSetting(t *testing.T) {
	t.Parallel()
	rule := func(extra string) string {
		return header + "images:\n  - pattern: a/**\n    signers: [{name: a, key: release.pub}]\n" + extra
	}
	for _, tc := range []struct {
		name, doc  string
		mode       string   // compiled, when valid
		filter     []string // compiled, when valid
		wantErrors []string // each in the error, when invalid
	}{
		{name: "default is index", doc: rule(""), mode: "index"},
		{name: "every", doc: rule("    platforms: every\n"), mode: "every"},
		{name: "any with a filter", doc: rule("    platforms: any\n    platformFilter: [linux/amd64, linux/arm/v7]\n"), mode: "any", filter: []string{"linux/amd64", "linux/arm/v7"}},
		{name: "unknown setting", doc: rule("    platforms: all\n"), wantErrors: []string{"line 6", "images[0].platforms", `must be index, every or any, not "all"`}},
		{name: "filter with index", doc: rule("    platformFilter: [linux/amd64]\n"), wantErrors: []string{"images[0].platformFilter", "applies to platforms: every or any"}},
		{name: "not a platform", doc: rule("    platforms: every\n    platformFilter: [linux, linux/amd64/v1/x]\n"),
			wantErrors: []string{"images[0].platformFilter[0]", `"linux" is not a platform`, "images[0].platformFilter[1]"}},
		{name: "a glob", doc: rule("    platforms: every\n    platformFilter: [linux/*]\n"), wantErrors: []string{"images[0].platformFilter[0]", "no wildcards"}},
		{name: "twice", doc: rule("    platforms: every\n    platformFilter: [linux/amd64, linux/amd64]\n"), wantErrors: []string{"images[0].platformFilter[1]", "given twice"}},
		{name: "not a list", doc: rule("    platforms: every\n    platformFilter: linux/amd64\n"), wantErrors: []string{"images[0].platformFilter", "must be a list"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := compile(t, tc.doc)
			if len(tc.wantErrors) > 0 {
				var errs policy.Errors
				if !errors.As(err, &errs) {
					t.Fatalf("got %v, want field errors", err)
				}
				for _, w := range tc.wantErrors {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r := c.Rules[0]; r.Platforms != tc.mode || !slices.Equal(r.PlatformFilter, tc.filter) {
				t.Errorf("platforms %q filter %v, want %q %v", r.Platforms, r.PlatformFilter, tc.mode, tc.filter)
			}
		})
	}
}

func TestPlatformMatches(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		filter   []string
		platform string
		want     bool
	}{
		{nil, "linux/amd64", true},
		{[]string{"linux/amd64"}, "linux/amd64", true},
		{[]string{"linux/amd64"}, "linux/arm64", false},
		{[]string{"linux/arm"}, "linux/arm/v7", true},
		{[]string{"linux/arm/v6"}, "linux/arm/v7", false},
		{[]string{"linux/arm/v7"}, "linux/arm", false},
		{[]string{"linux/arm"}, "linux/arm64", false},
		{[]string{"windows/amd64"}, "linux/amd64", false},
	} {
		if got := policy.PlatformMatches(tc.filter, tc.platform); got != tc.want {
			t.Errorf("PlatformMatches(%v, %q) = %v, want %v", tc.filter, tc.platform, got, tc.want)
		}
	}
}
