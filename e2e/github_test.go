//go:build e2e

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/signet-dev/signet/oci"
)

// TestGitHubAttestations plays GitHub's private-repository flow with the
// real Fulcio v1.8.8 and timestamp-authority v2.1.3: a workflow token from
// an OIDC issuer Fulcio treats as GitHub Actions (github-workflow), a
// certificate with GitHub's extensions, an RFC 3161 timestamp and no
// transparency-log entry. Signet signs and attests the image with it; the
// bundles are attached as referrers and also written as JSON Lines (what gh
// attestation download writes) for a copy of the image that has none. A
// policy with a one-line github: signer and a provenance requirement
// allows both, and refuses the wrong workflow, the wrong ref, a
// self-hosted runner where github-hosted is required, and
// transparencyLog: required, each with its reason.
func TestGitHubAttestations(t *testing.T) {
	if !inPrivateNetwork(t, "TestGitHubAttestations") {
		return
	}
	gh := startHTTPSOIDC(t)
	fulcioURL, caPEM := startFulcioTrusting(t, gh)
	tsaURL, tsaChain := startTSA(t)
	tr, sc := githubInstanceTrust(t, fulcioURL, caPEM, tsaURL, tsaChain)
	reg := ggcrReg.get(t, startGGCR)
	dir := t.TempDir()

	hosted := githubToken(t, gh, "github-hosted")
	selfHosted := githubToken(t, gh, "self-hosted")
	signAndAttest := func(t *testing.T, d name.Digest, token string) {
		t.Helper()
		stmt := provenanceStatement(t, dir, d)
		expect(t, "signet keyless sign (timestamp, no log)", signet(t, "sign", "--signing-config", sc, "--identity-token", token, "--no-tlog", d.String()), exitOK)
		expect(t, "signet keyless attest (timestamp, no log)", signet(t, "attest", "--signing-config", sc, "--identity-token", token, "--no-tlog",
			"--statement", stmt, d.String()), exitOK)
	}
	policy := func(t *testing.T, signer, tlog string) string {
		t.Helper()
		doc := "apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n" +
			"  - pattern: \"" + reg.host + "/**\"\n" +
			"    transparencyLog: " + tlog + "\n" +
			"    signers:\n" +
			"      - name: release-build\n" +
			"        github: {" + signer + ", issuer: " + gh.url + ", trustedRoot: " + tr + "}\n" +
			"    attestations:\n" +
			"      - name: provenance\n" +
			"        predicateType: https://slsa.dev/provenance/v1\n" +
			"        signers: [release-build]\n"
		p := filepath.Join(t.TempDir(), "policy.yaml")
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const release = "workflow: example/app/.github/workflows/release.yml@refs/heads/main"

	cell(t, "github attestations: attached and as a gh attestation download file", []*registryUnderTest{reg}, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+"/app:v1")
		signAndAttest(t, d, hosted)
		file := attachedAsJSONL(t, dir, d)
		mirror := copyImage(t, d, r.host+"/"+repo+"/mirror:v1")
		good := policy(t, release+", runnerEnvironment: github-hosted, ref: refs/heads/main", "optional")
		expect(t, "verify --policy, attached", signet(t, "verify", "--policy", good, d.String()), exitOK)
		expect(t, "verify --policy, a copy without referrers", signet(t, "verify", "--policy", good, mirror.String()), exitPolicyDenied, "not-found")
		expect(t, "verify --policy --bundle, a copy without referrers", signet(t, "verify", "--policy", good, "--bundle", file, "--explain", mirror.String()),
			exitOK, "file "+file)
		expect(t, "verify-attestation --bundle with GitHub's root", signet(t, "verify-attestation", "--trusted-root", tr, "--type", "slsaprovenance1",
			"--bundle", file, "--certificate-identity", "https://github.com/example/app/.github/workflows/release.yml@refs/heads/main",
			"--certificate-oidc-issuer", gh.url, mirror.String()), exitOK)

		for _, c := range []struct{ name, signer, tlog, reason string }{
			{"another workflow", "workflow: example/app/.github/workflows/deploy.yml@refs/heads/main", "optional",
				"found subject https://github.com/example/app/.github/workflows/release.yml@refs/heads/main"},
			{"another ref", release + ", ref: refs/heads/stable", "optional", "source ref refs/heads/stable"},
			{"transparency log required", release, "required", "only an RFC 3161 timestamp"},
		} {
			p := policy(t, c.signer, c.tlog)
			expect(t, c.name+", attached", signet(t, "verify", "--policy", p, d.String()), exitPolicyDenied, c.reason)
			expect(t, c.name+", from the file", signet(t, "verify", "--policy", p, "--bundle", file, mirror.String()), exitPolicyDenied, c.reason)
		}
	})
	cell(t, "github attestations: self-hosted runner refused where github-hosted is required", []*registryUnderTest{reg}, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+"/app:v1")
		signAndAttest(t, d, selfHosted)
		file := attachedAsJSONL(t, dir, d)
		mirror := copyImage(t, d, r.host+"/"+repo+"/mirror:v1")
		expect(t, "any runner", signet(t, "verify", "--policy", policy(t, release, "optional"), d.String()), exitOK)
		p := policy(t, release+", runnerEnvironment: github-hosted", "optional")
		expect(t, "github-hosted required, attached", signet(t, "verify", "--policy", p, d.String()), exitPolicyDenied, "runner github-hosted", "runner self-hosted")
		expect(t, "github-hosted required, from the file", signet(t, "verify", "--policy", p, "--bundle", file, mirror.String()),
			exitPolicyDenied, "runner github-hosted", "runner self-hosted")
	})
}

// githubToken mints a GitHub Actions token for a release run of
// example/app on a runner of the given environment.
func githubToken(t *testing.T, o *oidcIssuer, runner string) string {
	const wf = "example/app/.github/workflows/release.yml@refs/heads/main"
	return o.mint(t, map[string]any{"sub": "repo:example/app:ref:refs/heads/main", "job_workflow_ref": wf, "job_workflow_sha": "a1b2c3",
		"sha": "a1b2c3", "event_name": "push", "repository": "example/app", "workflow": "release", "ref": "refs/heads/main",
		"runner_environment": runner, "repository_id": "1", "repository_owner": "example", "repository_owner_id": "2",
		"repository_visibility": "private", "workflow_ref": wf, "workflow_sha": "a1b2c3", "run_id": "42", "run_attempt": "1"})
}

// provenanceStatement writes a SLSA provenance v1 statement for d, shaped
// like actions/attest-build-provenance's.
func provenanceStatement(t *testing.T, dir string, d name.Digest) string {
	t.Helper()
	st := map[string]any{"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://slsa.dev/provenance/v1",
		"subject": []map[string]any{{"name": d.Context().Name(), "digest": map[string]string{"sha256": strings.TrimPrefix(d.DigestStr(), "sha256:")}}},
		"predicate": map[string]any{
			"buildDefinition": map[string]any{"buildType": "https://actions.github.io/buildtypes/workflow/v1",
				"externalParameters": map[string]any{"workflow": map[string]any{"ref": "refs/heads/main", "repository": "https://github.com/example/app", "path": ".github/workflows/release.yml"}}},
			"runDetails": map[string]any{"builder": map[string]any{"id": "https://github.com/example/app/.github/workflows/release.yml@refs/heads/main"}}}}
	b, _ := json.Marshal(st)
	p := filepath.Join(dir, strings.TrimPrefix(d.DigestStr(), "sha256:")+".statement.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// attachedAsJSONL writes the Sigstore bundles attached to d as JSON Lines,
// the format gh attestation download writes.
func attachedAsJSONL(t *testing.T, dir string, d name.Digest) string {
	t.Helper()
	ctx := context.Background()
	c := oci.New()
	target, err := c.Resolve(ctx, d.String())
	if err != nil {
		t.Fatal(err)
	}
	arts, err := c.Discover(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, a := range arts {
		if a.Kind == oci.KindBundle && a.Err == nil {
			lines = append(lines, strings.TrimSpace(string(a.Content)))
		}
	}
	if len(lines) != 2 {
		t.Fatalf("%d bundles attached to %s, want a signature and an attestation", len(lines), d)
	}
	p := filepath.Join(dir, d.DigestStr()+".jsonl")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// copyImage copies the image d (not its referrers) to dst and returns the
// copy's digest reference: the same digest, nothing attached.
func copyImage(t *testing.T, d name.Digest, dst string) name.Digest {
	t.Helper()
	img, err := remote.Image(d, remoteOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(dst)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remoteOpts()...); err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(d.DigestStr())
}

// startHTTPSOIDC is an OIDC issuer at an https:// URL (as GitHub's is):
// startOIDC's issuer behind a TLS proxy whose certificate is written to
// stateDir/oidc-tls.pem for Fulcio to trust.
func startHTTPSOIDC(t *testing.T) *oidcIssuer {
	t.Helper()
	o := startOIDC(t)
	backend, _ := url.Parse(o.url)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(stateDir, "oidc-tls.pem"), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: httputil.NewSingleHostReverseProxy(backend)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	// The discovery document and the tokens name the https URL.
	o.url = "https://" + ln.Addr().String()
	return o
}

// startFulcioTrusting runs Fulcio (file CA, no CT log) with o as a
// github-workflow issuer, trusting o's TLS certificate.
func startFulcioTrusting(t *testing.T, o *oidcIssuer) (string, []byte) {
	env := append(os.Environ(), "SSL_CERT_FILE="+filepath.Join(stateDir, "oidc-tls.pem"))
	return startFulcioAs(t, "fulcio-github", env, map[string]string{o.url: "github-workflow"})
}

// githubInstanceTrust writes a trusted root shaped like GitHub's own
// instance (a certificate authority and a timestamp authority; no
// transparency log, no CT log) with signet trust create, and a signing
// config naming Fulcio and the TSA only.
func githubInstanceTrust(t *testing.T, fulcioURL string, caPEM []byte, tsaURL string, tsaChain []byte) (string, string) {
	t.Helper()
	dir := t.TempDir()
	caFile, tsaFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "tsa.pem")
	os.WriteFile(caFile, caPEM, 0o644)
	os.WriteFile(tsaFile, tsaChain, 0o644)
	tr := filepath.Join(dir, "github_trusted_root.json")
	expect(t, "signet trust create (CA and TSA, no log)", runCLI(t, toolEnv(), tool("signet", ""), "trust", "create", "--out", tr,
		"--fulcio", "url="+fulcioURL+",certificate-chain="+caFile, "--tsa", "url="+tsaURL+",certificate-chain="+tsaFile), 0)
	start := time.Now().Add(-time.Hour)
	any := root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}
	scObj, err := root.NewSigningConfig(root.SigningConfigMediaType02,
		[]root.Service{{URL: fulcioURL, MajorAPIVersion: 1, ValidityPeriodStart: start}}, nil, nil, any,
		[]root.Service{{URL: tsaURL, MajorAPIVersion: 1, ValidityPeriodStart: start}}, any)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := scObj.MarshalJSON()
	sc := filepath.Join(dir, "signing_config.json")
	os.WriteFile(sc, b, 0o644)
	return tr, sc
}
