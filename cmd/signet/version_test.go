package main

import (
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-12-01T00:00:00Z"}, {Key: "vcs.modified", Value: "true"}}
	for _, tc := range []struct {
		name            string
		ldVersion       string
		ldCommit        string
		bi              *debug.BuildInfo
		version, commit string
		modified        bool
	}{
		{"go install module@version", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3", "", false},
		{"local build, vcs stamped", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs}, "devel", "0123abcd", true},
		{"make build: ldflags win", "v1.2.3-4-gabcdef-dirty", "fedcba98", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs}, "v1.2.3-4-gabcdef-dirty", "fedcba98", true},
		{"ldflags, clean tree", "v1.2.3", "fedcba98", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "v1.2.3", "fedcba98", false},
		{"no build info", "", "", nil, "unknown (built without module information)", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			version, commit = tc.ldVersion, tc.ldCommit
			defer func() { version, commit = "", "" }()
			v := buildVersion(tc.bi, tc.bi != nil)
			if v.Version != tc.version || v.Commit != tc.commit || v.Modified != tc.modified {
				t.Fatalf("got version %q commit %q modified %v, want %q %q %v", v.Version, v.Commit, v.Modified, tc.version, tc.commit, tc.modified)
			}
			if v.Formats.Bundle != "application/vnd.dev.sigstore.bundle.v0.3+json" || v.Formats.Statement != "https://in-toto.io/Statement/v1" ||
				v.Formats.Policy != "signet.dev/v1alpha1" || len(v.Formats.RekorAPIs) != 2 || v.Formats.RekorAPIs[0] != 2 {
				t.Fatalf("formats %+v", v.Formats)
			}
		})
	}
}

// TestVersionCommand: 'signet version', 'signet --version' and -o json.
func TestVersionCommand(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, stderr, code := signet(t, args...)
		for _, want := range []string{"signet ", "commit:", "go:", "application/vnd.dev.sigstore.bundle.v0.3+json", "https://in-toto.io/Statement/v1", "rekor API:  v2, v1", "signet.dev/v1alpha1"} {
			if code != exitOK || !strings.Contains(out, want) {
				t.Errorf("%v: exit %d, output lacks %q:\n%s%s", args, code, want, out, stderr)
			}
		}
	}
	out, _, code := signet(t, "version", "-o", "json")
	var v versionInfo
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != exitOK || v.Version == "" || v.GoVersion == "" || v.Formats.Policy != "signet.dev/v1alpha1" {
		t.Fatalf("version -o json: exit %d, %v:\n%s", code, err, out)
	}
}
