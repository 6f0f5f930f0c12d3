//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// attestTypes are the predicate types the attestation cells run, with the
// file signet attests, the file cosign attests (cosign takes its own vuln
// predicate shape, not a scanner report) and a condition over each.
var attestTypes = []struct {
	typ, signetFile, cosignFile, condition string
	inspect                                string // what signet inspect says of cosign's attestation
}{
	{"cyclonedx", "sbom.cdx.json", "sbom.cdx.json", `size(predicate.components) == 2`, "SBOM CycloneDX 1.5, 2 components"},
	{"spdxjson", "sbom.spdx.json", "sbom.spdx.json", `predicate.spdxVersion == "SPDX-2.3"`, "SBOM SPDX 2.3"},
	{"vuln", "trivy.json", "cosign-vuln.json", `predicate.scanner.uri != ""`, "scanner trivy 0.58.1"},
	{"slsaprovenance1", "provenance-v1.json", "provenance-v1.json", `predicate.runDetails.builder.id != ""`, "SLSA provenance v1; builder"},
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	if name == "cosign-vuln.json" {
		p := filepath.Join(t.TempDir(), name)
		os.WriteFile(p, []byte(`{"invocation":{"parameters":null,"uri":"","event_id":"","builder.id":""},
"scanner":{"uri":"pkg:github/aquasecurity/trivy@0.58.1","version":"0.58.1","db":{"uri":"","version":""},
"result":{"summary":{"critical":0}}},"metadata":{"scanStartedOn":"2026-11-30T10:00:00Z","scanFinishedOn":"2026-11-30T10:01:00Z"}}`), 0o644)
		return p
	}
	p, err := filepath.Abs(filepath.Join("..", "attest", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAttestationInterop(t *testing.T) {
	k := keys(t)
	reg := matrixRegistries(t)[0] // distribution: fallback tag
	lg := signetLog.get(t, startSignetLog)
	regs := []*registryUnderTest{reg}
	for _, at := range attestTypes {
		cell(t, "attest "+at.typ+": signet attest (logged) -> cosign v3 verify-attestation", regs, func(t *testing.T, r *registryUnderTest, repo string) {
			d := pushImage(t, r.host, repo+":v1")
			expect(t, "signet attest", signet(t, "attest", "--key", k.signetKey, "--type", at.typ, "--predicate", fixture(t, at.signetFile),
				"--signing-config", lg.signingConfig, d.String()), exitOK, "logged at index")
			expect(t, "cosign v3 verify-attestation", cosign(t, cosignV3Version, "verify-attestation", "--key", k.signetPub, "--type", at.typ,
				"--trusted-root", lg.trustedRoot, "--allow-http-registry", d.String()), 0)
			expect(t, "signet verify-attestation", signet(t, "verify-attestation", "--key", k.signetPub, "--type", at.typ,
				"--condition", at.condition, "--trusted-root", lg.trustedRoot, "--tlog", "required", d.String()), exitOK, "verified")
		})
		cell(t, "attest "+at.typ+": cosign v3 attest (bundle, logged) -> signet verify-attestation", regs, func(t *testing.T, r *registryUnderTest, repo string) {
			d := pushImage(t, r.host, repo+":v1")
			expect(t, "cosign v3 attest", cosign(t, cosignV3Version, "attest", "--yes", "--key", k.cosignKey, "--type", at.typ,
				"--predicate", fixture(t, at.cosignFile), "--signing-config", lg.signingConfig, "--trusted-root", lg.trustedRoot,
				"--allow-http-registry", d.String()), 0)
			expect(t, "signet verify-attestation", signet(t, "verify-attestation", "--key", k.cosignPub, "--type", at.typ,
				"--trusted-root", lg.trustedRoot, "--tlog", "required", d.String()), exitOK, "verified", "proof verified offline")
			expect(t, "signet inspect", signet(t, "inspect", "--trusted-root", lg.trustedRoot, d.String()), exitOK,
				"fallback tag · sigstore-bundle", at.inspect, "inclusion-proof")
		})
		cell(t, "attest "+at.typ+": cosign v2 attest (legacy .att) -> signet verify-attestation", regs, func(t *testing.T, r *registryUnderTest, repo string) {
			d := pushImage(t, r.host, repo+":v1")
			expect(t, "cosign v2 attest", cosign(t, cosignV2Version, "attest", "--yes", "--key", k.cosignKey, "--type", at.typ,
				"--predicate", fixture(t, at.cosignFile), "--tlog-upload=false", "--allow-http-registry", d.String()), 0)
			expect(t, "signet verify-attestation", signet(t, "verify-attestation", "--key", k.cosignPub, "--type", at.typ, d.String()),
				exitOK, "verified", "legacy-tag")
			expect(t, "signet inspect", signet(t, "inspect", d.String()), exitOK, "legacy tag · dsse-envelope", at.inspect)
			expect(t, "signet verify-attestation wrong key", signet(t, "verify-attestation", "--key", k.otherPub, "--type", at.typ, d.String()),
				exitInvalid, "does not verify with any trusted key")
		})
	}
}
