package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/signet-dev/signet/inspect"
	"github.com/signet-dev/signet/verify"
)

func newInspectCmd(s *streams) *cobra.Command {
	var (
		reg     registryOptions
		trust   trustOptions
		polFile string
		output  string
		html    string
		tb      bundleTrust
	)
	cmd := &cobra.Command{
		Use:   "inspect IMAGE [--policy P] [-o json] [--html report.html]",
		Short: "Show what is attached to an image, who signed it, and what it says",
		Long: `Show what is attached to an image: every signature and attestation, in every
layout (the referrers API, its fallback tag, cosign's legacy .sig/.att tags),
for the image and, for an index, each platform. For each: who signed it (key
id, or certificate identity and issuer), when, its transparency-log entries
and timestamps, and what it says — an SBOM's component count and top
licences, a scan's counts by severity and fixable count, a provenance's
builder, source and commit.

Nothing is verified unless --policy is given: then the image, each platform
and each artifact the policy used carry the verdict and the failing check.
Inspect exits 0 whatever the verdict; gate with 'signet verify --policy'.

--trust-bundle takes the trusted root, the recall list and the policy from
a signed trust bundle, verified against --trust-bundle-root, as verify does
(docs/trust-bundle.md): --policy NAME picks one of several by file name;
a bundle without a policy judges nothing, and its recall list still marks
a recalled image. --trusted-root and --recalls are refused with it.

Output: a tree (coloured on a terminal; NO_COLOR turns colour off), -o json
for scripts (the shape is in docs/inspect.md), and --html FILE for one
self-contained page (no network) with the supply chain as a picture, the
SBOM's components (sortable) and the vulnerabilities by severity.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := outputFormat(output); err != nil {
				return err
			}
			client := reg.client()
			if tb.ref != "" {
				u, err := bundleForVerify(cmd, s, reg, &trust, &tb, nil)
				if err != nil {
					return err
				}
				if polFile, err = u.bundlePolicy(polFile); err != nil {
					return err
				}
			}
			check := checkReferences
			if polFile != "" {
				check = checkPolicyReferences
			}
			if err := check(client, a[0]); err != nil {
				return err
			}
			if _, _, err := trust.verifierOptions(); err != nil {
				return err
			}
			o := inspect.Options{}
			if trust.root != nil {
				o.Trust = trust.root
			}
			recalls, err := trust.recallList()
			if err != nil {
				return err
			}
			if recalls != nil {
				o.Recalls = append(o.Recalls, recalls)
			}
			if polFile != "" {
				// Every signature judged, so each one's verdict is shown.
				eng, err := policyEngine(s, client, &trust, polFile, verify.WithEverySignature())
				if err != nil {
					return err
				}
				o.Engine = eng
			}
			rep, err := inspect.Inspect(cmd.Context(), client, a[0], o)
			if err != nil {
				return err
			}
			if html != "" {
				if err := writeHTMLReport(html, rep); err != nil {
					return err
				}
				fmt.Fprintf(s.err, "Report written to %s\n", html)
			}
			if output == "json" {
				return printJSON(s, rep)
			}
			return inspect.WriteText(s.out, rep, inspect.TextOptions{Color: colorOn(s)})
		},
	}
	reg.addFlags(cmd)
	reg.addSizeFlag(cmd, 64<<20)
	reg.addLayoutFlag(cmd)
	trust.addFlags(cmd)
	trust.addPredicateCapFlag(cmd)
	tb.addFlags(cmd)
	cmd.Flags().StringVar(&polFile, "policy", "", "judge the image, its platforms and its artifacts by this policy (with --trust-bundle: the bundle's policy of this file name)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text (a tree) or json")
	cmd.Flags().StringVar(&html, "html", "", "also write a self-contained HTML report to this file")
	return cmd
}

func writeHTMLReport(path string, rep *inspect.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := inspect.WriteHTML(f, rep); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// colorOn: colour only on a terminal, and never with NO_COLOR set
// (https://no-color.org) or TERM=dumb.
func colorOn(s *streams) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := s.out.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newDownloadSignatureCmd prints the signatures attached to an image.
func newDownloadSignatureCmd(s *streams) *cobra.Command {
	var reg registryOptions
	cmd := &cobra.Command{
		Use:   "signature IMAGE",
		Short: "Print the signatures attached to an image, one JSON object per line (NOT verified)",
		Long: `Print the image signatures attached to an image, one per line, as stored:
a Sigstore bundle (cosign v3, Signet) as it is, a legacy .sig layer in the
shape 'cosign download signature' prints, and a Notation signature as
{"mediaType": JWS or COSE, "envelope": base64}. Nothing is verified.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := checkReferences(reg.client(), a[0]); err != nil {
				return err
			}
			raws, err := inspect.Signatures(cmd.Context(), reg.client(), a[0])
			if err != nil {
				return err
			}
			n := 0
			for _, r := range raws {
				if r.Error != "" {
					fmt.Fprintf(s.err, "%s %s: unreadable: %s\n", r.Layout, r.Manifest, r.Error)
					continue
				}
				fmt.Fprintln(s.out, string(r.Data))
				n++
			}
			if n == 0 {
				fmt.Fprintln(s.err, "no signatures found")
				return reported{verify.ErrNoSignatures}
			}
			return nil
		},
	}
	reg.addFlags(cmd)
	reg.addSizeFlag(cmd, 8<<20)
	reg.addLayoutFlag(cmd)
	return cmd
}
