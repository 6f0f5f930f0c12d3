package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
)

// version and commit are set at build time with -ldflags "-X main.version=...
// -X main.commit=..." (the Makefile passes git describe and the commit);
// otherwise the module's build information says.
var version, commit string

// versionInfo is what 'signet version' reports.
type versionInfo struct {
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commitTime,omitempty"`
	// Modified is true when the binary was built from a work tree with
	// uncommitted changes.
	Modified  bool    `json:"modified,omitempty"`
	GoVersion string  `json:"goVersion"`
	Platform  string  `json:"platform"`
	Formats   formats `json:"formats"`
}

// formats are the versions of what Signet writes and reads.
type formats struct {
	// Bundle is the media type of the Sigstore bundles it writes.
	Bundle string `json:"bundleMediaType"`
	// Statement is the in-toto statement type of its signatures and attestations.
	Statement string `json:"statementType"`
	// SignaturePredicate is the predicate type of an image signature (cosign v3's).
	SignaturePredicate string `json:"signaturePredicateType"`
	// RekorAPIs are the Rekor API major versions it logs to (newest first).
	RekorAPIs []uint32 `json:"rekorApiVersions"`
	// Policy is the apiVersion of the policy documents it reads.
	Policy string `json:"policyApiVersion"`
}

// buildVersion gathers the version from the -ldflags override and the
// module's build information (bi may be nil).
func buildVersion(bi *debug.BuildInfo, ok bool) versionInfo {
	v := versionInfo{
		Version:   version,
		Commit:    commit,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
		Formats: formats{
			Bundle:             oci.BundleMediaType,
			Statement:          attest.StatementTypeV1,
			SignaturePredicate: oci.CosignSignPredicateType,
			RekorAPIs:          rekorAPIs(),
			Policy:             policy.APIVersion,
		},
	}
	// git describe --dirty marks a work tree with uncommitted changes.
	v.Modified = strings.HasSuffix(v.Version, "-dirty")
	if !ok || bi == nil {
		if v.Version == "" {
			v.Version = "unknown (built without module information)"
		}
		return v
	}
	if v.Version == "" {
		v.Version = bi.Main.Version
	}
	if v.Version == "" || v.Version == "(devel)" {
		v.Version = "devel"
	}
	if bi.GoVersion != "" {
		v.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if v.Commit == "" {
				v.Commit = s.Value
			}
		case "vcs.time":
			v.CommitTime = s.Value
		case "vcs.modified":
			v.Modified = v.Modified || s.Value == "true"
		}
	}
	return v
}

func rekorAPIs() []uint32 {
	vs := slices.Clone(sgsign.RekorAPIVersions)
	slices.Sort(vs)
	slices.Reverse(vs)
	return vs
}

func currentVersion() versionInfo { return buildVersion(debug.ReadBuildInfo()) }

// text is the version as 'signet version' and 'signet --version' print it.
func (v versionInfo) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "signet %s\n", v.Version)
	c := v.Commit
	if c == "" {
		c = "unknown (built outside a git work tree, or with -buildvcs=false; 'make build' sets it)"
	}
	if v.Modified {
		c += " (with uncommitted changes)"
	}
	fmt.Fprintf(&b, "  commit:     %s\n", c)
	if v.CommitTime != "" {
		fmt.Fprintf(&b, "  committed:  %s\n", v.CommitTime)
	}
	fmt.Fprintf(&b, "  go:         %s %s\n", v.GoVersion, v.Platform)
	apis := make([]string, len(v.Formats.RekorAPIs))
	for i, a := range v.Formats.RekorAPIs {
		apis[i] = fmt.Sprintf("v%d", a)
	}
	fmt.Fprintf(&b, "Formats:\n")
	fmt.Fprintf(&b, "  bundle:     %s\n", v.Formats.Bundle)
	fmt.Fprintf(&b, "  statement:  %s (signatures: predicate %s)\n", v.Formats.Statement, v.Formats.SignaturePredicate)
	fmt.Fprintf(&b, "  rekor API:  %s\n", strings.Join(apis, ", "))
	fmt.Fprintf(&b, "  policy:     apiVersion %s\n", v.Formats.Policy)
	return b.String()
}

func newVersionCmd(s *streams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print Signet's version, commit, Go version and the format versions it writes",
		Long: `Print Signet's version (set at build time, else the module's), the commit it
was built from (and whether the work tree had uncommitted changes), the Go
version, and the versions of the formats it writes and reads: the Sigstore
bundle media type, the in-toto statement type, the Rekor API versions it logs
to, and the policy apiVersion. 'signet --version' prints the same.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := outputFormat(output); err != nil {
				return err
			}
			v := currentVersion()
			if output == "json" {
				return printJSON(s, v)
			}
			_, err := fmt.Fprint(s.out, v.text())
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
