package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
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
	err := root.ExecuteContext(ctx)
	if err != nil {
		if _, quiet := err.(silentError); !quiet {
			fmt.Fprintln(errOut, "Error:", err)
		}
	}
	return exitCode(err)
}

func newRootCmd(s *streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "signet",
		Short: "Sign, attest and verify container images",
		Long: `Signet signs container image digests, stores the signatures in the registry the
way cosign v3 does (Sigstore bundles as OCI 1.1 referrers), and verifies them.

Start with 'signet quickstart' to see the whole flow offline.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
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
		newInspectCmd(s),
		newGateCmd(s),
		newTagCmd(s),
		newProvenanceCmd(s),
		newPolicyCmd(s),
		newLockCmd(s),
		newAdmissionCmd(s),
		newRegistryCmd(s),
		newLogCmd(s),
		newTrustCmd(s),
		newQuickstartCmd(s),
		newConfigCmd(s),
	)
	registerCompletions(root)
	return root
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
