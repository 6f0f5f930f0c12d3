package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/localregistry"
)

func newRegistryCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Run a local OCI registry for demos and tests",
	}
	var addr string
	var noReferrers bool
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve an in-memory OCI registry (referrers API on) until interrupted",
		Long: `Serve go-containerregistry's in-memory registry with the OCI 1.1 referrers API.
Everything is lost when it stops. For demos and tests, not production.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			srv, err := localregistry.Start(cmd.Context(), addr, localregistry.WithReferrers(!noReferrers))
			if err != nil {
				return err
			}
			fmt.Fprintf(s.out, "Registry listening on http://%s (referrers API %s). Ctrl-C to stop.\n", srv.Addr, onOff(!noReferrers))
			return srv.Wait()
		},
	}
	serve.Flags().StringVar(&addr, "addr", "127.0.0.1:5000", "address to listen on")
	serve.Flags().BoolVar(&noReferrers, "no-referrers", false, "turn the referrers API off (clients then use the fallback tag)")
	cmd.AddCommand(serve)
	return cmd
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
