package main

import (
	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/doctor"
)

func newDoctorCmd(s *streams) *cobra.Command {
	var (
		reg    registryOptions
		fix    bool
		output string
	)
	cmd := &cobra.Command{
		Use:   "doctor REGISTRY/REPO[:TAG|@DIGEST] [--fix] [-o json]",
		Short: "Check (and repair) how a registry keeps an image's signatures and attestations",
		Long: `Check how a registry keeps what is attached to an image:

  - whether the registry has the OCI referrers API (Docker Hub, GHCR and
    distribution have none: clients then keep a list of referrers in the
    fallback tag sha256-<hex>);
  - the health of that fallback index, for the image and, for an index,
    each platform manifest: entries without artifactType or annotations
    (older cosign wrote them so), entries naming manifests missing from the
    repository, duplicate entries, entries whose manifest is a referrer of
    another image, entries whose media type or size disagree with the
    manifest, and a fallback tag that is not an index at all;
  - cosign's legacy sha256-<hex>.sig and .att tags, and the repository's
    signed tag heads (signet tag), read only.
Notation signatures and attestation artifacts are ordinary referrers: they
are counted, not flagged.

--fix rewrites each damaged fallback index: it rebuilds it from the
manifests that exist (dropping missing, duplicate and other-subject
entries; taking each entry's artifactType, annotations, media type and size
from its manifest), writes it, reads it back and compares, and says what it
changed. It writes nothing when anything could not be read, when the
registry has the referrers API (the fallback tag is not used there), or
when the tag changed since it was read (someone else is writing it: run
doctor again). A second --fix changes nothing.

Exit 0: healthy (or repaired); 4: damage found and not repaired; 5: the
registry could not be read, or the tag changed during the repair. The
details are in docs/doctor.md.`,
		Example: `  # Report only
  signet doctor registry.example.com/team/app:v1

  # Repair the fallback indexes of an image and its platforms
  signet doctor --fix registry.example.com/team/app@sha256:4f1c...

  # For scripts
  signet doctor -o json registry.example.com/team/app:v1 | jq '.subjects[].fallback.findings'`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := outputFormat(output); err != nil {
				return err
			}
			client := reg.client()
			if err := checkReferences(client, a[0]); err != nil {
				return err
			}
			r, err := doctor.Run(cmd.Context(), client, a[0], doctor.Options{Fix: fix})
			if err != nil && r == nil {
				return err
			}
			if output == "json" {
				if perr := printJSON(s, r); perr != nil {
					return perr
				}
			} else if perr := r.WriteText(s.out); perr != nil {
				return perr
			}
			if err != nil {
				return err
			}
			if err := r.Err(); err != nil {
				return reported{err}
			}
			return nil
		},
	}
	reg.addFlags(cmd)
	cmd.Flags().BoolVar(&fix, "fix", false, "rewrite each damaged fallback index from the manifests that exist (read back and compared)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
