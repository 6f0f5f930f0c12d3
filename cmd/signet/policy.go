package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/internal/termtext"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

func newPolicyCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Check policy documents and see which rule applies"}
	validate := &cobra.Command{
		Use:   "validate FILE",
		Short: "Parse and compile a policy (keys loaded, CEL type-checked); errors name the field and line",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := policy.Load(a[0], keyLoader(s))
			if err != nil {
				return err
			}
			fmt.Fprintf(s.out, "%s: valid, %s, default %s\npolicy digest %s (the document and the keys, lock files and roots it names)\n",
				a[0], count(len(c.Rules), "rule", "rules"), map[bool]string{true: "allow", false: "deny"}[c.DefaultAllow], c.Hash)
			for _, r := range c.Rules {
				if r.Normalized != r.Pattern {
					fmt.Fprintf(s.out, "  images[%d] %q is matched as %q\n", r.Index, r.Pattern, r.Normalized)
				}
			}
			return nil
		},
	}
	explain := &cobra.Command{
		Use:   "explain FILE IMAGE",
		Short: "Show which rule applies to an image reference, and why (no registry access)",
		Args:  args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			var reg registryOptions
			ref, err := reg.client().ParseReference(a[1])
			if err != nil {
				return usageError{err}
			}
			canon, err := policy.NormalizeReference(ref.Name())
			if err != nil {
				return usageError{err}
			}
			c, err := policy.Load(a[0], keyLoader(s))
			if err != nil {
				return err
			}
			fmt.Fprintf(s.out, "%s is matched as %s\n", a[1], canon)
			rules, err := c.Matching(canon)
			if err != nil {
				return usageError{err}
			}
			if len(rules) == 0 {
				fmt.Fprintf(s.out, "no rule matches: defaultAction %s\n", map[bool]string{true: "allow", false: "deny"}[c.DefaultAllow])
				return nil
			}
			for i, r := range rules {
				mark := "  also matches"
				if i == 0 {
					mark = "→ applies    "
				}
				as := ""
				if r.Normalized != r.Pattern {
					as = fmt.Sprintf(" (matched as %q)", r.Normalized)
				}
				fmt.Fprintf(s.out, "%s images[%d] %q%s (mode %s)\n", mark, r.Index, r.Pattern, as, r.Mode)
			}
			r := rules[0]
			if len(rules) > 1 {
				fmt.Fprintln(s.out, "  (the most specific pattern wins: more literal characters, fewer wildcards; then document order)")
			}
			var names []string
			for _, sg := range r.Signers {
				names = append(names, sg.Name)
			}
			if r.Threshold == 0 && len(names) > 0 {
				fmt.Fprintf(s.out, "requires: no image signature (threshold 0), attestations by signers [%s]; transparency log %s\n", strings.Join(names, ", "), r.TransparencyLog)
			} else {
				fmt.Fprintf(s.out, "requires: %d of signers [%s]; transparency log %s\n", r.Threshold, strings.Join(names, ", "), r.TransparencyLog)
			}
			for _, sg := range r.Signers {
				fmt.Fprintf(s.out, "  signer %s: %s\n", sg.Name, sg.Describe())
			}
			for _, at := range r.Attestations {
				fmt.Fprintf(s.out, "requires: attestation %s (%s)", at.Name, at.PredicateType)
				if at.Condition != "" {
					fmt.Fprintf(s.out, " where %s", at.Condition)
				}
				if at.MaxAge > 0 {
					fmt.Fprintf(s.out, ", at most %s old", at.MaxAge)
				}
				fmt.Fprintln(s.out)
			}
			if r.Tags != nil {
				fmt.Fprintf(s.out, "tags: digestRequired=%v allowedTags=%v lock=%s\n", r.Tags.DigestRequired, r.Tags.AllowedTags, r.Tags.LockPath)
			}
			fmt.Fprintln(s.out, "platforms: "+platformsText(r))
			return nil
		},
	}
	cmd.AddCommand(validate, explain, newPolicyImportCmd(s))
	return cmd
}

func newLockCmd(s *streams) *cobra.Command {
	var reg registryOptions
	var file string
	cmd := &cobra.Command{
		Use:   "lock IMAGE:TAG...",
		Short: "Pin tags to the digests they resolve to now, in a lock file CI can commit",
		Long: `Resolve each tag and record tag → digest (with the time) in --file. A policy
rule with tags.lock refuses the tag once it resolves to anything else.`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, images []string) error {
			if err := checkReferences(reg.client(), images...); err != nil {
				return err
			}
			lf, err := policy.ReadLock(file)
			if err != nil {
				return err
			}
			client := reg.client()
			for _, img := range images {
				t, err := client.Resolve(cmd.Context(), img)
				if err != nil {
					return err
				}
				if t.Tag == "" {
					return usageError{fmt.Errorf("%s names no tag to lock", img)}
				}
				lf.Set(t.Ref.Name(), t.Digest.DigestStr(), time.Now())
				fmt.Fprintf(s.out, "locked %s → %s\n", t.Ref.Name(), t.Digest.DigestStr())
			}
			return policy.WriteLock(file, lf)
		},
	}
	reg.addFlags(cmd)
	cmd.Flags().StringVar(&file, "file", "signet.lock", "lock file to create or update")
	return cmd
}

// printDecision prints a decision as a tree; with explain, every check and its evidence.
func printDecision(s *streams, d *verify.Decision, explain bool) {
	d = printable(d)
	verdict := "✓ ALLOWED"
	switch {
	case !d.Allowed:
		verdict = "✗ DENIED"
	case d.Failed():
		verdict = "⚠ ALLOWED (" + d.Mode + " mode; would be denied)"
	}
	head := verdict + " " + d.Image
	switch {
	case d.Tag != "" && d.Digest != "":
		head += " (tag " + d.Tag + " → " + d.Digest + ")"
	case d.Digest != "":
		head += " (" + d.Digest + ")"
	}
	rule := "the policy's default action"
	if d.Rule != "" {
		rule = fmt.Sprintf("rule %q (%s)", d.Rule, d.Mode)
	}
	fmt.Fprintf(s.out, "%s by %s\n", head, rule)
	if !explain {
		if d.Reason != "" {
			fmt.Fprintf(s.out, "  %s\n", d.Reason)
		}
		return
	}
	for _, c := range d.Checks {
		printCheck(s, c, "  ")
	}
	if d.Cached {
		fmt.Fprintln(s.out, "  (signature and attestation checks from cache)")
	}
}

// printCheck prints one check of a decision and its evidence; a platform
// check, its own checks below it instead.
func printCheck(s *streams, c verify.PolicyCheck, indent string) {
	mark := map[verify.Outcome]string{verify.Pass: "✓", verify.Fail: "✗", verify.Skip: "-", verify.Errored: "!", verify.Unverified: "⚠"}[c.Outcome]
	class := ""
	if c.Class != "" {
		class = " [" + string(c.Class) + "]"
	}
	fmt.Fprintf(s.out, "%s%s %s%s: %s\n", indent, mark, c.Name, class, c.Message)
	if len(c.Checks) > 0 {
		for _, sub := range c.Checks {
			printCheck(s, sub, indent+"    ")
		}
		return
	}
	for _, e := range c.Evidence {
		line := fmt.Sprintf("%s    %s: %s in %s %s", indent, signerLabel(e), formatName(e.Format), e.Layout, shortDigest(e.Manifest))
		if e.LogIndex != nil {
			line += fmt.Sprintf(", log index %d", *e.LogIndex)
		}
		if e.Refused != "" {
			line += " — refused: " + e.Refused
		}
		fmt.Fprintln(s.out, line)
	}
}

// formatName says what a signature's format is to a person.
func formatName(f string) string {
	switch f {
	case "sigstore-bundle":
		return "Sigstore bundle"
	case "simple-signing":
		return "cosign simple signing"
	case "dsse-envelope":
		return "cosign DSSE attestation"
	case "notation":
		return "Notation signature"
	case "":
		return "signature"
	}
	return f
}

// signerLabel names the signer a signature counted for. A refused
// signature counted for none: its key hint, if any, is the bundle's own
// claim, not a finding.
func signerLabel(e verify.Evidence) string {
	switch {
	case e.Signer != "":
		return e.Signer
	case e.KeyID != "":
		return "no signer established (key hint " + e.KeyID + ", unverified)"
	}
	return "no signer established"
}

func shortDigest(d string) string { return short(d) }

// printable is a copy of v (plain, JSON-shaped data) safe to print on a
// terminal: the registry's and signers' words in it (reasons quote media
// types, subjects, certificate names) have their control characters
// escaped. Text output only; JSON escapes them itself.
func printable[T any](v T) T {
	raw, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out T
	if err := json.Unmarshal(raw, &out); err != nil {
		return v
	}
	termtext.Clean(&out)
	return out
}
