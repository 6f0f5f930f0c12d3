package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/signet-dev/signet/internal/suggest"
)

// streams are the command's standard input and outputs.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// run executes the CLI with args and returns the process exit code.
func run(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) int {
	s := &streams{in: in, out: out, err: errOut}
	root := newRootCmd(s)
	root.SetArgs(args)
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && !quiet(err) {
		fmt.Fprintln(errOut, "Error:", err)
		var u usageError
		if errors.As(err, &u) && cmd != nil {
			if cmd.Name() == "help" {
				cmd = cmd.Root()
			}
			fmt.Fprintf(errOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	}
	return exitCode(err)
}

// The one-line descriptions of the commands a split build hands to
// signet-server (serverroles_split.go): the same in either build.
const (
	admissionShort  = "Kubernetes admission webhook: verify what workloads run, pin tags to digests"
	gateShort       = "Registry push gate: verify every push, record the verdict, list what is unverified"
	fleetShort      = "What a policy change would do to what already runs"
	logServeShort   = "Serve an embedded Rekor-v2-compatible transparency log"
	quickstartShort = "Run the whole sign-and-verify story offline, in a temporary directory"
)

func newRootCmd(s *streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "signet",
		Short: "Sign, attest and verify container images",
		Long: `Signet signs container image digests, stores the signatures in the registry the
way cosign v3 does (Sigstore bundles as OCI 1.1 referrers), and verifies them.

Start with 'signet quickstart' to see the whole flow offline.

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var showVersion bool
	root.Flags().BoolVar(&showVersion, "version", false, "print the version (as 'signet version' does)")
	root.RunE = func(cmd *cobra.Command, a []string) error {
		if showVersion {
			_, err := fmt.Fprint(s.out, currentVersion().text())
			return err
		}
		return cmd.Help()
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError{withFlagSuggestion(cmd, err)} })
	root.AddCommand(
		newKeysCmd(s),
		newSignCmd(s),
		newVerifyCmd(s),
		newAttestCmd(s),
		newVerifyAttestationCmd(s),
		newVerifyBlobCmd(s),
		newSignBlobCmd(s),
		newAttestBlobCmd(s),
		newDownloadCmd(s),
		newCopyCmd(s),
		newInspectCmd(s),
		newDoctorCmd(s),
		newGateCmd(s),
		newTagCmd(s),
		newProvenanceCmd(s),
		newPolicyCmd(s),
		newLockCmd(s),
		newAdmissionCmd(s),
		newFleetCmd(s),
		newRegistryCmd(s),
		newLogCmd(s),
		newTrustCmd(s),
		newQuickstartCmd(s),
		newConfigCmd(s),
		newVersionCmd(s),
	)
	// Cobra adds these when it runs; added now, they get the same checks.
	// The completion scripts are written to the writer set when they are
	// added, so set it first.
	root.SetOut(s.out)
	root.SetErr(s.err)
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	usageChecks(root)
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			c.Args = args(knownHelpTopic)
		}
	}
	registerCompletions(root)
	return root
}

// usageChecks makes every argument check in the tree a usage error (cobra's
// own commands included), and every command that only groups others (and
// the root) refuse an unknown subcommand, with suggestions; called with no
// subcommand they print their help. Cobra would print the help and exit 0
// for 'signet policy nope'.
func usageChecks(c *cobra.Command) {
	switch {
	case c.HasSubCommands():
		if c.Run == nil && c.RunE == nil {
			c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		}
		c.Args = args(knownSubcommand)
		c.SuggestionsMinimumDistance = 2
	case c.Args != nil:
		c.Args = args(c.Args)
	}
	for _, sub := range c.Commands() {
		usageChecks(sub)
	}
}

// knownHelpTopic refuses 'signet help' for a command that does not exist.
func knownHelpTopic(help *cobra.Command, a []string) error {
	cmd, rest, err := help.Root().Find(a)
	if err != nil {
		return err
	}
	return knownSubcommand(cmd, rest)
}

// knownSubcommand refuses arguments to a command that only groups others:
// the first one names no subcommand.
func knownSubcommand(cmd *cobra.Command, a []string) error {
	if len(a) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", a[0], cmd.CommandPath())
	if sug := cmd.SuggestionsFor(a[0]); len(sug) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(sug, " or "))
	}
	return errors.New(msg)
}

// args wraps a cobra argument validator so its failures are usage errors.
func args(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := v(cmd, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// withFlagSuggestion adds the flag an unknown --flag most likely meant, as
// cobra does for a misspelt command.
func withFlagSuggestion(cmd *cobra.Command, err error) error {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return err
	}
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	if s := suggest.Nearest(name, names); s != "" {
		return fmt.Errorf("%w; did you mean --%s?", err, s)
	}
	return err
}
