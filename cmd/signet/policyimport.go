package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/migrate"
	"github.com/signet-dev/signet/policy"
)

// importOutput is `signet policy import -o json`: the report, and the
// policy unless it was written to --output-file or refused.
type importOutput struct {
	Complete   bool              `json:"complete"`
	Counts     map[string]int    `json:"counts"`
	Findings   []migrate.Finding `json:"findings"`
	Policy     *policy.Policy    `json:"policy,omitempty"`
	OutputFile string            `json:"outputFile,omitempty"`
}

// importFormat validates -o for policy import.
func importFormat(v string) error {
	if v == "yaml" || v == "json" {
		return nil
	}
	return usageError{fmt.Errorf("--output must be yaml or json, not %q", v)}
}

func newPolicyImportCmd(s *streams) *cobra.Command {
	var output, outputFile, reportFile string
	var allowPartial bool
	cmd := &cobra.Command{
		Use:   "import FILE...",
		Short: "Translate Kyverno and policy-controller image policies into a Signet policy, reporting what does not translate",
		Long: `Read Kyverno ClusterPolicy and Policy resources (kyverno.io/v1, v2beta1) with
verifyImages rules and sigstore policy-controller ClusterImagePolicy resources
(policy.sigstore.dev/v1alpha1, v1beta1) — several to a file, '---' separated,
or in a List; '-' reads standard input — and write one Signet policy.

The import is never more permissive than the originals. What Signet can say
exactly is written as it is; what it can only say more strictly is written the
stricter way ("stricter" in the report); a restriction Signet cannot express
(a JMESPath, CUE or Rego condition, a custom certificate authority, a variable)
is UNTRANSLATED: its rule keeps a placeholder no image can meet (condition
"false", with the original in a comment above it), so the rule refuses every
image it applies to until you write the check by hand.

The report goes to standard error (with -o json, into the JSON on standard
output; --report writes it as JSON to a file too). When anything is
UNTRANSLATED, nothing is written and the exit code is 1: fix the sources, or
run again with --allow-partial to write the policy with its placeholders.

See docs/migrating.md for what maps to what.`,
		Example: `  signet policy import kyverno/*.yaml -o yaml --output-file signet-policy.yaml
  kubectl get clusterpolicies,clusterimagepolicies -o yaml | signet policy import -
  signet policy import cip.yaml --allow-partial --report import-report.json`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, names []string) error {
			if err := importFormat(output); err != nil {
				return err
			}
			files, err := readImportFiles(s, names)
			if err != nil {
				return err
			}
			res, ierr := migrate.Import(files)
			if res == nil {
				return ierr
			}
			if err := writeImportReport(reportFile, res); err != nil {
				return err
			}
			written := ierr == nil && (res.Complete() || allowPartial)
			if output == "yaml" {
				fmt.Fprint(s.err, res.Report())
				fmt.Fprintln(s.err, importSummary(res))
			}
			if ierr != nil {
				return finishImport(s, output, res, ierr)
			}
			if !written {
				return finishImport(s, output, res, fmt.Errorf("the import is incomplete: %s (listed above); nothing was written. Run again with --allow-partial to write the policy with placeholders (each refuses the images its rule applies to), then write those checks by hand in their place",
					count(res.Count(migrate.Untranslated), "part is UNTRANSLATED", "parts are UNTRANSLATED")))
			}
			return writeImport(s, output, outputFile, res)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "yaml", "output format: yaml (the policy, with comments; the report on standard error) or json (the report and the policy)")
	cmd.Flags().StringVar(&outputFile, "output-file", "", "write the policy to this file instead of standard output")
	cmd.Flags().StringVar(&reportFile, "report", "", "also write the report as JSON to this file")
	cmd.Flags().BoolVar(&allowPartial, "allow-partial", false, "write the policy even when parts are UNTRANSLATED (their rules refuse every image until finished by hand)")
	return cmd
}

// readImportFiles reads the named files; "-" is standard input.
func readImportFiles(s *streams, names []string) ([]migrate.File, error) {
	var files []migrate.File
	for _, n := range names {
		var b []byte
		var err error
		if n == "-" {
			b, err = io.ReadAll(s.in)
		} else {
			b, err = os.ReadFile(n)
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", n, err)
		}
		files = append(files, migrate.File{Name: n, Data: b})
	}
	return files, nil
}

func importSummary(res *migrate.Result) string {
	rules := 0
	if res.Policy != nil {
		rules = len(res.Policy.Images)
	}
	return fmt.Sprintf("signet policy import: %s; %d untranslated, %d stricter, %s",
		count(rules, "rule", "rules"), res.Count(migrate.Untranslated), res.Count(migrate.Stricter), count(res.Count(migrate.Note), "note", "notes"))
}

// finishImport ends an import that wrote no policy: with -o json the
// report still goes to standard output.
func finishImport(s *streams, output string, res *migrate.Result, err error) error {
	if output == "json" {
		if perr := printJSON(s, reportOf(res, nil, "")); perr != nil {
			return perr
		}
	}
	return err
}

func reportOf(res *migrate.Result, p *policy.Policy, file string) importOutput {
	findings := res.Findings
	if findings == nil {
		findings = []migrate.Finding{}
	}
	return importOutput{Complete: res.Complete(), Findings: findings, Policy: p, OutputFile: file, Counts: map[string]int{
		string(migrate.Untranslated): res.Count(migrate.Untranslated),
		string(migrate.Stricter):     res.Count(migrate.Stricter),
		string(migrate.Note):         res.Count(migrate.Note),
	}}
}

// writeImport writes the policy: to --output-file, or to standard output
// (as YAML, or inside the JSON report).
func writeImport(s *streams, output, file string, res *migrate.Result) error {
	doc, err := res.YAML()
	if output == "json" {
		doc, err = res.JSON()
	}
	if err != nil {
		return err
	}
	switch {
	case file != "":
		if err := os.WriteFile(file, doc, 0o644); err != nil {
			return fmt.Errorf("writing the policy: %w", err)
		}
		if output == "json" {
			return printJSON(s, reportOf(res, nil, file))
		}
		fmt.Fprintf(s.err, "wrote %s\n", file)
		return nil
	case output == "json":
		return printJSON(s, reportOf(res, res.Policy, ""))
	}
	_, err = s.out.Write(doc)
	return err
}

// writeImportReport writes --report.
func writeImportReport(file string, res *migrate.Result) error {
	if file == "" {
		return nil
	}
	b, err := json.MarshalIndent(reportOf(res, nil, ""), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}
