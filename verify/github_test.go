package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/internal/sigstoretest"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

const (
	slsaV1       = "https://slsa.dev/provenance/v1"
	ghIssuer     = "https://token.actions.githubusercontent.com"
	ghWorkflow   = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
	ghRepository = "https://github.com/acme/app"
)

// ghClaims are the claims of a release run of acme/app on a GitHub-hosted runner.
func ghClaims() map[string]string {
	return map[string]string{"repository": "acme/app", "repository_owner": "acme", "ref": "refs/heads/main",
		"runner_environment": "github-hosted", "workflow": "release", "event_name": "push", "sha": "0123456789abcdef0123456789abcdef01234567"}
}

// provenanceStatement is a SLSA provenance v1 statement for digest, as
// actions/attest-build-provenance makes one.
func provenanceStatement(t *testing.T, name, digest string) []byte {
	t.Helper()
	st := map[string]any{"_type": "https://in-toto.io/Statement/v1", "predicateType": slsaV1,
		"subject":   []map[string]any{{"name": name, "digest": map[string]string{"sha256": strings.TrimPrefix(digest, "sha256:")}}},
		"predicate": map[string]any{"buildDefinition": map[string]any{"buildType": "https://actions.github.io/buildtypes/workflow/v1"}, "runDetails": map[string]any{}}}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// githubBundle signs a provenance statement for digest like GitHub's
// private-repository flow: a Fulcio certificate from a GitHub Actions token
// with claims, an RFC 3161 timestamp, no transparency log entry.
func githubBundle(t *testing.T, ss *sigstoretest.Sigstore, subject string, claims map[string]string, digest string) []byte {
	t.Helper()
	fulcio := sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: ss.URL})
	tsa := sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: ss.TSAURL})
	s, err := sign.NewKeyless(oci.New(), fulcio, sigstoretest.GitHubToken(subject, claims), sign.WithTimestampAuthority(tsa))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := s.SignStatement(context.Background(), provenanceStatement(t, "team/app", digest))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func trustedRoot(t *testing.T, ss *sigstoretest.Sigstore) *root.TrustedRoot {
	t.Helper()
	tr, err := ss.TrustedRoot()
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestGitHubIdentity checks the GitHub claims an Identity pins and the
// trusted root it is pinned to: a certificate from the public-good root is
// not GitHub's, however well it names the workflow.
func TestGitHubIdentity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	github, publicGood := sigstoretest.Start(t), sigstoretest.Start(t)
	reg := registrytest.New(t, true)
	client := oci.New()
	release := verify.Identity{Name: "release", Issuer: ghIssuer, Subject: ghWorkflow, SourceRepositoryURI: ghRepository,
		SourceRepositoryRef: "refs/heads/main", RunnerEnvironment: "github-hosted", Root: trustedRoot(t, github)}
	with := func(claim, value string) map[string]string {
		c := ghClaims()
		c[claim] = value
		return c
	}
	cases := []struct {
		name   string
		by     *sigstoretest.Sigstore
		claims map[string]string
		tlog   verify.TlogMode
		want   error
		texts  []string
	}{
		{"release workflow, GitHub's root", github, ghClaims(), "", nil, nil},
		{"certificate from another root than the pinned one", publicGood, ghClaims(), "", verify.ErrBadSignature,
			[]string{"the identity trusted here", "as release"}},
		{"self-hosted runner", github, with("runner_environment", "self-hosted"), "", verify.ErrIdentityMismatch,
			[]string{"runner github-hosted", "runner self-hosted"}},
		{"another source repository", github, with("repository", "acme/fork"), "", verify.ErrIdentityMismatch,
			[]string{"source repository https://github.com/acme/app", "source repository https://github.com/acme/fork"}},
		{"another ref", github, with("ref", "refs/heads/dev"), "", verify.ErrIdentityMismatch,
			[]string{"source ref refs/heads/main", "source ref refs/heads/dev"}},
		{"transparency log required", github, ghClaims(), verify.TlogRequired, verify.ErrTransparencyLog,
			[]string{"only an RFC 3161 timestamp"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := reg.PushImage(t, "team/app:gh"+string(rune('a'+i)))
			target, _ := client.Resolve(ctx, d.String())
			b := githubBundle(t, tc.by, ghWorkflow, tc.claims, d.DigestStr())
			if _, err := client.AttachBundle(ctx, target, b, sign.BundleAnnotations(slsaV1, registrytestNow())); err != nil {
				t.Fatal(err)
			}
			// The verifier's own root is the public-good one: the pin
			// must decide, not the verifier's root.
			v, err := verify.New(client, nil, verify.WithTrustedRoot(trustedRoot(t, publicGood)), verify.WithIdentities(release))
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.VerifyAttestations(ctx, d.String(), verify.AttestationRequest{PredicateType: slsaV1, TransparencyLog: tc.tlog})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				s := res.Signatures[0]
				if s.Key != "release" || !strings.Contains(s.Identity, "runner github-hosted") || !strings.Contains(s.Identity, "source repository "+ghRepository) {
					t.Fatalf("signature %+v", s)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			for _, text := range tc.texts {
				if !strings.Contains(err.Error(), text) {
					t.Errorf("%v\ndoes not say %q", err, text)
				}
			}
		})
	}
}

// TestEngineGitHubSigner: a policy's one-line github: signer, pinned to
// GitHub's trusted root, decides over the signature and provenance a
// workflow made the way GitHub's private-repository flow does.
func TestEngineGitHubSigner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	github, publicGood := sigstoretest.Start(t), sigstoretest.Start(t)
	for f, ss := range map[string]*sigstoretest.Sigstore{"github.json": github, "public-good.json": publicGood} {
		b, err := trustedRoot(t, ss).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(w.dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := w.reg.PushImage(t, "team/app:v1")
	fulcio := sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: github.URL})
	tsa := sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: github.TSAURL})
	s, err := sign.NewKeyless(w.client, fulcio, sigstoretest.GitHubToken(ghWorkflow, ghClaims()), sign.WithTimestampAuthority(tsa))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignImage(ctx, d.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	target, _ := w.client.Resolve(ctx, d.String())
	if _, err := w.client.AttachBundle(ctx, target, githubBundle(t, github, ghWorkflow, ghClaims(), d.DigestStr()), sign.BundleAnnotations(slsaV1, time.Now())); err != nil {
		t.Fatal(err)
	}
	const release = "workflow: acme/app/.github/workflows/release.yml@refs/heads/main"
	cases := []struct {
		name, signer, tlog string
		allowed            bool
		text               string
	}{
		{"the release workflow", release + ", runnerEnvironment: github-hosted, ref: refs/heads/main, trustedRoot: github.json", "optional", true, ""},
		{"self-hosted required", release + ", runnerEnvironment: self-hosted, trustedRoot: github.json", "optional", false, "runner self-hosted; found"},
		{"another ref", release + ", ref: refs/heads/dev, trustedRoot: github.json", "optional", false, "source ref refs/heads/dev"},
		{"another workflow", "workflow: acme/app/.github/workflows/deploy.yml, trustedRoot: github.json", "optional", false, "found subject " + ghWorkflow},
		{"the public-good root", release + ", trustedRoot: public-good.json", "optional", false, "the identity trusted here"},
		{"log required", release + ", trustedRoot: github.json", "required", false, "only an RFC 3161 timestamp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := "apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: \"REG/team/**\"\n    transparencyLog: " + tc.tlog + "\n" +
				"    signers:\n      - name: release-build\n        github: {" + tc.signer + "}\n" +
				"    attestations:\n      - {name: provenance, predicateType: " + slsaV1 + ", signers: [release-build]}\n"
			dec := w.engine(t, doc).Decide(ctx, d.String())
			if dec.Allowed != tc.allowed || !strings.Contains(dec.Reason, tc.text) {
				t.Fatalf("allowed %v (%s: %s), want %v saying %q", dec.Allowed, dec.Class, dec.Reason, tc.allowed, tc.text)
			}
		})
	}
}
