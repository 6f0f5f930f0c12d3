package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/sign"
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
			blob, closer, err := verify.OpenBlob(a[0])
			if err != nil {
				if errors.Is(err, verify.ErrBadDigest) {
					return usageError{err}
				}
				return err
			}
			defer closer.Close()
			who, err := v.VerifyBlob(bundleJSON, blob)
			if err != nil {
				fmt.Fprintf(s.out, "✗ %s NOT verified: %v\n", a[0], err)
				return reported{fmt.Errorf("%w: %w", verify.ErrNoValidSignature, err)}
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

func newSignBlobCmd(s *streams) *cobra.Command {
	var (
		signing    signingOptions
		bundlePath string
		trustRoot  string
	)
	cmd := &cobra.Command{
		Use:     "sign-blob [--key K | keyless flags] --bundle OUT FILE",
		Aliases: []string{"sign-bundle"},
		Short:   "Sign a file into a Sigstore bundle (a message signature, logged and timestamped like image signatures)",
		Long: `Sign FILE and write a Sigstore bundle v0.3 holding a message signature over
its SHA-256, the key or certificate, the log entry and the timestamp.
Verify it with 'signet verify-blob' or 'cosign verify-blob --bundle'.
'sign-bundle' is the same command under the Sigstore conformance suite's name.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if bundlePath == "" {
				return usageError{errors.New("--bundle is required")}
			}
			data, err := os.ReadFile(a[0])
			if err != nil {
				return err
			}
			var reg registryOptions
			signer, err := signing.signer(cmd.Context(), s, reg.client())
			if err != nil {
				return err
			}
			b, entries, err := signer.SignBlob(cmd.Context(), data)
			if err != nil {
				return err
			}
			return writeBundle(s, bundlePath, b, entries)
		},
	}
	signing.addFlags(cmd)
	cmd.Flags().StringVar(&bundlePath, "bundle", "", "where to write the bundle")
	cmd.Flags().StringVar(&trustRoot, "trusted-root", "", "accepted for the conformance protocol; signing does not need it")
	return cmd
}

func newAttestBlobCmd(s *streams) *cobra.Command {
	var (
		signing    signingOptions
		bundlePath string
		stmtPath   string
	)
	cmd := &cobra.Command{
		Use:   "attest-blob [--key K | keyless flags] --statement FILE --bundle OUT",
		Short: "Sign an in-toto statement (about files) into a Sigstore bundle with a DSSE envelope",
		Long: `Sign the in-toto statement in --statement (its subjects name the files it is
about, by sha256) into a Sigstore bundle v0.3 holding a DSSE envelope, logged
and timestamped like image signatures. Verify it with
'signet verify-blob --bundle OUT FILE' for a file the statement names, or
'cosign verify-blob-attestation'.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bundlePath == "" || stmtPath == "" {
				return usageError{errors.New("--statement and --bundle are required")}
			}
			data, err := os.ReadFile(stmtPath)
			if err != nil {
				return err
			}
			if _, err := attest.ParseStatement(data); err != nil {
				return fmt.Errorf("reading %s: %w", stmtPath, err)
			}
			var reg registryOptions
			signer, err := signing.signer(cmd.Context(), s, reg.client())
			if err != nil {
				return err
			}
			b, entries, err := signer.SignStatement(cmd.Context(), data)
			if err != nil {
				return err
			}
			return writeBundle(s, bundlePath, b, entries)
		},
	}
	signing.addFlags(cmd)
	cmd.Flags().StringVar(&bundlePath, "bundle", "", "where to write the bundle")
	cmd.Flags().StringVar(&stmtPath, "statement", "", "the in-toto statement to sign")
	return cmd
}

func writeBundle(s *streams, path string, b []byte, entries []sign.LogEntry) error {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "Wrote %s", path)
	for _, e := range entries {
		fmt.Fprintf(s.out, "; logged at index %d (%s)", e.Index, e.Kind)
	}
	fmt.Fprintln(s.out)
	return nil
}
