//go:build !signet_split || !unix

package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/quickstart"
)

func newQuickstartCmd(s *streams) *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: quickstartShort,
		Long: `Start a local registry, push an image, make a key, sign, verify, and show an
unsigned image and a copied signature being refused, with the reasons.
Needs no network and nothing installed.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := os.MkdirTemp("", "signet-quickstart-")
			if err != nil {
				return err
			}
			if !keep {
				defer os.RemoveAll(dir)
			}
			return quickstart.Run(cmd.Context(), s.out, dir)
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary directory (and the demo key) afterwards")
	return cmd
}
