package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// complete runs cobra's hidden __complete command as a shell does and
// returns the values offered (descriptions cut) and the directive line.
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	out, stderr, code := signet(t, append([]string{"__complete"}, args...)...)
	if code != exitOK {
		t.Fatalf("__complete %q: exit %d\n%s", args, code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var values []string
	for _, l := range lines[:len(lines)-1] {
		v, _, _ := strings.Cut(l, "\t")
		values = append(values, v)
	}
	return values, lines[len(lines)-1]
}

func TestCompletionOfFlagValues(t *testing.T) {
	noFiles := fmt.Sprintf(":%d", cobra.ShellCompDirectiveNoFileComp)
	keyTypes := []string{"ecdsa-p256", "ed25519", "rsa-4096"}
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"verify", "--tlog", ""}, []string{"required", "optional", "skip"}},
		{[]string{"verify-attestation", "--tlog", "re"}, []string{"required"}},
		{[]string{"verify", "-o", ""}, []string{"text", "json"}},
		{[]string{"inspect", "--output", "j"}, []string{"json"}},
		{[]string{"attest", "--type", ""}, attest.TypeNames()},
		{[]string{"attest", "--type", "slsa"}, []string{"slsaprovenance", "slsaprovenance02", "slsaprovenance1"}},
		{[]string{"verify-attestation", "--type", "cyc"}, []string{"cyclonedx"}},
		{[]string{"download", "attestation", "--type", "v"}, []string{"vuln"}},
		{[]string{"keys", "generate", "--type", ""}, keyTypes},
		{[]string{"sign", "--registry-layout", ""}, []string{"referrers", "legacy", "both"}},
		{[]string{"admission", "serve", "--failure-mode", ""}, []string{"closed", "receipt"}},
		{[]string{"gate", "status", "--state", "p"}, []string{"pending", "passed"}},
		{[]string{"sign", "--tlog-api-version", ""}, []string{"2", "1"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, directive := complete(t, tc.args...)
			if !slices.Equal(got, tc.want) || directive != noFiles {
				t.Fatalf("offered %q with directive %s; want %q with %s (values only, no file names)", got, directive, tc.want, noFiles)
			}
		})
	}
	t.Run("a file flag still completes file names", func(t *testing.T) {
		got, directive := complete(t, "log", "verify", "--state", "")
		if len(got) != 0 || directive != fmt.Sprintf(":%d", cobra.ShellCompDirectiveDefault) {
			t.Fatalf("log verify --state (a file) offered %q with %s", got, directive)
		}
	})
}

// TestCompletedValuesAreAccepted holds each offered value to the parser of
// the command that takes it: completion never offers what the command refuses.
func TestCompletedValuesAreAccepted(t *testing.T) {
	accepts := map[string]func(string) error{
		"tlog":             func(v string) error { _, err := verify.ParseTlogMode(v); return err },
		"output":           outputFormat,
		"registry-layout":  func(v string) error { _, err := sign.ParseLayout(v); return err },
		"failure-mode":     func(v string) error { _, err := admission.ParseFailureMode(v); return err },
		"tlog-api-version": func(v string) error { return nil },
		"state":            func(v string) error { return nil },
	}
	for _, r := range completedFlags() {
		check := accepts[r.flag]
		switch {
		case r.flag == "type" && r.command == "signet keys generate":
			check = func(v string) error { _, err := keys.ParseType(v); return err }
		case r.flag == "type":
			check = func(v string) error { _, _, err := attest.ResolveType(v); return err }
		case r.flag == "output" && r.command == "signet policy import":
			check = importFormat
		}
		if check == nil {
			t.Fatalf("no parser listed in this test for --%s: add one", r.flag)
		}
		for _, v := range r.values {
			v, _, _ = strings.Cut(v, "\t")
			if err := check(v); err != nil {
				t.Errorf("%s --%s offers %q, which it refuses: %v", r.command, r.flag, v, err)
			}
		}
	}
}

// TestEveryEnumFlagCompletes walks the command tree: every -o/--output,
// --tlog, --type, --registry-layout and --failure-mode of every command,
// including ones added later, offers values.
func TestEveryEnumFlagCompletes(t *testing.T) {
	root := newRootCmd(&streams{})
	enum := []string{"output", "tlog", "type", "registry-layout", "failure-mode"}
	var walk func(c *cobra.Command)
	checked := 0
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if !slices.Contains(enum, f.Name) {
				return
			}
			checked++
			path := strings.Fields(c.CommandPath())[1:]
			got, directive := complete(t, append(path, "--"+f.Name, "")...)
			if len(got) == 0 || directive != fmt.Sprintf(":%d", cobra.ShellCompDirectiveNoFileComp) {
				t.Errorf("%s --%s offers %q (%s); want its values", c.CommandPath(), f.Name, got, directive)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if checked < 10 {
		t.Fatalf("only %d enum flags found in the command tree", checked)
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		t.Run(shell, func(t *testing.T) {
			out, stderr, code := signet(t, "completion", shell)
			if code != exitOK || !strings.Contains(out, "signet") || !strings.Contains(out, "__complete") {
				t.Fatalf("signet completion %s: exit %d, %d bytes\n%s", shell, code, len(out), stderr)
			}
		})
	}
}
