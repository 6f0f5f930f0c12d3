//go:build signet_split && unix

package main

// A split build (make build: -tags signet_split) leaves the server roles out
// of signet — admission, gate and fleet, which link Kubernetes' API
// machinery, the Prometheus client and the gate's database drivers — and
// hands their command lines, help and completion included, to signet-server
// (this package built without the tag; internal/companion finds it next to
// signet, then on PATH). Every other command starts without initialising
// those packages: about 7 ms of CPU less per process on this project's
// 2-core machine.

import (
	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/internal/companion"
)

// splitBuild is true: main hands the server roles to signet-server before
// the command tree runs.
const splitBuild = true

func newAdmissionCmd(*streams) *cobra.Command { return handedOver("admission", admissionShort) }
func newGateCmd(*streams) *cobra.Command      { return handedOver("gate", gateShort) }
func newFleetCmd(*streams) *cobra.Command     { return handedOver("fleet", fleetShort) }

// handedOver is the entry 'signet --help' lists for a server role; main
// hands the role's command lines over before the tree is run, so running
// it means main did not.
func handedOver(name, short string) *cobra.Command {
	return &cobra.Command{
		Use:                name,
		Short:              short,
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			return companion.HandOver(append([]string{name}, args...))
		},
	}
}

// serverCompletedFlags: signet-server completes the server roles' flags.
func serverCompletedFlags() []flagValues { return nil }
