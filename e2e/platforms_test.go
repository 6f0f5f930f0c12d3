//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// pushThreePlatforms pushes a linux/amd64, linux/arm64, linux/arm/v7 index
// and returns its digest and the platforms' by platform.
func pushThreePlatforms(t *testing.T, host, repoTag string) (name.Digest, map[string]name.Digest) {
	t.Helper()
	ref, err := name.NewTag(host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	plats := map[string]name.Digest{}
	for _, p := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}, {OS: "linux", Architecture: "arm", Variant: "v7"}} {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		h, _ := img.Digest()
		plats[p.String()] = ref.Context().Digest(h.String())
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	if err := remote.WriteIndex(ref, idx, remoteOpts()...); err != nil {
		t.Fatal(err)
	}
	h, _ := idx.Digest()
	return ref.Context().Digest(h.String()), plats
}

// TestPlatformSettings: what cosign v3 signs — the index alone (sign), the
// index and every platform (sign --recursive), the index and two of three
// platforms — judged by signet under each platforms setting, with --key and
// with a policy, on the distribution registry (no referrers API: cosign's
// bundles sit behind the fallback tag) and the in-memory one.
func TestPlatformSettings(t *testing.T) {
	regs := matrixRegistries(t)
	k := keys(t)
	dir := t.TempDir()
	policyFor := func(host, repo, mode string) string {
		pol := filepath.Join(dir, slug(host+repo+mode)+".yaml")
		if err := os.WriteFile(pol, []byte(fmt.Sprintf(`apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: %q
    platforms: %s
    signers: [{name: release, key: %s}]
`, host+"/"+repo+"*", mode, k.cosignPub)), 0o644); err != nil {
			t.Fatal(err)
		}
		return pol
	}
	cell(t, "cosign v3 sign (index only) -> signet platforms index|every|any", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		idx, _ := pushThreePlatforms(t, r.host, repo+":v1")
		expect(t, "cosign v3 sign", cosignV3Sign(t, k.cosignKey, idx.String()), 0)
		expect(t, "signet verify --platforms index", signet(t, "verify", "--key", k.cosignPub, idx.String()), exitOK, "verified")
		expect(t, "signet verify --platforms every", signet(t, "verify", "--key", k.cosignPub, "--platforms", "every", idx.String()),
			exitNoSignatures, "every platform must verify", "linux/amd64, linux/arm64, linux/arm/v7")
		expect(t, "policy platforms: index", signet(t, "verify", "--policy", policyFor(r.host, repo, "index"), idx.String()), exitOK, "ALLOWED")
		expect(t, "policy platforms: every", signet(t, "verify", "--policy", policyFor(r.host, repo, "every"), idx.String()), exitPolicyDenied,
			"DENIED", "0 of 3 platforms verified")
	})
	cell(t, "cosign v3 sign --recursive -> signet platforms every", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		idx, _ := pushThreePlatforms(t, r.host, repo+":v1")
		expect(t, "cosign v3 sign --recursive", cosignV3Sign(t, k.cosignKey, idx.String(), "--recursive"), 0)
		expect(t, "signet verify --platforms every", signet(t, "verify", "--key", k.cosignPub, "--platforms", "every", idx.String()),
			exitOK, "✓ platform linux/amd64", "✓ platform linux/arm64", "✓ platform linux/arm/v7")
		expect(t, "policy platforms: every", signet(t, "verify", "--policy", policyFor(r.host, repo, "every"), "--explain", idx.String()), exitOK,
			"ALLOWED", "3 of 3 platforms verified")
	})
	cell(t, "cosign v3 sign, one platform unsigned -> index allowed, every denied, any allowed", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		idx, plats := pushThreePlatforms(t, r.host, repo+":v1")
		for _, d := range []name.Digest{idx, plats["linux/amd64"], plats["linux/arm/v7"]} {
			expect(t, "cosign v3 sign "+d.DigestStr(), cosignV3Sign(t, k.cosignKey, d.String()), 0)
		}
		expect(t, "policy platforms: index", signet(t, "verify", "--policy", policyFor(r.host, repo, "index"), "--explain", idx.String()), exitOK, "ALLOWED")
		res := signet(t, "verify", "--policy", policyFor(r.host, repo, "every"), "--explain", idx.String())
		expect(t, "policy platforms: every", res, exitPolicyDenied, "DENIED", "NOT verified: linux/arm64", "✗ platform linux/arm64 [not-found]")
		t.Logf("platforms: every\n%s", res.out)
		expect(t, "policy platforms: any", signet(t, "verify", "--policy", policyFor(r.host, repo, "any"), "--explain", idx.String()), exitOK,
			"ALLOWED", "NOT verified: linux/arm64", "⚠ platform linux/arm64")
		expect(t, "cosign v3 verify of the unsigned platform", cosignV3Verify(t, k.cosignPub, plats["linux/arm64"].String()), 10, "no signatures found")
	})
}
