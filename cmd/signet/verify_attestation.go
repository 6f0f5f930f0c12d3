package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/verify"
)

func newVerifyAttestationCmd(s *streams) *cobra.Command {
	var (
		reg       registryOptions
		trust     trustOptions
		ids       identityOptions
		keyRefs   []string
		typ       string
		condition string
		output    string
		files     bundleFiles
		plats     platformFlags
		tb        bundleTrust
		timeout   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "verify-attestation --key KEY --type TYPE [--condition CEL] IMAGE...",
		Short: "Verify attestations of a type attached to images, and a condition on them",
		Long: `Find each IMAGE's attestations of --type (referrers API, fallback tag, or
cosign's legacy .att tag) and verify them: DSSE signature by a trusted key,
subject digest equal to the image digest, predicate type, transparency-log
entry (as for verify), and the --condition, a CEL expression over the
statement with the variables predicate, predicateType, subject and statement.

--bundle FILE adds attestations kept beside the image: a Sigstore bundle,
JSON Lines of bundles (what gh attestation download writes), or GitHub's
attestations API response. Each is checked for every IMAGE exactly like an
attached one: a bundle whose subject names another digest is refused.
GitHub's artifact attestations are signed keylessly by a workflow: trust it
with --certificate-identity (the workflow's URI) and
--certificate-oidc-issuer https://token.actions.githubusercontent.com, and
give GitHub's own trusted root (gh attestation trusted-root) as
--trusted-root for a private repository's attestations
(docs/github-attestations.md).

A detached predicate (signet attest --detached) counts for its document's
type: the small signed statement is verified as above, then the document is
fetched and must have the digest, size and media type it names, and be at
most --max-predicate-size. A condition sees a document of up to 16 MiB whole;
a larger one through its small top-level fields and the variable summary
(summary.counts.components, summary.licenses; docs/attestations.md). An
attached attestation is seen the same way: a statement of up to 16 MiB
whole, a larger one through its predicate's small fields and summary; a
condition that reads what was left out is refused.

--platforms every requires a valid attestation on each platform manifest of
an index, on its own digest (an SBOM per platform); any, on at least one;
index (default), on the index's digest. --platform-filter as for verify.

--trust-bundle takes the trusted root, the recall list and the keys from a
signed trust bundle, verified against --trust-bundle-root, as verify does
(docs/trust-bundle.md); --key, --trusted-root and --recalls are refused
with it. A bundle that carries a policy is refused unless a keyless
identity is given (the identity is then the signer, and the policy is not
applied): its policy says which keys count for which images, so check
attestations under it with verify --trust-bundle (the rules'
attestations).

` + timeoutHelp + exitCodesHelp,
		Example: `  signet verify-attestation --key release.pub --type vuln \
      --condition 'predicate.scanner.result.summary.fixable.critical == 0' registry.example.com/app:v1
  signet verify-attestation --key release.pub --type cyclonedx --condition 'size(predicate.components) > 0' IMAGE
  signet verify-attestation --key release.pub --type cyclonedx --platforms every registry.example.com/app:v1
  signet verify-attestation --key release.pub --type slsaprovenance1 \
      --condition 'predicate.runDetails.builder.id.startsWith("https://github.com/example/")' IMAGE
  gh attestation download oci://ghcr.io/acme/app:v1 --owner acme   # writes sha256:<digest>.jsonl
  signet verify-attestation --type slsaprovenance1 --bundle sha256:<digest>.jsonl \
      --certificate-identity https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main \
      --certificate-oidc-issuer https://token.actions.githubusercontent.com ghcr.io/acme/app:v1
  signet verify-attestation --trust-bundle oci://registry.example.com/trust/bundle:prod \
      --trust-bundle-root bundle.root.json --type cyclonedx registry.example.com/team/app:v1`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, images []string) error {
			cancel, err := withTimeout(cmd, timeout)
			if err != nil {
				return err
			}
			defer cancel()
			idents, err := ids.identities()
			if err != nil {
				return err
			}
			if typ == "" {
				return usageError{fmt.Errorf("--type is required: the predicate type to verify (cyclonedx, spdxjson, vuln, slsaprovenance1, ... or a URI)")}
			}
			if tb.ref != "" {
				if keyRefs, err = attestationFromBundle(cmd, s, reg, &trust, &tb, keyRefs, len(idents) > 0); err != nil {
					return err
				}
			}
			if len(keyRefs) == 0 && len(idents) == 0 {
				return usageError{fmt.Errorf("a trusted signer is required: --key, --certificate-identity with --certificate-oidc-issuer, or --trust-bundle")}
			}
			if err := outputFormat(output); err != nil {
				return err
			}
			pt, _, err := attest.ResolveType(typ)
			if err != nil {
				return usageError{err}
			}
			if err := checkReferences(reg.client(), images...); err != nil {
				return err
			}
			pmode, err := plats.mode()
			if err != nil {
				return err
			}
			req := verify.AttestationRequest{PredicateType: pt, Platforms: pmode, PlatformFilter: plats.filter}
			if condition != "" {
				if req.Condition, err = verify.CompileConditionFor(pt, condition); err != nil {
					return usageError{err}
				}
			}
			extra, err := files.read()
			if err != nil {
				return err
			}
			v, mode, err := buildVerifier(cmd, s, reg, trust, keyRefs, idents, verify.WithExtraArtifacts(extra...), verify.WithMaxDetachedBytes(trust.maxPredicate))
			if err != nil {
				return err
			}
			req.TransparencyLog = mode
			what := candidates{typ: typ, predicateType: pt, condition: condition}
			// One image at a time: an attestation may be hundreds of
			// megabytes (--max-artifact-size), and memory stays that of one.
			return reportEach(s, images, output, what, 1, func(img string) (*verify.Result, error) {
				return v.VerifyAttestations(cmd.Context(), img, req)
			})
		},
	}
	reg.addFlags(cmd)
	reg.addSizeFlag(cmd, 256<<20)
	reg.addLayoutFlag(cmd)
	trust.addFlags(cmd)
	trust.addPredicateCapFlag(cmd)
	ids.addFlags(cmd)
	files.addFlag(cmd)
	plats.addFlags(cmd)
	tb.addFlags(cmd)
	cmd.Flags().StringArrayVar(&keyRefs, "key", nil, "trusted public key (repeatable)")
	cmd.Flags().StringVar(&typ, "type", "", "predicate type: a cosign name (cyclonedx, spdxjson, vuln, slsaprovenance1, ...) or a URI")
	cmd.Flags().StringVar(&condition, "condition", "", "CEL expression that must be true for the statement")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json (includes the verified statements)")
	addTimeoutFlag(cmd, &timeout)
	return cmd
}

// attestationReport is one image's outcome as verify-attestation prints it
// in JSON: the candidates are attestations of one predicate type.
type attestationReport struct {
	Image         string             `json:"image"`
	PredicateType string             `json:"predicateType"`
	Condition     string             `json:"condition,omitempty"`
	Result        *attestationResult `json:"result,omitempty"`
	Error         string             `json:"error,omitempty"`
	ExitCode      int                `json:"exitCode"`
}

// attestationResult is a verify.Result whose candidates are attestations.
type attestationResult struct {
	Image        string             `json:"image"`
	Digest       string             `json:"digest"`
	Tag          string             `json:"tag,omitempty"`
	Verified     bool               `json:"verified"`
	Attestations []verify.Signature `json:"attestations"`
	// Ignored counts attached artifacts that are not attestations of this type.
	Ignored int `json:"ignored"`
	// PlatformMode, Platforms and Skipped: an index verified platform by
	// platform (--platforms every or any), each platform's attestations
	// in its signatures.
	PlatformMode verify.PlatformMode     `json:"platformMode,omitempty"`
	Platforms    []verify.PlatformResult `json:"platforms,omitempty"`
	Skipped      []string                `json:"skipped,omitempty"`
}

func attestationReports(reps []verifyReport, what candidates) []attestationReport {
	out := make([]attestationReport, len(reps))
	for i, r := range reps {
		out[i] = attestationReport{Image: r.Image, PredicateType: what.predicateType, Condition: what.condition, Error: r.Error, ExitCode: r.ExitCode}
		if res := r.Result; res != nil {
			out[i].Result = &attestationResult{Image: res.Image, Digest: res.Digest, Tag: res.Tag, Verified: res.Verified,
				Attestations: res.Signatures, Ignored: res.Ignored, PlatformMode: res.PlatformMode, Platforms: res.Platforms, Skipped: res.Skipped}
			if res.Signatures == nil {
				out[i].Result.Attestations = []verify.Signature{}
			}
		}
	}
	return out
}

func newDownloadCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{Use: "download", Short: "Print what is attached to an image"}
	var reg registryOptions
	var typ string
	var doc detachedDownload
	att := &cobra.Command{
		Use:   "attestation IMAGE",
		Short: "Print the in-toto statements attached to an image, one JSON object per line (NOT verified)",
		Long: `Print the in-toto statements attached to IMAGE (referrer bundles and
cosign's legacy .att tag), one JSON object per line, NOT verified: use
verify-attestation to trust them. --type keeps statements of one predicate
type; a detached predicate (signet attest --detached) counts for its
document's type.

A detached predicate's statement is small: it names the document (digest,
size, media type) and the artifact holding it. For each, a line on stderr
says where the document is. --predicate-file PATH writes the document: it is
streamed from its artifact through a check of the digest and size the
statement names (at most --max-predicate-size bytes) into PATH, which is
written only once the check passed. The statement is still NOT verified.

` + exitCodesHelp,
		Example: `  signet download attestation --type cyclonedx registry.example.com/app:v1
  signet download attestation --type cyclonedx --predicate-file sbom.cdx.json registry.example.com/app:v1
  signet verify-attestation --key release.pub --type cyclonedx registry.example.com/app:v1   # to trust it`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := checkReferences(reg.client(), a[0]); err != nil {
				return err
			}
			pt := ""
			if typ != "" {
				var err error
				if pt, _, err = attest.ResolveType(typ); err != nil {
					return usageError{err}
				}
			}
			if err := doc.check(); err != nil {
				return err
			}
			client := reg.client()
			t, err := client.Resolve(cmd.Context(), a[0])
			if err != nil {
				return err
			}
			found, err := attest.StatementsOf(cmd.Context(), client, t, pt)
			if err != nil {
				return err
			}
			for _, f := range found {
				if f.Error != "" {
					fmt.Fprintf(s.err, "%s %s: unreadable: %s\n", f.Layout, f.Manifest, f.Error)
					continue
				}
				fmt.Fprintln(s.out, string(f.Statement))
				if f.Detached != nil && doc.path == "" {
					fmt.Fprintln(s.err, detachedLine(f))
				}
			}
			if len(found) == 0 {
				fmt.Fprintln(s.err, "no attestations found")
				return reported{verify.ErrNoSignatures}
			}
			return doc.write(cmd.Context(), s, client, t, found)
		},
	}
	reg.addFlags(att)
	reg.addSizeFlag(att, 256<<20)
	reg.addLayoutFlag(att)
	att.Flags().StringVar(&typ, "type", "", "only statements of this predicate type")
	doc.addFlags(att)
	cmd.AddCommand(att, newDownloadSignatureCmd(s))
	return cmd
}
