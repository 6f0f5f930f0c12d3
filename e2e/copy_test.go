//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCopyRoundTrip: cosign v3 signs and attests (three types) an image in
// go-containerregistry's registry (referrers API), cosign v2 adds a legacy
// .sig, signet signs its tag head; signet copy takes it all into an OCI
// layout and on into the distribution registry (no referrers API: the
// fallback tag), digests unchanged; cosign v3 and signet verify it there,
// signet also with the origin's policy through mirrors:; a second copy
// copies nothing.
func TestCopyRoundTrip(t *testing.T) {
	k := keys(t)
	regs := matrixRegistries(t)
	dist, origin := regs[0], regs[1]
	dir := filepath.Join(stateDir, "copy")
	os.MkdirAll(dir, 0o700)
	cell(t, "cosign v3/v2 + signet tag heads -> signet copy registry -> layout -> distribution -> cosign v3 verify", []*registryUnderTest{origin}, func(t *testing.T, r *registryUnderTest, repo string) {
		full := r.host + "/" + repo
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "cosign v3 sign", cosignV3Sign(t, k.cosignKey, d.String()), 0)
		for _, at := range attestTypes[:3] {
			expect(t, "cosign v3 attest "+at.typ, cosign(t, cosignV3Version, "attest", "--yes", "--key", k.cosignKey, "--type", at.typ,
				"--predicate", fixture(t, at.cosignFile), "--signing-config", k.signingConfig, "--trusted-root", k.trustedRoot,
				"--allow-http-registry", d.String()), 0)
		}
		expect(t, "cosign v2 sign (legacy .sig)", cosign(t, cosignV2Version, "sign", "--yes", "--key", k.cosignKey, "--tlog-upload=false",
			"--allow-http-registry", d.String()), 0)
		home := filepath.Join(dir, "home")
		os.MkdirAll(home, 0o700)
		expect(t, "signet tag init", runCLI(t, toolEnv("SIGNET_PASSWORD="+password, "SIGNET_HOME="+home), tool("signet", ""), "tag", "init", full,
			"--root-key", k.signetKey, "--key", k.signetKey), exitOK)
		rootFile := strings.ReplaceAll(strings.ReplaceAll(full, "/", "_"), ":", "_") + ".root.json"
		os.Rename(rootFile, filepath.Join(dir, rootFile)) // tag init writes it into the working directory
		expect(t, "signet tag sign", signet(t, "tag", "sign", full+":v1", "--key", k.signetKey, "--signature-key", k.cosignPub), exitOK)

		layout := "oci-layout:" + filepath.Join(dir, "layout-"+slug(repo))
		far := dist.host + "/mirror/" + repo
		copied := func(what string, res result, want int) {
			t.Helper()
			expect(t, what, res, exitOK)
			var sum struct {
				Digest string `json:"digest"`
				Copied int    `json:"copied"`
			}
			if err := json.Unmarshal([]byte(res.out), &sum); err != nil || sum.Digest != d.DigestStr() || sum.Copied != want {
				t.Fatalf("%s: digest %s, copied %d (%v); want %s, %d\n%s", what, sum.Digest, sum.Copied, err, d.DigestStr(), want, res)
			}
		}
		// image, cosign's signature bundle, three attestation bundles, .sig, tag heads
		copied("signet copy registry -> layout", signet(t, "copy", "-o", "json", full+":v1", layout), 7)
		copied("signet copy layout -> distribution", signet(t, "copy", "-o", "json", layout+":v1", far), 7)
		copied("signet copy again", signet(t, "copy", "-o", "json", layout+":v1", far), 0)

		expect(t, "cosign v3 verify at the far end", cosignV3Verify(t, k.cosignPub, far+":v1"), 0)
		expect(t, "cosign v3 verify-attestation at the far end", cosign(t, cosignV3Version, "verify-attestation", "--key", k.cosignPub,
			"--type", "cyclonedx", "--insecure-ignore-tlog", "--trusted-root", k.trustedRoot, "--allow-http-registry", far+":v1"), 0)
		// cosign v2 verify finds the bundles first and then wants a trusted
		// root from the network: the .sig is checked with signet inspect.
		expect(t, "signet inspect at the far end", signet(t, "inspect", far+":v1"), exitOK, "signature · legacy tag · simple-signing")
		expect(t, "signet verify at the far end", signet(t, "verify", "--key", k.cosignPub, far+":v1"), exitOK, "verified", "fallback-tag")
		expect(t, "signet verify-attestation at the far end", signet(t, "verify-attestation", "--key", k.cosignPub, "--type", "spdxjson", far+":v1"), exitOK, "verified")
		pol := filepath.Join(dir, slug(repo)+"-policy.yaml")
		os.WriteFile(pol, []byte(fmt.Sprintf(`apiVersion: signet.dev/v1alpha1
kind: Policy
mirrors:
  - {mirror: %q, origin: %q}
images:
  - pattern: %q
    signers: [{name: release, key: %s}]
    attestations: [{predicateType: cyclonedx}, {predicateType: spdxjson}, {predicateType: vuln}]
  - pattern: "**"
    mode: audit
`, dist.host+"/mirror/"+repo, full, full+":*", k.cosignPub)), 0o644)
		expect(t, "signet verify --policy (mirrors) at the far end", signet(t, "verify", "--policy", pol, far+":v1"), exitOK, "ALLOWED", `by rule "`+full+`:*"`)
	})
}
