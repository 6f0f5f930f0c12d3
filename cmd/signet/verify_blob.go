package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/verify"
)

func newVerifyBlobCmd(s *streams) *cobra.Command {
	var (
		trust      trustOptions
		ids        identityOptions
		keyRefs    []string
		bundlePath string
	)
	cmd := &cobra.Command{
		Use:     "verify-blob --bundle B (--key K | --certificate-identity I --certificate-oidc-issuer U) FILE|sha256:HEX",
		Aliases: []string{"verify-bundle"},
		Short:   "Verify a Sigstore bundle over a file (or its sha256 digest)",
		Long: `Verify a Sigstore bundle (v0.1 to v0.3) over FILE, or over an artifact known
only by its digest (sha256:<hex>). The bundle may hold a message signature or
a DSSE envelope whose in-toto subject is the artifact. Its log entries,
RFC 3161 timestamps and certificate are checked against --trusted-root.
'verify-bundle' is the same command under the Sigstore conformance suite's name.

` + exitCodesHelp,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if bundlePath == "" {
				return usageError{errors.New("--bundle is required")}
			}
			idents, err := ids.identities()
			if err != nil {
				return err
			}
			if len(keyRefs) == 0 && len(idents) == 0 {
				return usageError{errors.New("--key, or --certificate-identity and --certificate-oidc-issuer, is required")}
			}
			bundleJSON, err := os.ReadFile(bundlePath)
			if err != nil {
				return err
			}
			var reg registryOptions
			v, _, err := buildVerifier(cmd, s, reg, trust, keyRefs, idents)
			if err != nil {
				return err
			}
			blob := verify.Blob{Digest: a[0]}
			if !strings.HasPrefix(a[0], "sha256:") {
				f, err := os.Open(a[0])
				if err != nil {
					return err
				}
				defer f.Close()
				blob = verify.Blob{Content: f}
			}
			who, err := v.VerifyBlob(bundleJSON, blob)
			if err != nil {
				fmt.Fprintf(s.out, "✗ %s NOT verified: %v\n", a[0], err)
				return silentError{exitInvalid}
			}
			fmt.Fprintf(s.out, "✓ %s verified: %s\n", a[0], who)
			return nil
		},
	}
	trust.addFlags(cmd)
	ids.addFlags(cmd)
	cmd.Flags().StringArrayVar(&keyRefs, "key", nil, "trusted public key (repeatable)")
	cmd.Flags().StringVar(&bundlePath, "bundle", "", "the Sigstore bundle (.sigstore.json)")
	return cmd
}
