package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/internal/gcpace"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
)

func newAttestCmd(s *streams) *cobra.Command {
	var (
		reg       registryOptions
		signing   signingOptions
		notation  notationOptions
		typ       string
		predFile  string
		stmtFile  string
		output    string
		recursive bool
		detached  bool
	)
	cmd := &cobra.Command{
		Use:   "attest --key KEY --type TYPE --predicate FILE IMAGE...",
		Short: "Attach a signed in-toto attestation (SBOM, scan result, provenance) to images",
		Long: `Build an in-toto Statement v1 about each IMAGE's digest with the predicate in
FILE, sign it (DSSE in a Sigstore bundle, logged like signatures) and attach it
as an OCI referrer whose annotations carry the predicate type, as cosign v3
does; 'cosign verify-attestation --key --type' accepts it.

--type is one of cosign's names or any predicate-type URI:
  spdx, spdxjson      SPDX 2.3 (JSON; spdx also takes tag-value), parsed with tools-golang
  cyclonedx           CycloneDX 1.4/1.5/1.6 JSON, checked against the specification's
                      JSON schema for its specVersion, while streaming
  vuln                a Trivy or Grype JSON report, converted to cosign's vuln predicate
                      (scanner, database, counts by severity and of fixable findings)
  slsaprovenance1     SLSA provenance v1 (see 'signet provenance generate')
  slsaprovenance      SLSA provenance v0.2
  openvex             an OpenVEX document
  custom              any file, wrapped as cosign does ({"Data": ..., "Timestamp": ...})
  https://...         any JSON object, under that predicate type
A file of the wrong kind is refused with what it looks like instead, an empty
one as empty. The inputs are checked before the key is unlocked.

--format notation writes what Notation users' verifiers (Kyverno, Ratify,
signet verify with a notation signer) read instead: the statement as an OCI
artifact of type application/vnd.in-toto+json whose subject is the image, and
a Notation signature (JWS, or COSE with --envelope cose) over that artifact's
manifest, made with --key and --certificate-chain and stored as a referrer of
the artifact. Such an attestation is not logged; --timestamp-url (with
--timestamp-root) adds an RFC 3161 timestamp, which a policy's maxAge then
measures from.

--detached stores the predicate as its own OCI artifact (a referrer of the
image, of the predicate's media type, streamed from the file) and signs and
logs a small statement of type https://signet.dev/detached-predicate/v1 that
names the document's digest, size and media type: for SBOMs too large for a
transparency log or for memory. 'signet verify-attestation --type cyclonedx'
accepts it, fetching and checking the document after the signature
(docs/attestations.md).`,
		Example: `  signet attest --key release.key --type cyclonedx --predicate sbom.cdx.json registry.example.com/app@sha256:...
  signet attest --key release.key --type spdxjson  --predicate sbom.spdx.json registry.example.com/app@sha256:...
  trivy image -f json -o scan.json registry.example.com/app@sha256:...
  signet attest --key release.key --type vuln --predicate scan.json registry.example.com/app@sha256:...
  grype -o json registry.example.com/app@sha256:... > grype.json
  signet attest --key release.key --type vuln --predicate grype.json registry.example.com/app@sha256:...
  signet provenance generate > provenance.json
  signet attest --key release.key --type slsaprovenance1 --predicate provenance.json registry.example.com/app@sha256:...
  signet attest --key release.key --type https://example.com/review/v1 --predicate review.json registry.example.com/app@sha256:...
  signet attest --key release.key --statement statement.json registry.example.com/app@sha256:...
  signet attest --format notation --key release.key --certificate-chain release-chain.pem \
      --type cyclonedx --predicate sbom.cdx.json registry.example.com/app@sha256:...
  signet attest --detached --key release.key --type cyclonedx --predicate huge-sbom.cdx.json registry.example.com/app@sha256:...`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, images []string) error {
			if (predFile == "") == (stmtFile == "") {
				return usageError{fmt.Errorf("give --predicate FILE with --type, or --statement FILE")}
			}
			if predFile != "" && typ == "" {
				return usageError{fmt.Errorf("--type is required with --predicate")}
			}
			if err := outputFormat(output); err != nil {
				return err
			}
			if detached && (stmtFile != "" || notation.format == "notation") {
				return usageError{fmt.Errorf("--detached stores a --predicate file apart; it takes neither --statement nor --format notation")}
			}
			if err := notation.check(cmd, sign.LayoutReferrers); err != nil {
				return err
			}
			// Every input is checked before the key is unlocked: a bad
			// predicate or reference costs no password and no decryption.
			client := reg.client()
			if err := checkReferences(client, images...); err != nil {
				return err
			}
			checked, err := checkLarge(predFile, func() (*attest.Checked, error) {
				return checkAttestInput(typ, predFile, stmtFile, recursive, detached)
			})
			if err != nil {
				return err
			}
			// A large SBOM's check (the set that finds repeated components)
			// is garbage now: give it back before the key's scrypt takes its
			// own 128 MB, so the two do not add up in the peak.
			debug.FreeOSMemory()
			a, err := attester(cmd, s, &signing, &notation, client)
			if err != nil {
				return err
			}
			var all []attest.Attested
			for _, img := range images {
				out, err := a.AttestChecked(cmd.Context(), img, checked)
				if err != nil {
					return fmt.Errorf("attesting %s: %w", img, err)
				}
				all = append(all, out...)
				if output == "text" {
					for _, o := range out {
						what := img
						if o.Platform != "" {
							what = "  platform " + o.Platform
						}
						fmt.Fprintf(s.out, "Attested %s (%s): %s\n", what, o.Digest, o.PredicateType)
						for _, e := range o.Log {
							fmt.Fprintf(s.out, "  logged at index %d (%s)\n", e.Index, e.Kind)
						}
						if o.Detached != nil {
							fmt.Fprintf(s.out, "  predicate stored apart as %s: %s\n", o.Detached.Layout, o.Detached.Ref)
						}
						fmt.Fprintf(s.out, "  stored as %s: %s\n", o.Attached.Layout, o.Attached.Ref)
						if o.Signature != nil {
							fmt.Fprintf(s.out, "  signed with Notation, stored as %s: %s\n", o.Signature.Layout, o.Signature.Ref)
						}
					}
				}
			}
			if output == "json" {
				return printJSON(s, all)
			}
			return nil
		},
	}
	reg.addFlags(cmd)
	reg.addEmbedFlag(cmd)
	reg.addLayoutFlag(cmd)
	signing.addFlags(cmd)
	notation.addFlags(cmd)
	cmd.Flags().StringVar(&typ, "type", "", "predicate type: "+strings.Join(attest.TypeNames(), ", ")+", or a URI")
	cmd.Flags().StringVar(&predFile, "predicate", "", "predicate file (SBOM, scan report, provenance, ...)")
	cmd.Flags().StringVar(&stmtFile, "statement", "", "a complete in-toto statement built elsewhere (its subject must name the image digest)")
	cmd.Flags().BoolVar(&recursive, "recursive", false, "for an image index, also attest each platform manifest")
	cmd.Flags().BoolVar(&detached, "detached", false, "store the predicate as its own OCI artifact and sign a small statement naming it (for very large predicates)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// attester signs in the format the flags ask for.
func attester(cmd *cobra.Command, s *streams, signing *signingOptions, notation *notationOptions, client *oci.Client) (*attest.Attester, error) {
	if notation.format == "notation" {
		ns, err := notation.signer(cmd.Context(), s, signing, client)
		if err != nil {
			return nil, err
		}
		return attest.NewNotation(ns, client), nil
	}
	signer, err := signing.signer(cmd.Context(), s, client)
	if err != nil {
		return nil, err
	}
	return attest.New(signer, client), nil
}

// checkAttestInput reads and checks the predicate or statement file.
func checkAttestInput(typ, predFile, stmtFile string, recursive, detached bool) (*attest.Checked, error) {
	req := attest.Request{Type: typ, Recursive: recursive, Detached: detached}
	if predFile == "" {
		data, err := os.ReadFile(stmtFile)
		if err != nil {
			return nil, err
		}
		req.Statement = data
		c, err := attest.Check(req)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", stmtFile, err)
		}
		return c, nil
	}
	if _, _, err := attest.ResolveType(typ); err != nil {
		return nil, usageError{err}
	}
	req.PredicatePath = predFile
	c, err := attest.Check(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", predFile, err)
	}
	return c, nil
}

// checkLarge runs check with the garbage collector kept closer to the live
// heap when the predicate file is large (over 64 MiB): checking a 1 GB SBOM
// holds a set of its components, and the default pacing would let the heap
// grow to twice that before collecting.
func checkLarge(predFile string, check func() (*attest.Checked, error)) (*attest.Checked, error) {
	if st, err := os.Stat(predFile); predFile != "" && err == nil && st.Size() > 64<<20 {
		defer gcpace.Tight(30)()
	}
	return check()
}
