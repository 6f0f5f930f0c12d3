package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/notary"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
)

// notationOptions is sign's flag group for signatures in Notation format.
type notationOptions struct {
	format   string
	chain    string
	envelope string
	tsaRoot  string
	expiry   time.Duration
}

// notationOnly are the flags that only Notation signing takes; sigstoreOnly
// the ones it refuses (Notation signatures are made with a certificate
// chain, and not logged).
var (
	notationOnly = []string{"certificate-chain", "envelope", "timestamp-root", "expiry"}
	sigstoreOnly = []string{"fulcio-url", "identity-token", "oidc-issuer", "oidc-client-id", "tlog-url", "tlog-api-version", "signing-config"}
)

func (o *notationOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "sigstore", "signature format: sigstore (a cosign v3 bundle) or notation (a Notation JWS or COSE envelope)")
	f.StringVar(&o.chain, "certificate-chain", "", "notation: PEM file with the signing key's certificate first, then its issuers")
	f.StringVar(&o.envelope, "envelope", "jws", "notation: envelope format, jws or cose")
	f.StringVar(&o.tsaRoot, "timestamp-root", "", "notation: PEM file with the root certificates of the --timestamp-url TSA")
	f.DurationVar(&o.expiry, "expiry", 0, "notation: the signature expires this long after signing (e.g. 8760h); default never")
}

// check refuses flag combinations that do not fit the format, before a key
// is loaded or anything signed.
func (o *notationOptions) check(cmd *cobra.Command, layout sign.Layout) error {
	switch o.format {
	case "sigstore":
		for _, name := range notationOnly {
			if cmd.Flags().Changed(name) {
				return usageError{fmt.Errorf("--%s is for --format notation", name)}
			}
		}
		return nil
	case "notation":
	default:
		return usageError{fmt.Errorf("unknown --format %q: use sigstore or notation", o.format)}
	}
	for _, name := range sigstoreOnly {
		if cmd.Flags().Changed(name) {
			return usageError{fmt.Errorf("--%s is for Sigstore signatures: Notation signatures are made with --key and --certificate-chain and are not logged", name)}
		}
	}
	if layout != sign.LayoutReferrers {
		return usageError{fmt.Errorf("--registry-layout %s: %w (the referrers API or its fallback tag), not in cosign's .sig tag", layout, sign.ErrNotationLayout)}
	}
	if o.envelope != "jws" && o.envelope != "cose" {
		return usageError{fmt.Errorf("unknown --envelope %q: use jws or cose", o.envelope)}
	}
	if o.expiry < 0 {
		return usageError{fmt.Errorf("--expiry %s: give a positive duration", o.expiry)}
	}
	return nil
}

// signer builds the Notation signer the flags describe.
func (o *notationOptions) signer(ctx context.Context, s *streams, signing *signingOptions, client *oci.Client) (*sign.NotationSigner, error) {
	if signing.keyRef == "" || o.chain == "" {
		return nil, usageError{errors.New("--format notation needs --key and --certificate-chain")}
	}
	if (signing.tsaURL == "") != (o.tsaRoot == "") {
		return nil, usageError{errors.New("--timestamp-url and --timestamp-root go together: the TSA's answer is checked against its roots")}
	}
	chain, err := readCertificates(o.chain)
	if err != nil {
		return nil, err
	}
	opts := notary.SignOptions{Envelope: o.envelope, Expiry: o.expiry, TSAURL: signing.tsaURL}
	if o.tsaRoot != "" {
		roots, err := readCertificates(o.tsaRoot)
		if err != nil {
			return nil, err
		}
		opts.TSARoots = x509.NewCertPool()
		for _, c := range roots {
			opts.TSARoots.AddCert(c)
		}
	}
	key, err := keyLoader(s).LoadCryptoSigner(ctx, signing.keyRef)
	if err != nil {
		return nil, err
	}
	return sign.NewNotation(key, chain, client, opts)
}

// readCertificates reads a PEM file of one or more certificates.
func readCertificates(path string) ([]*x509.Certificate, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(raw)
	if err != nil {
		return nil, fmt.Errorf("reading certificates from %s: %w", path, err)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("reading certificates from %s: no PEM certificates in it", path)
	}
	return certs, nil
}
