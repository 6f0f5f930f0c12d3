package main

import (
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

func newVerifyCmd(s *streams) *cobra.Command {
	var (
		reg     registryOptions
		trust   trustOptions
		ids     identityOptions
		tb      bundleTrust
		keyRefs []string
		annots  []string
		output  string
		polFile string
		explain bool
		workers int
		files   bundleFiles
		plats   platformFlags
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "verify --key KEY IMAGE...",
		Short: "Verify the signatures attached to images",
		Long: `Verify that each IMAGE carries a valid signature by a trusted key.

Signatures are looked for in every layout: the OCI referrers API, the
referrers fallback tag (sha256-<hex>), and cosign's legacy sha256-<hex>.sig
tag. A signature counts only if it verifies with a trusted key, names this
image's digest (a signature copied from another image is refused), and
carries every -a annotation given. Keyless signatures (Fulcio certificates)
are verified with --certificate-identity/--certificate-oidc-issuer (or their
-regexp forms, and --certificate-github-workflow-* pins) against the
certificate authorities and timestamp authorities of --trusted-root. Transparency-log entries in a bundle are
verified offline (inclusion proof, checkpoint signature, logged body) against
the logs of --trusted-root (default $SIGNET_HOME/trusted_root.json); --tlog
required refuses a signature without such an entry. --recalls names a recall
list (docs/policy.md): a recalled digest is refused, and a revoked key's
signatures count only with a trusted time before the revocation (exit 7).

An IMAGE may be in an OCI image layout directory (crane pull --format oci,
skopeo copy ... oci:DIR:TAG): oci-layout:DIR[:TAG|@sha256:DIGEST]. Its
signatures and attestations are read from the layout (manifests listed in
index.json whose subject is the image, the fallback tag, cosign's legacy
tags); nothing is fetched. With --policy, name the repository the layout
is a copy of with --layout-repository: its rule judges the image (without
it, a policy refuses layout images rather than guess a rule).

--trust-bundle takes all trust from a signed trust bundle
(docs/trust-bundle.md), verified against --trust-bundle-root: its trusted
root and recall list, its policy (--policy NAME picks one of several by file
name) or else its keys. Nothing else is read: no $SIGNET_HOME trusted root,
no TUF refresh. A bundle refused (rollback, freeze, altered) stops the
verification (exit 4); when its registry cannot be read, the last good
bundle is used while its signed metadata is still valid, with a warning.

--bundle FILE adds Sigstore bundles kept beside the image, with --policy or
with --key and identities: a bundle, JSON Lines of bundles (what
gh attestation download writes), or GitHub's attestations API response.
They are checked for every IMAGE exactly like attached ones, so a bundle
made for another image is refused (docs/github-attestations.md).

--platforms says what a multi-platform image (an index) must carry, with
--key and identities (with --policy each rule says it, docs/policy.md):
index (default) — a signature on the index's digest, which covers every
platform manifest's digest (what cosign sign makes without --recursive);
every — a signature on each platform manifest the index lists, on its own
digest (signet sign --recursive, cosign sign --recursive), as a node pulls
one platform and nobody can know which; any — on at least one, which lets
a node pull an unverified platform (for audits). --platform-filter limits
every and any to some platforms (os/arch[/variant], named as containerd names them; os/arch covers
its variants). An index nested in the index, a platform manifest the
registry lacks, more than 64 platforms, or none left after the filter,
refuse the image.

` + timeoutHelp + exitCodesHelp,
		Example: `  signet verify --key release.pub registry.example.com/team/app@sha256:...
  signet verify --key release.pub -a env=prod -o json registry.example.com/team/app:v1
  signet verify --key release.pub oci-layout:./app-layout:v1
  signet verify --key release.pub --platforms every registry.example.com/team/app:v1
  signet verify --key release.pub --platforms every --platform-filter linux/amd64 --platform-filter linux/arm64 registry.example.com/team/app:v1
  signet verify --policy policy.yaml --layout-repository registry.example.com/team/app oci-layout:./app-layout@sha256:...
  signet verify --policy policy.yaml --recalls recalls.yaml registry.example.com/team/app:v1   # exit 7 when recalled
  gh attestation download oci://ghcr.io/acme/app:v1 --owner acme   # writes sha256:<digest>.jsonl
  signet verify --policy policy.yaml --bundle sha256:<digest>.jsonl ghcr.io/acme/app:v1
  signet verify --trust-bundle oci://registry.example.com/trust/bundle:prod --trust-bundle-root bundle.root.json registry.example.com/team/app:v1`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, images []string) error {
			if workers < 1 {
				return usageError{fmt.Errorf("--max-workers must be at least 1, not %d", workers)}
			}
			cancel, err := withTimeout(cmd, timeout)
			if err != nil {
				return err
			}
			defer cancel()
			if tb.ref != "" {
				var err error
				if polFile, keyRefs, err = verifyFromBundle(cmd, s, reg, &trust, &tb, polFile, keyRefs, ids.id.Subject+ids.id.SubjectRegExp != ""); err != nil {
					return err
				}
			}
			if polFile != "" {
				if len(keyRefs) > 0 || len(annots) > 0 {
					return usageError{fmt.Errorf("--policy names the trusted signers: do not also give --key or -a")}
				}
				if plats.given(cmd) {
					return usageError{fmt.Errorf("--policy says per rule what an index must carry (platforms, platformFilter): do not also give --platforms or --platform-filter")}
				}
				return verifyPolicy(cmd, s, reg, trust, polFile, images, output, explain, workers, files)
			}
			if err := checkReferences(reg.client(), images...); err != nil {
				return err
			}
			idents, err := ids.identities()
			if err != nil {
				return err
			}
			if len(keyRefs) == 0 && len(idents) == 0 {
				return usageError{fmt.Errorf("--key, or --certificate-identity and --certificate-oidc-issuer, is required")}
			}
			if err := outputFormat(output); err != nil {
				return err
			}
			ann, err := parseAnnotations(annots)
			if err != nil {
				return err
			}
			pmode, err := plats.mode()
			if err != nil {
				return err
			}
			extra, err := files.read()
			if err != nil {
				return err
			}
			v, mode, err := buildVerifier(cmd, s, reg, trust, keyRefs, idents, verify.WithExtraArtifacts(extra...))
			if err != nil {
				return err
			}
			return reportEach(s, images, output, candidates{}, workers, func(img string) (*verify.Result, error) {
				return v.Verify(cmd.Context(), img, verify.Request{Annotations: ann, TransparencyLog: mode, Platforms: pmode, PlatformFilter: plats.filter})
			})
		},
	}
	reg.addFlags(cmd)
	reg.addSizeFlag(cmd, 8<<20)
	reg.addLayoutFlag(cmd)
	trust.addFlags(cmd)
	trust.addPredicateCapFlag(cmd)
	tb.addFlags(cmd)
	ids.addFlags(cmd)
	files.addFlag(cmd)
	plats.addFlags(cmd)
	cmd.Flags().StringArrayVar(&keyRefs, "key", nil, "trusted public key: a PEM file, env://VAR, or a KMS URI (repeatable: any one may verify)")
	cmd.Flags().StringArrayVarP(&annots, "annotation", "a", nil, "require a signed key=value annotation (repeatable)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringVar(&polFile, "policy", "", "decide by a policy document (signet.dev/v1alpha1 Policy) instead of --key")
	cmd.Flags().BoolVar(&explain, "explain", false, "with --policy: print every check and its evidence")
	cmd.Flags().IntVar(&workers, "max-workers", 8, "images verified at once")
	addTimeoutFlag(cmd, &timeout)
	return cmd
}

func verifyPolicy(cmd *cobra.Command, s *streams, reg registryOptions, trust trustOptions, file string, images []string, output string, explain bool, workers int, files bundleFiles) error {
	if err := outputFormat(output); err != nil {
		return err
	}
	if err := checkPolicyReferences(reg.client(), images...); err != nil {
		return err
	}
	if _, _, err := trust.verifierOptions(); err != nil {
		return err
	}
	extra, err := files.read()
	if err != nil {
		return err
	}
	e, err := policyEngine(s, reg.client(), &trust, file, verify.WithWorkers(workers),
		verify.WithTagHeadState(filepath.Join(signetHome(), "tag-heads")), verify.WithEngineArtifacts(extra...))
	if err != nil {
		return err
	}
	ds := e.DecideAll(cmd.Context(), images)
	code := exitOK
	for _, d := range ds {
		code = worse(code, exitCode(decisionError(d)))
		if output == "text" {
			printDecision(s, d, explain)
		}
	}
	if output == "json" {
		if err := printJSON(s, ds); err != nil {
			return err
		}
	}
	if code != exitOK {
		return silentError{code}
	}
	return nil
}

// verifyReport is one image's outcome as printed.
type verifyReport struct {
	Image    string         `json:"image"`
	Result   *verify.Result `json:"result,omitempty"`
	Error    string         `json:"error,omitempty"`
	ExitCode int            `json:"exitCode"`
}

// candidates is what a verify command looks for: image signatures (the
// zero value), or attestations of one predicate type.
type candidates struct {
	typ           string // --type as given
	predicateType string // the URI it names
	condition     string
}

func (c candidates) attestations() bool { return c.predicateType != "" }

// noun is what one candidate is called.
func (c candidates) noun() string {
	if c.attestations() {
		return "attestation"
	}
	return "signature"
}

// shortType names the attestations' type as the user wrote it.
func (c candidates) shortType() string {
	if c.typ != "" {
		return c.typ
	}
	return c.predicateType
}

// kind names the attestations' type as the user wrote it, and the URI it
// stands for when that differs.
func (c candidates) kind() string {
	if c.typ == "" || c.typ == c.predicateType {
		return c.predicateType
	}
	return fmt.Sprintf("%s (%s)", c.typ, c.predicateType)
}

func printVerify(s *streams, rep verifyReport, what candidates) {
	rep = printable(withoutStatements(rep))
	res := rep.Result
	if res == nil {
		fmt.Fprintf(s.out, "✗ %s: %s\n", rep.Image, rep.Error)
		return
	}
	where := res.Digest
	if res.Tag != "" {
		where = fmt.Sprintf("tag %s → %s", res.Tag, res.Digest)
	}
	switch {
	case res.Verified && what.attestations():
		fmt.Fprintf(s.out, "✓ %s verified: a valid %s attestation (%s)\n", rep.Image, what.kind(), where)
	case res.Verified:
		fmt.Fprintf(s.out, "✓ %s verified (%s)\n", rep.Image, where)
	default:
		fmt.Fprintf(s.out, "✗ %s NOT verified (%s): %s\n", rep.Image, where, notVerifiedReason(res, what))
	}
	for _, sig := range res.Signatures {
		printCandidate(s, sig, what)
	}
	printPlatforms(s, res, what)
	if res.Ignored > 0 {
		other := "image signatures"
		if what.attestations() {
			other = what.shortType() + " attestations"
		}
		fmt.Fprintf(s.out, "  (%d other attached artifacts are not %s)\n", res.Ignored, other)
	}
}

// notVerifiedReason is the headline of a result that did not verify.
func notVerifiedReason(res *verify.Result, what candidates) string {
	switch {
	case res.Recalled != "":
		return "the image is recalled [revoked] (" + res.Recalled + ")"
	case res.PlatformMode != "":
		return platformsReason(res)
	case len(res.Signatures) == 0 && what.attestations():
		return fmt.Sprintf("no attestations of type %s found", what.kind())
	case len(res.Signatures) == 0:
		return "no signatures found"
	case what.attestations():
		return fmt.Sprintf("no valid %s attestation; %d refused:", what.shortType(), len(res.Signatures))
	}
	return fmt.Sprintf("no valid signature; %d refused:", len(res.Signatures))
}

// printCandidate prints one signature or attestation and what was found.
func printCandidate(s *streams, sig verify.Signature, what candidates) {
	mark := "✓"
	if !sig.Verified {
		mark = "✗"
	}
	fmt.Fprintf(s.out, "  %s %s %s in %s %s\n", mark, sig.Format, what.noun(), sig.Layout, short(sig.Manifest))
	if !sig.Verified {
		fmt.Fprintf(s.out, "      refused: %s\n", sig.Error)
		return
	}
	if sig.Identity != "" {
		fmt.Fprintf(s.out, "      keyless: %s\n", sig.Identity)
	} else {
		fmt.Fprintf(s.out, "      key %s (%s)\n", sig.Key, sig.KeyID)
	}
	if sig.SignedName != "" {
		fmt.Fprintf(s.out, "      signed for %s\n", sig.SignedName)
	}
	for _, e := range sig.Log {
		if e.Verified && e.SETOnly {
			fmt.Fprintf(s.out, "      logged at index %d in %s, signed entry timestamp verified offline (a legacy layer carries no inclusion proof)\n", e.Index, e.URL)
		} else if e.Verified {
			fmt.Fprintf(s.out, "      logged at index %d in %s, proof verified offline\n", e.Index, e.URL)
		} else {
			fmt.Fprintf(s.out, "      log entry %d (not checked: log not in the trusted root)\n", e.Index)
		}
	}
	if len(sig.Annotations) > 0 {
		fmt.Fprintf(s.out, "      annotations %s\n", formatAnnotations(sig.Annotations))
	}
	for _, c := range sig.Checks {
		if c.Name == "condition" && c.Outcome == verify.Pass {
			fmt.Fprintf(s.out, "      ✓ condition %s\n", c.Detail)
		}
	}
}

// short shortens a digest to its algorithm and 12 hex digits; anything
// else (a bundle file's name and line) is shown whole.
func short(digest string) string {
	if alg, hex, ok := strings.Cut(digest, ":"); ok && (alg == "sha256" || alg == "sha512") && len(hex) > 12 {
		return alg + ":" + hex[:12]
	}
	return digest
}

func formatAnnotations(m map[string]any) string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%v", k, v))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// buildVerifier loads the trusted keys and trust root the verify commands share.
func buildVerifier(cmd *cobra.Command, s *streams, reg registryOptions, trust trustOptions, keyRefs []string, idents []verify.Identity, extra ...verify.Option) (*verify.Verifier, verify.TlogMode, error) {
	loader := keyLoader(s)
	var trusted []verify.Key
	for _, ref := range keyRefs {
		_, pub, err := loader.LoadVerifier(cmd.Context(), ref)
		if err != nil {
			return nil, "", err
		}
		trusted = append(trusted, verify.Key{Name: ref, PublicKey: pub})
	}
	vopts, mode, err := trust.verifierOptions()
	if err != nil {
		return nil, "", err
	}
	if len(idents) > 0 {
		vopts = append(vopts, verify.WithIdentities(idents...))
	}
	v, err := verify.New(reg.client(), trusted, append(vopts, extra...)...)
	return v, mode, err
}

// reportEach verifies the images with fn, workers at once (each image's
// registry round trips overlap the others'), prints each outcome in the
// order given (text) or all of them (json), and returns the exit code of
// the worst.
func reportEach(s *streams, images []string, output string, what candidates, workers int, fn func(img string) (*verify.Result, error)) error {
	code := exitOK
	var reports []verifyReport
	for rep := range verifyEach(images, workers, fn) {
		code = worse(code, rep.ExitCode)
		reports = append(reports, rep)
		if output == "text" {
			printVerify(s, rep, what)
		}
	}
	if output == "json" {
		var doc any = reports
		if what.attestations() {
			doc = attestationReports(reports, what)
		}
		if err := printJSON(s, doc); err != nil {
			return err
		}
	}
	if code != exitOK {
		return silentError{code}
	}
	return nil
}

// verifyEach runs fn on each image, at most workers at once, and yields
// the reports in the order of images as they are ready.
func verifyEach(images []string, workers int, fn func(img string) (*verify.Result, error)) iter.Seq[verifyReport] {
	return func(yield func(verifyReport) bool) {
		done := make([]chan verifyReport, len(images))
		for i := range done {
			done[i] = make(chan verifyReport, 1) // a worker never waits for the reader
		}
		sem := make(chan struct{}, max(1, workers))
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for i, img := range images {
				select {
				case sem <- struct{}{}:
				case <-stop:
					return
				}
				go func() {
					defer func() { <-sem }()
					res, err := fn(img)
					rep := verifyReport{Image: img, Result: res, ExitCode: exitCode(err)}
					if err != nil {
						rep.Error = err.Error()
					}
					done[i] <- rep
				}()
			}
		}()
		for i := range done {
			if !yield(<-done[i]) {
				return
			}
		}
	}
}

// policyEngine compiles a policy file into an engine trusting the logs of
// trust's root (trust.verifierOptions must have run).
func policyEngine(s *streams, client *oci.Client, trust *trustOptions, file string, opts ...verify.EngineOption) (*verify.Engine, error) {
	c, err := policy.Load(file, keyLoader(s))
	if err != nil {
		return nil, err
	}
	if trust.fromBundle && trust.trustedRoot != "" {
		// The bundle's trusted root is part of the decision's trust: a
		// receipt made under another one does not count.
		tr, err := os.ReadFile(trust.trustedRoot)
		if err != nil {
			return nil, err
		}
		c.BindTrustedRoot(tr)
	}
	if trust.root != nil {
		opts = append(opts, verify.WithEngineTrustedRoot(trust.root))
	}
	r, err := trust.recallList()
	if err != nil {
		return nil, err
	}
	opts = append(opts, trust.predicateCap())
	return verify.NewEngine(client, c, append(opts, verify.WithEngineRecalls(r))...)
}

// withoutStatements is rep without the signed statements, which the text
// output does not show: a 100 MB attestation's statement is not copied
// (twice) only to make it printable.
func withoutStatements(rep verifyReport) verifyReport {
	if rep.Result == nil {
		return rep
	}
	res := *rep.Result
	res.Signatures = slices.Clone(res.Signatures)
	for i := range res.Signatures {
		res.Signatures[i].Statement = nil
	}
	rep.Result = &res
	return rep
}
