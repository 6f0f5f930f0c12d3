package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/mirror"
	"github.com/signet-dev/signet/oci"
)

func newCopyCmd(s *streams) *cobra.Command {
	var reg registryOptions
	var output, only string
	cmd := &cobra.Command{
		Use:   "copy SRC DST",
		Short: "Copy an image with its signatures, attestations and referrers, preserving digests",
		Long: `Copy an image or index, and everything attached to it, from SRC to DST: a
registry (REGISTRY/REPOSITORY[:TAG|@DIGEST]) or an OCI image layout directory
(oci-layout:DIR[:TAG|@DIGEST], created if DST does not exist).

Copied with it: Sigstore bundles and other OCI 1.1 referrers (and theirs), the
referrers fallback tag sha256-<hex> (into a layout; a registry without the
referrers API gets its own, kept up to date), cosign's legacy tags
sha256-<hex>.sig, .att and .sbom, and the repository's signed tag heads
(tag signet-tuf). For an index, what is attached to each platform manifest too.

Manifests are copied byte for byte: every digest, and so every signature, is
the same at DST. What DST already holds is skipped, so running the same copy
again resumes one that stopped and copies nothing once it is complete.
A legacy tag or signed tag heads that DST holds with other content is not
overwritten (it would drop what DST has): the copy stops with exit 1.

--only selects kinds. An attestation whose predicate is detached (signet
attest --detached) takes the artifact holding its document along, by the
digest its statement names, so that it verifies at DST; the copy stops if
SRC lacks that artifact.

DST without a tag gets SRC's tag, if SRC was named by one. Progress goes to
stderr; -o json prints a summary (the image's digest and each item copied or
skipped). A mirrored image verifies at the mirror with the policy of its
origin when the policy maps one to the other (mirrors:, see docs/copy.md).

` + exitCodesHelp,
		Example: `  signet copy registry.example.com/team/app:v1 mirror.internal/team/app
  signet copy registry.example.com/team/app:v1 oci-layout:./app-layout        # into a layout (for an air gap)
  signet copy oci-layout:./app-layout:v1 airgap.internal:5000/team/app:v1      # and out of it
  signet copy --only signatures,attestations registry.example.com/team/app@sha256:... mirror.internal/team/app
  signet copy -o json registry.example.com/team/app:v1 mirror.internal/team/app`,
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := outputFormat(output); err != nil {
				return err
			}
			var kinds []mirror.Kind
			if cmd.Flags().Changed("only") {
				var err error
				if kinds, err = mirror.ParseOnly(only); err != nil {
					return usageError{err}
				}
			}
			reg.layouts = true
			req, err := mirror.Endpoints(reg.client(), a[0], a[1], reg.maxBytes)
			if err != nil {
				return refErr(err)
			}
			req.Only = kinds
			req.Progress = func(it mirror.Item) { fmt.Fprintln(s.err, progressLine(it)) }
			res, err := mirror.Copy(cmd.Context(), req)
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(s, res)
			}
			_, err = fmt.Fprintf(s.out, "%s -> %s (%s): %d copied, %d already there\n", a[0], a[1], res.Digest, res.Copied, res.Skipped)
			return err
		},
	}
	reg.addFlags(cmd)
	reg.addSizeFlag(cmd, 0)
	cmd.Flags().StringVar(&only, "only", "all", "what to copy, comma-separated: image, signatures, attestations, sboms, referrers, fallback-tag, tag-heads, or all")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func progressLine(it mirror.Item) string {
	verb := "copied "
	if !it.Copied {
		verb = "skipped"
	}
	line := fmt.Sprintf("%s %-12s %s", verb, it.Kind, it.Digest)
	if it.Tag != "" {
		line += " (tag " + it.Tag + ")"
	}
	if !it.Copied {
		line += " already there"
	}
	return line
}

// refErr makes a malformed reference a usage error.
func refErr(err error) error {
	if errors.Is(err, oci.ErrInvalidReference) {
		return usageError{err}
	}
	return err
}
