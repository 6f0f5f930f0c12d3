package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// flagValues are the values a flag takes, offered by shell completion
// (`signet completion bash|zsh|fish|powershell`). Each value may carry a
// description after a tab, which zsh, fish and powershell show.
type flagValues struct {
	command string // the command's path ("signet keys generate"); empty for every command with the flag
	flag    string
	values  []string
}

// completedFlags lists the flags whose values are completed. A command-specific
// row comes before the general row for the same flag name.
func completedFlags() []flagValues {
	typeNames := append([]string(nil), attest.TypeNames()...)
	keyTypes := make([]string, len(keys.Types))
	for i, t := range keys.Types {
		keyTypes[i] = string(t)
	}
	return append([]flagValues{
		{"signet keys generate", "type", keyTypes},
		{"", "type", typeNames},
		{"signet policy import", "output", []string{"yaml\tthe policy, with comments", "json\tthe report and the policy"}},
		{"", "output", []string{"text\thuman-readable", "json\tmachine-readable"}},
		{"", "tlog", []string{
			string(verify.TlogRequired) + "\ta verified log entry must be present",
			string(verify.TlogOptional) + "\tverify entries from trusted logs, accept unlogged signatures",
			string(verify.TlogSkip) + "\tdo not check log entries",
		}},
		{"", "tlog-api-version", []string{"2\tRekor v2 (and Signet's log)", "1\tRekor v1"}},
		{"", "registry-layout", []string{
			string(sign.LayoutReferrers) + "\tOCI 1.1 referrers (cosign v3)",
			string(sign.LayoutLegacy) + "\tcosign v2's .sig tag",
			string(sign.LayoutBoth) + "\tboth",
		}},
	}, serverCompletedFlags()...)
}

// registerCompletions walks the command tree and registers a completion
// function for every flag completedFlags names, so a command added later
// gets its -o, --tlog or --type values completed too.
func registerCompletions(root *cobra.Command) {
	rows := completedFlags()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		done := map[string]bool{}
		register := func(f *pflag.Flag) {
			if values, ok := valuesFor(rows, c.CommandPath(), f.Name); ok && !done[f.Name] {
				done[f.Name] = true
				// Fails only for a flag registered twice, which done prevents.
				_ = c.RegisterFlagCompletionFunc(f.Name, fixedCompletion(values))
			}
		}
		c.Flags().VisitAll(register)
		c.PersistentFlags().VisitAll(register)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// valuesFor returns the values of the first row that fits the command and flag.
func valuesFor(rows []flagValues, path, flag string) ([]string, bool) {
	for _, r := range rows {
		if r.flag == flag && (r.command == "" || r.command == path) {
			return r.values, true
		}
	}
	return nil, false
}

// fixedCompletion offers the values that start with what was typed, and no file names.
func fixedCompletion(values []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, v := range values {
			if strings.HasPrefix(v, toComplete) {
				out = append(out, v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
