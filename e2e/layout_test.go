//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestOCILayout: cosign v3 signs an image in the registry; crane pull
// --format oci copies the image and its signature's referrer manifest into
// one layout (crane copies only what it is named, so each referrer is
// pulled by digest); signet verifies it there, with a key and with a
// policy — which refuses it until --layout-repository names its repository.
func TestOCILayout(t *testing.T) {
	k := keys(t)
	crane := func(args ...string) result {
		return runCLI(t, toolEnv(), tool("crane", craneVersion), append(args, "--insecure")...)
	}
	cell(t, "cosign v3 sign -> crane pull --format oci -> signet verify oci-layout:", matrixRegistries(t), func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "cosign v3 sign", cosignV3Sign(t, k.cosignKey, d.String()), 0)
		dir := filepath.Join(stateDir, "layout-"+r.name)
		os.RemoveAll(dir)
		expect(t, "crane pull the image", crane("pull", "--format", "oci", "--annotate-ref", r.host+"/"+repo+":v1", dir), 0)
		idx, err := remote.Referrers(d, remoteOpts()...)
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil || len(im.Manifests) != 1 {
			t.Fatalf("referrers of %s: %v, want cosign's one bundle", d, err)
		}
		ref := d.Context().Digest(im.Manifests[0].Digest.String()).String()
		expect(t, "crane pull the signature's referrer", crane("pull", "--format", "oci", ref, dir), 0)

		layoutRef := "oci-layout:" + dir + ":v1"
		expect(t, "signet verify the layout", signet(t, "verify", "--key", k.cosignPub, layoutRef), exitOK, "verified", "oci-layout")
		expect(t, "signet verify another key", signet(t, "verify", "--key", k.otherPub, layoutRef), exitInvalid, "does not verify with any trusted key")
		pol := filepath.Join(dir + "-policy.yaml")
		os.WriteFile(pol, []byte(fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    signers: [{name: release, key: %s}]\n  - pattern: \"**\"\n    mode: audit\n",
			r.host+"/"+repo, k.cosignPub)), 0o644)
		expect(t, "signet verify --policy, no repository named", signet(t, "verify", "--policy", pol, layoutRef), 2, "--layout-repository")
		expect(t, "signet verify --policy --layout-repository", signet(t, "verify", "--policy", pol, "--layout-repository", r.host+"/"+repo, layoutRef), exitOK, "ALLOWED")
		expect(t, "signet inspect the layout", signet(t, "inspect", "-o", "json", layoutRef), exitOK, `"layout": "oci-layout"`, `"format": "sigstore-bundle"`)
	})

	cell(t, "cosign v2 sign + attest (legacy .sig/.att) -> crane pull --format oci -> signet verify oci-layout:", matrixRegistries(t), func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "cosign v2 sign", cosign(t, cosignV2Version, "sign", "--yes", "--key", k.cosignKey, "--tlog-upload=false", "--allow-http-registry", d.String()), 0)
		expect(t, "cosign v2 attest", cosign(t, cosignV2Version, "attest", "--yes", "--key", k.cosignKey, "--type", "cyclonedx",
			"--predicate", fixture(t, "sbom.cdx.json"), "--tlog-upload=false", "--allow-http-registry", d.String()), 0)
		dir := filepath.Join(stateDir, "layout-legacy-"+r.name)
		os.RemoveAll(dir)
		legacy := r.host + "/" + repo + ":" + strings.Replace(d.DigestStr(), ":", "-", 1)
		for _, src := range []string{r.host + "/" + repo + ":v1", legacy + ".sig", legacy + ".att"} {
			expect(t, "crane pull "+src, crane("pull", "--format", "oci", "--annotate-ref", src, dir), 0)
		}
		layoutRef := "oci-layout:" + dir + ":v1"
		expect(t, "signet verify the layout", signet(t, "verify", "--key", k.cosignPub, layoutRef), exitOK, "verified", "legacy-tag")
		expect(t, "signet verify-attestation the layout", signet(t, "verify-attestation", "--key", k.cosignPub, "--type", "cyclonedx",
			"--condition", "size(predicate.components) == 2", layoutRef), exitOK, "verified", "legacy-tag")
		expect(t, "signet verify-attestation, another key", signet(t, "verify-attestation", "--key", k.otherPub, "--type", "cyclonedx", layoutRef),
			exitInvalid, "does not verify with any trusted key")
	})
	cell(t, "cosign v3 sign -> crane pull of the referrers fallback tag -> signet verify oci-layout:", matrixRegistries(t)[:1], func(t *testing.T, r *registryUnderTest, repo string) {
		if r.referrers {
			t.Skip("this registry has the referrers API: cosign writes no fallback tag")
		}
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "cosign v3 sign", cosignV3Sign(t, k.cosignKey, d.String()), 0)
		dir := filepath.Join(stateDir, "layout-fallback-"+r.name)
		os.RemoveAll(dir)
		fallback := r.host + "/" + repo + ":" + strings.Replace(d.DigestStr(), ":", "-", 1)
		for _, src := range []string{r.host + "/" + repo + ":v1", fallback} {
			expect(t, "crane pull "+src, crane("pull", "--format", "oci", "--annotate-ref", src, dir), 0)
		}
		expect(t, "signet verify the layout", signet(t, "verify", "--key", k.cosignPub, "oci-layout:"+dir+"@"+d.DigestStr()), exitOK, "verified", "oci-layout")
	})
}
