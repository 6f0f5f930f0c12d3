package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/internal/atomicfile"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/trust"
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
					return specError(err)
				}
				auth.AddCA(url, chain, start)
			}
			for _, spec := range tsas {
				url, chain, start, err := tlog.ParseAuthoritySpec(spec)
				if err != nil {
					return specError(err)
				}
				if err := auth.AddTSA(url, chain, start); err != nil {
					return usageError{err}
				}
			}
			var infos []tlog.LogInfo
			for _, spec := range logs {
				li, err := tlog.ParseLogSpec(spec)
				if err != nil {
					return specError(err)
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
			fmt.Fprintf(s.out, "Wrote %s (%s, %s, %s)\n", out, count(len(infos), "transparency log", "transparency logs"),
				count(len(auth.CAs), "certificate authority", "certificate authorities"), count(len(auth.TSAs), "timestamp authority", "timestamp authorities"))
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
	cmd.AddCommand(create, newTrustInitCmd(s), newTrustBundleCmd(s))
	return cmd
}

func newTrustInitCmd(s *streams) *cobra.Command {
	var mirror, rootFile string
	cmd := &cobra.Command{
		Use:   "init [--mirror URL --root root.json]",
		Short: "Fetch trusted_root.json (and the signing config) over TUF into $SIGNET_HOME",
		Long: `Fetch Sigstore's trust material through TUF (go-tuf v2): the repository at
--mirror, starting from the TUF root.json in --root. Root rotations are
followed; rolled-back or expired metadata is refused. The result goes to
$SIGNET_HOME/trusted_root.json (and signing_config.json when the repository
publishes one), and later verifications refresh it the same way. Without
flags, the public Sigstore repository and its embedded root are used. For
air-gapped machines use --trusted-root FILE on verify instead.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := trust.Config{Mirror: mirror}
			if rootFile != "" {
				b, err := os.ReadFile(rootFile)
				if err != nil {
					return err
				}
				cfg.Root = b
			}
			if cfg.Mirror == "" && cfg.Root == nil {
				cfg.Mirror, cfg.Root = trust.DefaultMirror, trust.DefaultRoot()
			}
			if cfg.Mirror == "" || cfg.Root == nil {
				return usageError{errors.New("give both --mirror and --root (or neither, for the public Sigstore repository)")}
			}
			m, err := fetchTrust(cfg)
			if err != nil {
				return err
			}
			b, _ := json.Marshal(cfg)
			if err := atomicfile.Replace(filepath.Join(signetHome(), "tuf", "config.json"), b, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "Trusted root from %s written to %s", cfg.Mirror, filepath.Join(signetHome(), trustedRootFile))
			if m.SigningConfig != nil {
				fmt.Fprintf(s.out, " (and %s)", signingConfigFile)
			}
			fmt.Fprintln(s.out)
			return nil
		},
	}
	cmd.Flags().StringVar(&mirror, "mirror", "", "TUF repository URL")
	cmd.Flags().StringVar(&rootFile, "root", "", "initial TUF root.json of that repository")
	return cmd
}

// specError classifies a --rekor, --fulcio or --tsa that could not be used:
// a file it names that cannot be read or parsed is a bad input file (exit
// 1); a spec that does not parse is a usage error (exit 2).
func specError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) || errors.Is(err, keys.ErrMalformedKey) || errors.Is(err, keys.ErrUnsupportedKey) {
		return err
	}
	return usageError{err}
}

// fetchTrust refreshes the TUF material for cfg into SIGNET_HOME.
func fetchTrust(cfg trust.Config) (*trust.Material, error) {
	home := signetHome()
	m, err := trust.Fetch(trust.Options{Mirror: cfg.Mirror, Root: cfg.Root, CacheDir: filepath.Join(home, "tuf")})
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(home, trustedRootFile), m.TrustedRoot); err != nil {
		return nil, err
	}
	if m.SigningConfig != nil {
		if err := writeFileAtomic(filepath.Join(home, signingConfigFile), m.SigningConfig); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// refreshTrust re-fetches the home's TUF material if `signet trust init` set one up.
func refreshTrust() error {
	b, err := os.ReadFile(filepath.Join(signetHome(), "tuf", "config.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var cfg trust.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("reading TUF config: %w", err)
	}
	if _, err := fetchTrust(cfg); err != nil {
		return fmt.Errorf("refreshing trust material over TUF (use --trusted-root FILE offline): %w", err)
	}
	return nil
}

// writeFileAtomic writes trust material whole, through a temporary file
// with a random name, never through a symlink.
func writeFileAtomic(path string, data []byte) error {
	return atomicfile.Replace(path, data, 0o644)
}
