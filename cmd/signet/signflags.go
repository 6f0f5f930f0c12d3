package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/oauthflow"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/signet-dev/signet/keyless"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
)

// signingOptions is the flag group of commands that sign: a key, or keyless
// (Fulcio + an OIDC token), a timestamp authority, and the log.
type signingOptions struct {
	logs         logUploadOptions
	keyRef       string
	fulcioURL    string
	token        string
	oidcIssuer   string
	oidcClientID string
	tsaURL       string
}

func (o *signingOptions) addFlags(cmd *cobra.Command) {
	o.logs.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.keyRef, "key", "", "private key: a file, env://VAR, or a KMS URI (awskms://, gcpkms://, azurekms://, hashivault://); without it, sign keyless")
	f.StringVar(&o.fulcioURL, "fulcio-url", "", "keyless: Fulcio URL (default: from the signing config)")
	f.StringVar(&o.token, "identity-token", "", "keyless: OIDC identity token, or a file holding one (default: SIGSTORE_ID_TOKEN, GitHub Actions, or a browser sign-in)")
	f.StringVar(&o.oidcIssuer, "oidc-issuer", "https://oauth2.sigstore.dev/auth", "keyless: issuer for the interactive browser sign-in")
	f.StringVar(&o.oidcClientID, "oidc-client-id", "sigstore", "keyless: client ID for the interactive browser sign-in")
	f.StringVar(&o.tsaURL, "timestamp-url", "", "RFC 3161 timestamp authority URL (default: from the signing config)")
}

// signer builds the Signer the flags describe, and prints one line about
// where the signature goes.
func (o *signingOptions) signer(ctx context.Context, s *streams, client *oci.Client) (*sign.Signer, error) {
	opts, warning, err := o.logs.signerOptions(ctx, time.Now())
	if err != nil {
		return nil, err
	}
	sc, err := o.logs.config()
	if err != nil {
		return nil, err
	}
	tsaURL := o.tsaURL
	if tsaURL == "" && sc != nil {
		if svc, err := root.SelectService(sc.TimestampAuthorityURLs(), []uint32{1}, time.Now()); err == nil {
			tsaURL = svc.URL
		}
	}
	if tsaURL != "" {
		opts = append(opts, sign.WithTimestampAuthority(sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: tsaURL, Timeout: 30 * time.Second})))
	}
	if o.keyRef != "" {
		sv, err := keyLoader(s).LoadSigner(ctx, o.keyRef)
		if err != nil {
			return nil, err // the key is the error; the log warning would only precede it
		}
		if warning != "" {
			fmt.Fprintln(s.err, warning)
		}
		return sign.New(sv, client, opts...)
	}
	fulcioURL := o.fulcioURL
	if fulcioURL == "" && sc != nil {
		if svc, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), sgsign.FulcioAPIVersions, time.Now()); err == nil {
			fulcioURL = svc.URL
		}
	}
	if fulcioURL == "" {
		return nil, usageError{fmt.Errorf("give --key, or sign keyless with --fulcio-url (or a signing config naming a Fulcio)")}
	}
	src := keyless.Sources{Flag: o.token, Getenv: os.Getenv}
	if f, ok := s.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		src.Interactive = func(context.Context) (string, error) {
			tok, err := oauthflow.OIDConnect(o.oidcIssuer, o.oidcClientID, "", "", oauthflow.DefaultIDTokenGetter)
			if err != nil {
				return "", err
			}
			return tok.RawString, nil
		}
	}
	token, from, err := keyless.Token(ctx, src)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(s.err, "Signing keyless: identity token from %s, certificate from %s\n", from, fulcioURL)
	fulcio := sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: fulcioURL, Timeout: 30 * time.Second})
	return sign.NewKeyless(client, fulcio, token, opts...)
}
