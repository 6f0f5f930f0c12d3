package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/tlog"
)

func newTrustCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trust",
		Short: "Create Sigstore trusted roots and signing configs",
	}
	var logs, fulcios, tsas []string
	var out, scOut string
	create := &cobra.Command{
		Use:   "create --rekor SPEC... --out trusted_root.json",
		Short: "Write a trusted_root.json (and optionally a signing_config.json) for transparency logs",
		Long: `Write a Sigstore trusted root listing transparency logs (and certificate and
timestamp authorities for keyless signatures), as
'cosign trusted-root create' does. Each --rekor is

  url=URL,public-key=FILE[,api-version=2][,origin=HOST][,start-time=RFC3339][,operator=NAME]

For Rekor v2 (and Signet's log) the origin must be the host name of the URL.
--signing-config-out also writes a signing config that sends signatures there.`,
		Example: `  signet trust create --rekor url=http://127.0.0.1:3003,public-key=log.pub --out trusted_root.json`,
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(logs)+len(fulcios)+len(tsas) == 0 || out == "" {
				return usageError{errors.New("--out and at least one --rekor, --fulcio or --tsa are required")}
			}
			var auth tlog.Authorities
			for _, spec := range fulcios {
				url, chain, start, err := tlog.ParseAuthoritySpec(spec)
				if err != nil {
					return usageError{err}
				}
				auth.AddCA(url, chain, start)
			}
			for _, spec := range tsas {
				url, chain, start, err := tlog.ParseAuthoritySpec(spec)
				if err != nil {
					return usageError{err}
				}
				if err := auth.AddTSA(url, chain, start); err != nil {
					return usageError{err}
				}
			}
			var infos []tlog.LogInfo
			for _, spec := range logs {
				li, err := tlog.ParseLogSpec(spec)
				if err != nil {
					return usageError{err}
				}
				if li.PublicKey == nil {
					return usageError{fmt.Errorf("log spec %q: public-key= is required in a trusted root", spec)}
				}
				infos = append(infos, li)
			}
			tr, err := tlog.TrustedRootWith(auth, infos...)
			if err != nil {
				return err
			}
			if err := tlog.WriteJSON(out, tr); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "Wrote %s (%d transparency logs, %d certificate authorities, %d timestamp authorities)\n", out, len(infos), len(auth.CAs), len(auth.TSAs))
			if scOut != "" {
				sc, err := tlog.SigningConfig(infos...)
				if err != nil {
					return err
				}
				if err := tlog.WriteJSON(scOut, sc); err != nil {
					return err
				}
				fmt.Fprintf(s.out, "Wrote %s\n", scOut)
			}
			return nil
		},
	}
	create.Flags().StringArrayVar(&logs, "rekor", nil, "a transparency log (repeatable), see above")
	create.Flags().StringArrayVar(&fulcios, "fulcio", nil, "a certificate authority: url=URL,certificate-chain=PEM (intermediates then root)[,start-time=]")
	create.Flags().StringArrayVar(&tsas, "tsa", nil, "a timestamp authority: url=URL,certificate-chain=PEM (signing cert, intermediates, root)[,start-time=]")
	create.Flags().StringVar(&out, "out", "", "trusted root file to write")
	create.Flags().StringVar(&scOut, "signing-config-out", "", "also write a signing config naming the logs")
	cmd.AddCommand(create)
	return cmd
}
