//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDetachedPredicateInterop: signet attest --detached (logged) stores the
// SBOM apart; cosign v3 verifies the small signed statement by its own
// predicate type, and signet verifies the SBOM through it, also after
// signet copy --only attestations.
func TestDetachedPredicateInterop(t *testing.T) {
	k := keys(t)
	reg := matrixRegistries(t)[0] // distribution: fallback tag
	lg := signetLog.get(t, startSignetLog)
	cell(t, "attest --detached cyclonedx (logged) -> cosign v3 verify-attestation of the statement, signet of the SBOM", []*registryUnderTest{reg}, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "signet attest --detached", signet(t, "attest", "--detached", "--key", k.signetKey, "--type", "cyclonedx",
			"--predicate", fixture(t, "sbom.cdx.json"), "--signing-config", lg.signingConfig, d.String()), exitOK, "logged at index", "predicate stored apart")
		expect(t, "cosign v3 verify-attestation", cosign(t, cosignV3Version, "verify-attestation", "--key", k.signetPub,
			"--type", "https://signet.dev/detached-predicate/v1", "--trusted-root", lg.trustedRoot, "--allow-http-registry", d.String()), 0)
		expect(t, "signet verify-attestation", signet(t, "verify-attestation", "--key", k.signetPub, "--type", "cyclonedx",
			"--condition", "size(predicate.components) == 2 && summary.counts.components == 2", "--trusted-root", lg.trustedRoot,
			"--tlog", "required", d.String()), exitOK, "verified", "condition")
		expect(t, "signet inspect", signet(t, "inspect", "--trusted-root", lg.trustedRoot, d.String()), exitOK,
			"attestation https://cyclonedx.org/bom", "detached application/vnd.cyclonedx+json document")

		// copy --only attestations takes the document's artifact along: the
		// SBOM verifies at the copy.
		far := r.host + "/copy/" + repo + ":v1"
		expect(t, "signet copy --only image", signet(t, "copy", "--only", "image", d.String(), far), exitOK)
		expect(t, "signet copy --only attestations", signet(t, "copy", "--only", "attestations", d.String(), far), exitOK, "2 copied")
		expect(t, "signet verify-attestation at the copy", signet(t, "verify-attestation", "--key", k.signetPub, "--type", "cyclonedx",
			"--condition", "size(predicate.components) == 2", "--trusted-root", lg.trustedRoot, "--tlog", "required", far), exitOK, "verified", "condition")
		// download attestation --predicate-file writes the SBOM from the copy.
		doc := filepath.Join(t.TempDir(), "sbom.json")
		expect(t, "signet download attestation --predicate-file", signet(t, "download", "attestation", "--type", "cyclonedx", "--predicate-file", doc, far), exitOK, "wrote the https://cyclonedx.org/bom document")
		if b, err := os.ReadFile(doc); err != nil || !strings.Contains(string(b), `"bomFormat"`) {
			t.Fatalf("download attestation --predicate-file wrote %q, %v", b, err)
		}
	})
}
