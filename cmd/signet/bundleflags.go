package main

import (
	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/oci"
)

// bundleFiles is --bundle: files of Sigstore bundles considered besides the
// signatures and attestations attached to each image.
type bundleFiles []string

func (b *bundleFiles) addFlag(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar((*[]string)(b), "bundle", nil,
		"also consider the Sigstore bundles in `FILE`: one bundle, JSON Lines (gh attestation download), or GitHub's attestations API response (repeatable)")
}

// read reads every file given (an unreadable one is a bad input file, exit 1).
func (b bundleFiles) read() ([]oci.Artifact, error) {
	var out []oci.Artifact
	for _, f := range b {
		arts, err := oci.ReadBundleFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, arts...)
	}
	return out, nil
}
