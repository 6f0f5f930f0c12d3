package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/sign"
)

func newSignCmd(s *streams) *cobra.Command {
	var (
		reg       registryOptions
		signing   signingOptions
		layout    string
		output    string
		annots    []string
		recursive bool
		workers   int
		notation  notationOptions
	)
	cmd := &cobra.Command{
		Use:   "sign --key KEY IMAGE...",
		Short: "Sign image digests and attach the signatures in the registry",
		Long: `Sign each IMAGE's manifest digest and attach the signature to it.

The signature is what cosign v3 writes: a Sigstore bundle holding a DSSE
envelope over an in-toto statement (predicate https://sigstore.dev/cosign/sign/v1)
naming the digest, stored as an OCI 1.1 referrer of the image. Registries
without the referrers API get the referrers fallback tag (sha256-<hex>).
'cosign verify --key' accepts these signatures.

Name images by digest where you can. A tag is resolved to its digest first,
which is racy (the tag can move in between): Signet warns, signs the digest it
resolved, and records the tag in the signed statement.

The signature is logged in a transparency log when one is configured:
--tlog-url, else --signing-config, else $SIGNET_HOME/signing_config.json
(which 'signet log serve' writes for its local log). The entry and its
inclusion proof go into the bundle, so verification needs no network.

Without --key the signature is keyless: an ephemeral key that never touches
disk, a short-lived certificate from Fulcio (--fulcio-url, or the signing
config) for the OIDC identity in --identity-token, SIGSTORE_ID_TOKEN, the
GitHub Actions token endpoint, or a browser sign-in. --timestamp-url adds an
RFC 3161 timestamp, which keyless signatures logged in Rekor v2 need.

--format notation makes a Notation signature instead (what the notation CLI
writes, and notation verify accepts): a JWS (default) or COSE envelope over
the manifest's descriptor (media type, digest, size), signed with --key and
carrying --certificate-chain (the key's certificate first; Notation wants
the code-signing extended key usage), stored as a referrer of artifact type
application/vnd.cncf.notary.signature. -a annotations become Notation user
metadata. --timestamp-url with --timestamp-root adds an RFC 3161 timestamp;
--expiry makes the signature expire. Notation signatures are not logged and
are stored as referrers only (the referrers API or its fallback tag).`,
		Example: `  signet sign --key release.key registry.example.com/team/app@sha256:...
  signet sign --key awskms:///alias/release -a git_sha=$SHA registry.example.com/team/app:v1
  signet sign --key release.key --recursive --registry-layout both registry.example.com/team/multiarch:v2
  signet sign --format notation --key release.key --certificate-chain release-chain.pem registry.example.com/team/app@sha256:...
  signet sign --format notation --envelope cose --key awskms:///alias/release --certificate-chain chain.pem \
      --timestamp-url http://timestamp.digicert.com --timestamp-root digicert-tsa-root.pem --expiry 8760h registry.example.com/team/app:v1`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, images []string) error {
			if err := outputFormat(output); err != nil {
				return err
			}
			l, err := sign.ParseLayout(layout)
			if err != nil {
				return usageError{err}
			}
			if err := notation.check(cmd, l); err != nil {
				return err
			}
			ann, err := parseAnnotations(annots)
			if err != nil {
				return err
			}
			// The references are checked before the key is unlocked.
			client := reg.client()
			if err := checkReferences(client, images...); err != nil {
				return err
			}
			var signer imageSigner
			if notation.format == "notation" {
				signer, err = notation.signer(cmd.Context(), s, &signing, client)
			} else {
				signer, err = signing.signer(cmd.Context(), s, client)
			}
			if err != nil {
				return err
			}
			results, err := signer.SignImages(cmd.Context(), images, sign.Request{Annotations: ann, Layout: l, Recursive: recursive}, workers)
			for i, res := range results {
				if res.Tag != "" {
					fmt.Fprintf(s.err, "Warning: %s names a tag; signed the digest it resolved to now, %s. Sign by digest to avoid a race with the tag moving.\n", images[i], res.Signed[0].Digest)
				}
				if output == "text" {
					printSigned(s, res)
				}
			}
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(s, results)
			}
			return nil
		},
	}
	reg.addFlags(cmd)
	reg.addEmbedFlag(cmd)
	reg.addLayoutFlag(cmd)
	signing.addFlags(cmd)
	notation.addFlags(cmd)
	cmd.Flags().StringArrayVarP(&annots, "annotation", "a", nil, "sign an extra key=value annotation (repeatable)")
	cmd.Flags().StringVar(&layout, "registry-layout", "referrers", "where to store signatures: referrers (cosign v3), legacy (cosign v2 .sig tag) or both")
	cmd.Flags().BoolVar(&recursive, "recursive", false, "for an image index, also sign each platform manifest")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().IntVar(&workers, "max-workers", 8, "images signed at once")
	return cmd
}

// imageSigner signs images in one format.
type imageSigner interface {
	SignImages(ctx context.Context, images []string, req sign.Request, workers int) ([]*sign.Result, error)
}

func printSigned(s *streams, res *sign.Result) {
	for _, sd := range res.Signed {
		what := res.Image
		if sd.Platform != "" {
			what = "  platform " + sd.Platform
		}
		fmt.Fprintf(s.out, "Signed %s (%s)\n", what, sd.Digest)
		for _, e := range sd.Log {
			fmt.Fprintf(s.out, "  logged at index %d (%s)\n", e.Index, e.Kind)
		}
		for _, a := range sd.Attached {
			fmt.Fprintf(s.out, "  stored as %s: %s\n", a.Layout, a.Ref)
		}
	}
}
