//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

// The Notation interop cells (issue 23): notation-go v1.3.2 is the
// reference implementation on the other side (notation_ref_test.go). Each
// cell runs on the distribution registry (no referrers API: the referrers
// fallback tag) and on go-containerregistry's (the referrers API).

// notationCAs is the certificate material of the Notation cells, made once.
type notationCAs struct {
	acme  *notationPKI // the trusted principal "security"
	beta  *notationPKI // a second trusted principal, under its own CA
	rogue *notationPKI // a CA nobody trusts
}

var notationMaterial server[*notationCAs]

func notationPKIs(t *testing.T) *notationCAs {
	return notationMaterial.get(t, func() (*notationCAs, error) {
		dir := filepath.Join(stateDir, "notation")
		return &notationCAs{
			acme:  newNotationPKI(t, filepath.Join(dir, "acme"), "Acme", "Acme Security Signer"),
			beta:  newNotationPKI(t, filepath.Join(dir, "beta"), "Beta", "Beta Release Signer"),
			rogue: newNotationPKI(t, filepath.Join(dir, "rogue"), "Rogue", "Rogue Signer"),
		}, nil
	})
}

// notationSigner is a policy signer of kind notation: trusting the CA in
// caPEM, with extra lines (tsa: ..., subject: ...) under notation:.
func notationSigner(name, caPEM string, extra ...string) string {
	s := fmt.Sprintf("      - name: %s\n        notation:\n          trustStore: %q\n", name, caPEM)
	for _, e := range extra {
		s += "          " + e + "\n"
	}
	return s
}

// keySigner is a policy signer of kind key.
func keySigner(name, pub string) string {
	return fmt.Sprintf("      - {name: %s, key: %q}\n", name, pub)
}

// writeNotationPolicy writes a policy with one rule for every image of host:
// the signers, and threshold (0: the default).
func writeNotationPolicy(t *testing.T, host string, threshold int, signers ...string) string {
	t.Helper()
	y := fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nmetadata: {name: notation-interop}\nimages:\n  - pattern: %q\n", host+"/**")
	if threshold > 0 {
		y += fmt.Sprintf("    threshold: %d\n", threshold)
	}
	y += "    signers:\n" + strings.Join(signers, "")
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("policy:\n%s", y)
	return path
}

// expectNotationLayout checks, by reading the registry directly, that ref
// carries exactly the Notation envelopes want in the layout the registry
// calls for, and nothing in the other.
func expectNotationLayout(t *testing.T, r *registryUnderTest, ref name.Digest, want ...string) {
	t.Helper()
	got := notationSignatures(t, ref, registryLayout(r))
	if strings.Join(sortedCopy(got), ",") != strings.Join(sortedCopy(want), ",") {
		t.Fatalf("%s: Notation envelopes in the %s layout: %v, want %v", ref, registryLayout(r), got, want)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

var envelopes = []struct{ flag, mediaType string }{{"jws", notationJWS}, {"cose", notationCOSE}}

func TestNotation(t *testing.T) {
	regs := matrixRegistries(t)
	k := keys(t)
	p := notationPKIs(t)

	for _, env := range envelopes {
		E := envelopeName(env.mediaType)
		cell(t, "notation-go sign ("+E+") -> signet verify --policy notation:", regs, func(t *testing.T, r *registryUnderTest, repo string) {
			d := pushImage(t, r.host, repo+":v1")
			notationGoSign(t, r, p.acme, d, env.mediaType, nil)
			expectNotationLayout(t, r, d, env.mediaType)
			if got, err := notationGoVerify(t, d, p.acme.ca, nil); err != nil || got != env.mediaType {
				t.Fatalf("notation-go verify of its own signature: %s, %v", got, err)
			}
			pol := writeNotationPolicy(t, r.host, 0, notationSigner("security", p.acme.caPEM))
			expect(t, "signet verify --policy", verifyExplain(t, pol, d), exitOK, "ALLOWED", "1 of 1 required signers: security",
				"security: Notation signature in "+registryLayout(r))
			expect(t, "signet inspect", signet(t, "inspect", d.String()), exitOK, p.acme.subjectCN)
			t.Logf("notation-go %s %s → signet verify --policy (notation: security): pass; inspect shows %q", E, registryLayout(r), p.acme.subjectCN)
		})
	}

	for _, env := range envelopes {
		E := envelopeName(env.mediaType)
		cell(t, "signet sign --format notation --envelope "+env.flag+" -> notation-go verify", regs, func(t *testing.T, r *registryUnderTest, repo string) {
			d := pushImage(t, r.host, repo+":v1")
			expect(t, "signet sign --format notation", signet(t, "sign", "--format", "notation", "--envelope", env.flag,
				"--key", p.acme.keyPEM, "--certificate-chain", p.acme.chainPEM, d.String()), exitOK)
			got, err := notationGoVerify(t, d, p.acme.ca, nil)
			if err != nil {
				expectNotationLayout(t, r, d, env.mediaType) // says why, when the manifest is the cause
				t.Fatalf("notation-go verify (trust store: the signing CA): %v", err)
			}
			expectNotationLayout(t, r, d, env.mediaType)
			if got != env.mediaType {
				t.Fatalf("notation-go verified a %s envelope, want %s", got, env.mediaType)
			}
			if _, err := notationGoVerify(t, d, p.rogue.ca, nil); err == nil {
				t.Fatal("notation-go verify under a trust policy naming another CA: accepted, want refused")
			} else {
				t.Logf("notation-go under another CA: refused: %v", err)
			}
			pol := writeNotationPolicy(t, r.host, 0, notationSigner("security", p.acme.caPEM))
			expect(t, "signet verify --policy (its own Notation signature)", verifyExplain(t, pol, d), exitOK, "ALLOWED",
				"1 of 1 required signers: security", "security: Notation signature in "+registryLayout(r))
			t.Logf("signet sign --format notation %s %s → notation-go verify: pass (another CA: refused)", E, registryLayout(r))
		})
	}

	cell(t, "cosign v3 (key) + notation-go (certificate) -> 2-of-2 policy across both", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		pol := writeNotationPolicy(t, r.host, 2, keySigner("release", k.cosignPub), notationSigner("security", p.acme.caPEM))
		both := pushImage(t, r.host, repo+":both")
		expect(t, "cosign v3 sign", cosignV3Sign(t, k.cosignKey, both.String()), 0)
		notationGoSign(t, r, p.acme, both, notationJWS, nil)
		res := verifyExplain(t, pol, both)
		expect(t, "signet verify --policy --explain (both signed)", res, exitOK, "ALLOWED", "2 of 2 required signers: release, security",
			"release: Sigstore bundle in "+registryLayout(r), "security: Notation signature in "+registryLayout(r))
		saveArtifact(t, "notation-cross-format-explain-"+r.name+".txt", fmt.Sprintf("$ signet verify --policy policy.yaml --explain %s\n%s%s", both, res.out, res.err))

		notaryOnly := pushImage(t, r.host, repo+":notation-only")
		notationGoSign(t, r, p.acme, notaryOnly, notationJWS, nil)
		res = signet(t, "verify", "--policy", pol, notaryOnly.String())
		expect(t, "signet verify --policy (no cosign signature)", res, exitPolicyDenied, "1 of 2 required signers: security")
		expectNamesMissing(t, "no cosign signature", res, "release")
		t.Logf("without the cosign signature: exit %d\n%s%s", res.code, res.out, res.err)

		cosignOnly := pushImage(t, r.host, repo+":cosign-only")
		expect(t, "cosign v3 sign", cosignV3Sign(t, k.cosignKey, cosignOnly.String()), 0)
		res = signet(t, "verify", "--policy", pol, cosignOnly.String())
		expect(t, "signet verify --policy (no Notation signature)", res, exitPolicyDenied, "1 of 2 required signers: release")
		expectNamesMissing(t, "no Notation signature", res, "security")
		t.Logf("without the Notation signature: exit %d\n%s%s", res.code, res.out, res.err)
		t.Logf("cosign v3 key + notation-go JWS %s → 2-of-2 (release, security): pass; either removed: denied", registryLayout(r))
	})

	cell(t, "negative: one Notation principal signing twice (JWS + COSE) -> not 2 of 2 principals", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		notationGoSign(t, r, p.acme, d, notationJWS, nil)
		notationGoSign(t, r, p.acme, d, notationCOSE, nil)
		expectNotationLayout(t, r, d, notationJWS, notationCOSE)
		pol := writeNotationPolicy(t, r.host, 2, notationSigner("security", p.acme.caPEM), notationSigner("release-ca", p.beta.caPEM))
		res := verifyExplain(t, pol, d)
		expect(t, "signet verify --policy (two signatures, one principal)", res, exitPolicyDenied, "1 of 2 required signers: security",
			"the rule needs 2 different signers")
		// Both signatures verified, and counted once.
		if n := strings.Count(res.out, "security: Notation signature in "+registryLayout(r)); n != 2 {
			t.Fatalf("want both signatures as evidence for security, found %d\n%s", n, res)
		}
		// Nor does naming the one principal twice: the policy is refused.
		twice := writeNotationPolicy(t, r.host, 2, notationSigner("security", p.acme.caPEM), notationSigner("security-again", p.acme.caPEM))
		res = signet(t, "verify", "--policy", twice, d.String())
		expect(t, "signet verify --policy (one trust store under two names)", res, 1, `signers "security" and "security-again" have the same Notation trust store`, "one principal under two names")
		t.Logf("one trust store under two signer names: %s", strings.TrimSpace(res.err))
		// The same two signatures and a second principal's: now two principals.
		notationGoSign(t, r, p.beta, d, notationCOSE, nil)
		expect(t, "signet verify --policy (second principal signs too)", verifyExplain(t, pol, d), exitOK, "2 of 2 required signers",
			"release-ca: Notation signature in "+registryLayout(r))
		t.Logf("notation-go JWS+COSE by one principal %s → threshold 2 of 2 principals: denied (1 of 2); the second principal's signature added: pass", registryLayout(r))
	})

	cell(t, "negative: notation-go signature from an untrusted CA -> refused", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		notationGoSign(t, r, p.rogue, d, notationJWS, nil)
		if _, err := notationGoVerify(t, d, p.acme.ca, nil); err == nil {
			t.Fatal("notation-go accepted a signature from a CA its trust store does not hold")
		}
		pol := writeNotationPolicy(t, r.host, 0, notationSigner("security", p.acme.caPEM))
		res := signet(t, "verify", "--policy", pol, d.String())
		expect(t, "signet verify --policy (untrusted CA)", res, exitPolicyDenied, "0 of 1 required signers",
			"security: authenticity: the certificate chain does not lead to a certificate in its trust store", p.rogue.subjectCN)
		t.Logf("notation-go JWS from an untrusted CA %s → signet verify: refused (exit %d)\n%s%s", registryLayout(r), res.code, res.out, res.err)
	})
}

// TestNotationTimestamp runs the RFC 3161 cells against the real timestamp
// authority. Its metrics listener binds every interface, so the test runs in
// a private network namespace (see inPrivateNetwork).
func TestNotationTimestamp(t *testing.T) {
	if !inPrivateNetwork(t, "TestNotationTimestamp") {
		return
	}
	// Notation verifies a timestamp with the TSA roots of its trust store
	// and the certificates the token carries: the TSA must send the whole
	// chain (its intermediate too), not the default leaf alone.
	tsaURL, chain := startTSA(t, "--include-chain-in-response")
	root := tsaRoot(t, chain)
	regs := matrixRegistries(t)
	p := notationPKIs(t)
	dir := filepath.Join(stateDir, "notation")
	tsaPEM := writePEM(t, filepath.Join(dir, "tsa-root.pem"), root)
	tsa := &tsaRef{url: tsaURL, root: root}

	for _, env := range envelopes {
		E := envelopeName(env.mediaType)
		cell(t, "notation-go sign ("+E+", RFC 3161 timestamp) -> signet verify --policy notation: tsa:", regs, func(t *testing.T, r *registryUnderTest, repo string) {
			d := pushImage(t, r.host, repo+":v1")
			notationGoSign(t, r, p.acme, d, env.mediaType, tsa)
			untimed := pushImage(t, r.host, repo+":untimed")
			notationGoSign(t, r, p.acme, untimed, env.mediaType, nil)
			// The reference first: notation-go accepts the timestamp under the
			// TSA's root, refuses it under another root, and (a tsa trust store
			// with verifyTimestamp always) refuses a signature without one.
			if _, err := notationGoVerify(t, d, p.acme.ca, root); err != nil {
				t.Fatalf("notation-go verify with the TSA's root: %v", err)
			}
			if _, err := notationGoVerify(t, d, p.acme.ca, p.rogue.ca); err == nil {
				t.Fatal("notation-go accepted a timestamp from an untrusted TSA")
			}
			if _, err := notationGoVerify(t, untimed, p.acme.ca, root); err == nil {
				t.Fatal("notation-go accepted a signature without a timestamp under a trust policy with a tsa trust store")
			}
			pol := writeNotationPolicy(t, r.host, 0, notationSigner("security", p.acme.caPEM, fmt.Sprintf("tsa: %q", tsaPEM)))
			expect(t, "signet verify --policy (tsa: the TSA's root)", verifyExplain(t, pol, d), exitOK, "ALLOWED", "1 of 1 required signers: security")
			expect(t, "signet inspect (timestamped)", signet(t, "inspect", d.String()), exitOK, env.flag+" envelope", "RFC 3161 timestamp 20", "by CN=Test TSA Timestamping")
			expect(t, "signet inspect (untimestamped)", signet(t, "inspect", untimed.String()), exitOK, env.flag+" envelope", "no timestamp")
			wrong := writeNotationPolicy(t, r.host, 0, notationSigner("security", p.acme.caPEM, fmt.Sprintf("tsa: %q", p.rogue.caPEM)))
			expect(t, "signet verify --policy (tsa: another root)", signet(t, "verify", "--policy", wrong, d.String()), exitPolicyDenied,
				"0 of 1 required signers", "security: timestamp")
			expect(t, "signet verify --policy (tsa:, no timestamp)", signet(t, "verify", "--policy", pol, untimed.String()), exitPolicyDenied,
				"0 of 1 required signers", "security: timestamp", "the signature has none")
			t.Logf("notation-go %s timestamped %s → signet verify (tsa: real TSA root): pass; other TSA root: refused; untimestamped: refused", E, registryLayout(r))
		})
	}

	cell(t, "signet sign --format notation --timestamp-url -> notation-go verify (tsa trust store)", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "signet sign --format notation --timestamp-url", signet(t, "sign", "--format", "notation", "--envelope", "cose",
			"--key", p.acme.keyPEM, "--certificate-chain", p.acme.chainPEM, "--timestamp-url", tsaURL, "--timestamp-root", tsaPEM, d.String()), exitOK)
		if _, err := notationGoVerify(t, d, p.acme.ca, root); err != nil {
			expectNotationLayout(t, r, d, notationCOSE) // says why, when the manifest is the cause
			t.Fatalf("notation-go verify with the TSA's root: %v", err)
		}
		expectNotationLayout(t, r, d, notationCOSE)
		pol := writeNotationPolicy(t, r.host, 0, notationSigner("security", p.acme.caPEM, fmt.Sprintf("tsa: %q", tsaPEM)))
		expect(t, "signet verify --policy (tsa:)", verifyExplain(t, pol, d), exitOK, "ALLOWED", "1 of 1 required signers: security")
		expect(t, "signet inspect", signet(t, "inspect", d.String()), exitOK, "cose envelope", "RFC 3161 timestamp 20", "by CN=Test TSA Timestamping")
		t.Logf("signet sign --format notation COSE + real TSA %s → notation-go verify (tsa trust store): pass", registryLayout(r))
	})
}

// expectNamesMissing checks that a denial names the signer whose signature
// is missing (not only the ones found). It does not stop the cell.
func expectNamesMissing(t *testing.T, what string, r result, signer string) {
	t.Helper()
	if !strings.Contains(r.out+r.err, signer) {
		t.Errorf("signet verify --policy (%s): the denial does not name the missing signer %q\n%s", what, signer, r)
	}
}

// verifyExplain runs signet verify --policy pol --explain img.
func verifyExplain(t *testing.T, pol string, img name.Digest) result {
	t.Helper()
	return signet(t, "verify", "--policy", pol, "--explain", img.String())
}

var artifactsMu sync.Mutex

// saveArtifact writes content to $SIGNET_E2E_ARTIFACTS/name (or the test's
// temp dir), logs it and where it went.
func saveArtifact(t *testing.T, name, content string) {
	t.Helper()
	artifactsMu.Lock()
	defer artifactsMu.Unlock()
	dir := os.Getenv("SIGNET_E2E_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s:\n%s", path, content)
}
