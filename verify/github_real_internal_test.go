package verify

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
)

// realRoots reads testdata/github/trusted_root.jsonl, what
// `gh attestation trusted-root` printed: the public-good root, then
// GitHub's own instance (no transparency log, no CT log, its TSA).
func realRoots(t *testing.T) (publicGood, github *root.TrustedRoot) {
	t.Helper()
	data, err := os.ReadFile("testdata/github/trusted_root.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("%d trusted roots, want 2", len(lines))
	}
	if publicGood, err = root.NewTrustedRootFromJSON(lines[0]); err != nil {
		t.Fatal(err)
	}
	if github, err = root.NewTrustedRootFromJSON(lines[1]); err != nil {
		t.Fatal(err)
	}
	return publicGood, github
}

// TestRealGitHubAttestations verifies real bundles made by
// actions/attest-build-provenance, offline, as bundle files for the digest
// their statement names: the certificate is checked at the time its
// timestamp or log entry gives, so a bundle from 2024 still verifies.
func TestRealGitHubAttestations(t *testing.T) {
	t.Parallel()
	publicGood, github := realRoots(t)
	const (
		issuer   = "https://token.actions.githubusercontent.com"
		prober   = "https://github.com/actions/attest-build-provenance/.github/workflows/prober.yml@refs/heads/main"
		demo     = "https://github.com/actions/attest-demo/.github/workflows/build-python.yml@refs/heads/main"
		slsa     = "https://slsa.dev/provenance/v1"
		private  = "testdata/github/attest-build-provenance-13531551.sigstore.json" // GitHub's instance, RFC 3161 timestamp only
		public   = "testdata/github/attest-build-provenance-13532655.sigstore.json" // public-good, Rekor entry
		old      = "testdata/github/github_provenance_demo-0.0.12-py3-none-any-bundle.jsonl"
		priv     = "sha256:b03d18ed0a16864ef2d2e559c660159a2170b9d086a1f42f570b1679326b90e6"
		pub      = "sha256:bb030cb9e028ff6d4051f2103b3b08f7e3928aa80a7d3626cef6e2553dc714b8"
		wheel    = "sha256:ae57936def59bc4c75edd3a837d89bcefc6d3a5e31d55a6fa7a71624f92c3c3b"
		proberGH = "https://github.com/actions/attest-build-provenance"
	)
	proberID := func(tm root.TrustedMaterial) Identity {
		return Identity{Name: "prober", Issuer: issuer, Subject: prober, SourceRepositoryURI: proberGH,
			SourceRepositoryOwnerURI: "https://github.com/actions", SourceRepositoryRef: "refs/heads/main", RunnerEnvironment: "github-hosted", Root: tm}
	}
	selfHosted := proberID(github)
	selfHosted.RunnerEnvironment = "self-hosted"
	cases := []struct {
		name   string
		file   string
		digest string
		id     Identity
		tlog   TlogMode
		want   error
		text   string
	}{
		{"GitHub's instance, timestamp only", private, priv, proberID(github), "", nil, ""},
		{"public-good, Rekor entry required", public, pub, proberID(publicGood), TlogRequired, nil, ""},
		{"2024 bundle from gh attestation download", old, wheel,
			Identity{Name: "demo", Issuer: issuer, Subject: demo, SourceRepositoryURI: "https://github.com/actions/attest-demo", Root: github}, "", nil, ""},
		{"GitHub's bundle under the public-good root", private, priv, proberID(publicGood), "", ErrBadSignature, "the identity trusted here"},
		{"public-good bundle under GitHub's root", public, pub, proberID(github), "", ErrBadSignature, "not in the trusted root"},
		{"GitHub's bundle, log required", private, priv, proberID(github), TlogRequired, ErrTransparencyLog, "only an RFC 3161 timestamp"},
		{"self-hosted runner required", private, priv, selfHosted, "", ErrIdentityMismatch, "runner self-hosted; found"},
		{"for another digest", private, pub, proberID(github), "", ErrDigestMismatch, "the bundle file holds a signature made for another image"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			arts, err := oci.ReadBundleFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			v, err := New(oci.New(), nil, WithIdentities(tc.id), WithExtraArtifacts(arts...))
			if err != nil {
				t.Fatal(err)
			}
			d, err := name.NewDigest("registry.invalid/artifact@" + tc.digest)
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.evalAttestations(context.Background(), d.String(), &oci.Target{Ref: d, Digest: d}, nil,
				AttestationRequest{PredicateType: slsa, TransparencyLog: tc.tlog})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if s := res.Signatures[0]; s.Key != tc.id.Name || !strings.Contains(s.Identity, "runner github-hosted") {
					t.Fatalf("signature %+v", s)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want %v saying %q", err, tc.want, tc.text)
			}
		})
	}
}

// TestRealGitHubRule verifies the real bundle GitHub's instance made with
// a policy's one-line github: signer pinned to GitHub's trusted root: the
// rule's claims are the certificate's, as GitHub's extensions state them.
func TestRealGitHubRule(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/github/trusted_root.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	dir := t.TempDir()
	for i, f := range []string{"public-good.json", "github.json"} {
		if err := os.WriteFile(filepath.Join(dir, f), lines[i], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	arts, err := oci.ReadBundleFile("testdata/github/attest-build-provenance-13531551.sigstore.json")
	if err != nil {
		t.Fatal(err)
	}
	const digest = "sha256:b03d18ed0a16864ef2d2e559c660159a2170b9d086a1f42f570b1679326b90e6"
	cases := []struct {
		name, signer string
		want         error
		text         string
	}{
		{"the prober workflow", "workflow: actions/attest-build-provenance/.github/workflows/prober.yml@refs/heads/main, runnerEnvironment: github-hosted, ref: refs/heads/main, trustedRoot: github.json", nil, ""},
		{"any ref, owner", "workflow: actions/attest-build-provenance/.github/workflows/prober.yml, owner: actions, trustedRoot: github.json", nil, ""},
		{"self-hosted required", "workflow: actions/attest-build-provenance/.github/workflows/prober.yml, runnerEnvironment: self-hosted, trustedRoot: github.json",
			ErrIdentityMismatch, "runner self-hosted; found"},
		{"another source repository", "workflow: actions/attest-build-provenance/.github/workflows/prober.yml, repository: actions/other, trustedRoot: github.json",
			ErrIdentityMismatch, "source repository https://github.com/actions/other"},
		{"another workflow", "workflow: actions/attest-build-provenance/.github/workflows/release.yml, trustedRoot: github.json", ErrIdentityMismatch, "found subject https://github.com/actions/attest-build-provenance/.github/workflows/prober.yml@refs/heads/main"},
		{"the public-good root", "workflow: actions/attest-build-provenance/.github/workflows/prober.yml, trustedRoot: public-good.json", ErrBadSignature, "the identity trusted here"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc := "apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: \"registry.invalid/**\"\n    signers:\n" +
				"      - name: prober\n        github: {" + tc.signer + "}\n" +
				"    attestations:\n      - {name: provenance, predicateType: https://slsa.dev/provenance/v1, signers: [prober]}\n"
			c, err := policy.Compile([]byte(doc), dir, keys.Loader{})
			if err != nil {
				t.Fatal(err)
			}
			v, err := signersVerifier(oci.New(), c.Rules[0].Signers, []Option{WithExtraArtifacts(arts...)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := name.NewDigest("registry.invalid/artifact@" + digest)
			_, err = v.evalAttestations(context.Background(), d.String(), &oci.Target{Ref: d, Digest: d}, nil,
				AttestationRequest{PredicateType: "https://slsa.dev/provenance/v1"})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want %v saying %q", err, tc.want, tc.text)
			}
		})
	}
}
