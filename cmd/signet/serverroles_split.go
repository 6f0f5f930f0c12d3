//go:build signet_split && unix

package main

// A split build (make build: -tags signet_split) leaves out of signet the
// server roles — admission, gate and fleet, which link Kubernetes' API
// machinery, the Prometheus client and the gate's database drivers — and
// the commands that run a transparency log — log serve and quickstart, which
// link Tessera's storage, the MySQL driver and Badger — and hands their
// command lines, help and completion included, to signet-server (this
// package built without the tag; internal/companion finds it next to
// signet, then on PATH). Every other command starts without initialising
// those packages.

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/internal/companion"
)

// splitBuild is true: main hands the server roles to signet-server before
// the command tree runs.
const splitBuild = true

func newAdmissionCmd(*streams) *cobra.Command  { return handedOver("admission", admissionShort) }
func newGateCmd(*streams) *cobra.Command       { return handedOver("gate", gateShort) }
func newFleetCmd(*streams) *cobra.Command      { return handedOver("fleet", fleetShort) }
func newLogServeCmd(*streams) *cobra.Command   { return handedOver("log serve", logServeShort) }
func newQuickstartCmd(*streams) *cobra.Command { return handedOver("quickstart", quickstartShort) }

// handedOver is the entry 'signet --help' lists for a command signet-server
// serves (path: its words after signet); main hands such command lines over
// before the tree is run, so running it means main did not (flags before
// the command's last word, say).
func handedOver(path, short string) *cobra.Command {
	words := strings.Fields(path)
	return &cobra.Command{
		Use:                words[len(words)-1],
		Short:              short,
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			return companion.HandOver(append(words[:len(words):len(words)], args...))
		},
	}
}

// serverCompletedFlags: signet-server completes the server roles' flags.
func serverCompletedFlags() []flagValues { return nil }
