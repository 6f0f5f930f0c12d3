package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/keys"
)

func newKeysCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Generate signing keys and print public keys",
	}
	cmd.AddCommand(newKeysGenerateCmd(s), newKeysPublicCmd(s))
	return cmd
}

func newKeysGenerateCmd(s *streams) *cobra.Command {
	var typ, prefix string
	var force bool
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Generate a key pair: PREFIX.key (encrypted, 0600) and PREFIX.pub",
		Long: `Generate a signing key pair.

The private key is written encrypted in the sigstore format that
'cosign generate-key-pair' writes, so cosign reads it with the same password.
The password comes from SIGNET_PASSWORD (or COSIGN_PASSWORD); without either,
you are prompted twice on the terminal. An empty password is allowed but not
advised.`,
		Example: `  SIGNET_PASSWORD=... signet keys generate --output-prefix release
  signet keys generate --type ed25519 --output-prefix ci`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := keys.ParseType(typ)
			if err != nil {
				return usageError{err}
			}
			pw, err := readPassword(s, "Enter password for the new private key: ", true)
			if err != nil {
				return err
			}
			priv, err := keys.Generate(t)
			if err != nil {
				return err
			}
			keyPath, pubPath, err := keys.WriteKeyPair(prefix, priv, pw, force)
			if err != nil {
				return err
			}
			id, _ := keys.ID(priv.Public())
			fmt.Fprintf(s.out, "Private key written to %s (encrypted, mode 0600)\nPublic key written to %s\nKey ID %s\n", keyPath, pubPath, id)
			if len(pw) == 0 {
				fmt.Fprintf(s.err, "Warning: the password is empty, so anyone who can read %s can sign with it; set SIGNET_PASSWORD to a password (or unset it to be asked) and run again with --force\n", keyPath)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&typ, "type", string(keys.ECDSAP256), "key type: ecdsa-p256, ed25519 or rsa-4096")
	cmd.Flags().StringVar(&prefix, "output-prefix", "signet", "write PREFIX.key and PREFIX.pub")
	cmd.Flags().BoolVar(&force, "force", false, "replace existing key files")
	return cmd
}

func newKeysPublicCmd(s *streams) *cobra.Command {
	var ref string
	cmd := &cobra.Command{
		Use:   "public",
		Short: "Print the PEM public key of a private key (file, env://VAR or KMS URI)",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ref == "" {
				return usageError{fmt.Errorf("--key is required")}
			}
			sv, err := keyLoader(s).LoadSigner(cmd.Context(), ref)
			if err != nil {
				return err
			}
			pub, err := sv.PublicKey()
			if err != nil {
				return err
			}
			b, err := keys.PublicKeyPEM(pub)
			if err != nil {
				return err
			}
			_, err = s.out.Write(b)
			return err
		},
	}
	cmd.Flags().StringVar(&ref, "key", "", "private key: a file, env://VAR, or a KMS URI")
	return cmd
}
