package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/signet-dev/signet/internal/registrytest"
)

// TestVerifyPlatforms prints verify --policy --explain for a three-platform
// index whose index, linux/amd64 and linux/arm/v7 are signed and
// linux/arm64 is not, under each platforms setting (run with -v to read
// it), and verify --key --platforms for the same index.
func TestVerifyPlatforms(t *testing.T) {
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("SIGNET_HOME", t.TempDir())
	dir := t.TempDir()
	reg := registrytest.New(t, true)
	idx, plats := reg.PushPlatforms(t, "team/app:v1", v1.Platform{OS: "linux", Architecture: "amd64"},
		v1.Platform{OS: "linux", Architecture: "arm64"}, v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"})
	key := filepath.Join(dir, "release")
	generateKey(t, key)
	for _, img := range []string{idx.String(), plats["linux/amd64"].String(), plats["linux/arm/v7"].String()} {
		if _, stderr, code := signet(t, "sign", "--no-tlog", "--key", key+".key", img); code != exitOK {
			t.Fatal(stderr)
		}
	}
	for _, tc := range []struct {
		mode string
		code int
		want []string
	}{
		{"index", exitOK, []string{"✓ ALLOWED", "✓ signatures: 1 of 1 required signers: release"}},
		{"every", exitPolicyDenied, []string{"✗ DENIED", "✗ platforms [not-found]: 2 of 3 platforms verified", "NOT verified: linux/arm64",
			"✓ platform linux/amd64", "✗ platform linux/arm64 [not-found]", "      ✗ signatures [not-found]: 0 of 1 required signers: none; no signatures found"}},
		{"any", exitOK, []string{"✓ ALLOWED", "✓ platforms: 2 of 3 platforms verified", "a node may pull an unverified platform",
			"⚠ platform linux/arm64", "✓ platform linux/arm/v7"}},
	} {
		pol := filepath.Join(dir, tc.mode+".yaml")
		if err := os.WriteFile(pol, []byte(`apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "`+reg.Host+`/team/**"
    platforms: `+tc.mode+`
    signers: [{name: release, key: release.pub}]
`), 0o644); err != nil {
			t.Fatal(err)
		}
		out, stderr, code := signet(t, "verify", "--policy", pol, "--explain", idx.Context().Tag("v1").String())
		t.Logf("platforms: %s\n$ signet verify --policy %s.yaml --explain REGISTRY/team/app:v1\n%s", tc.mode, tc.mode, out)
		if code != tc.code {
			t.Errorf("platforms %s: exit %d, want %d\n%s%s", tc.mode, code, tc.code, out, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("platforms %s: the explanation does not say %q", tc.mode, w)
			}
		}
		out, _, _ = signet(t, "verify", "--policy", pol, "-o", "json", idx.String())
		var ds []struct {
			Checks []struct {
				Name, Outcome, Digest string
				Checks                []any
			}
		}
		if err := json.Unmarshal([]byte(out), &ds); err != nil || len(ds) != 1 {
			t.Fatalf("platforms %s: decision JSON: %v\n%s", tc.mode, err, out)
		}
		for _, c := range ds[0].Checks {
			if strings.HasPrefix(c.Name, "platform ") && (c.Digest != plats[strings.TrimPrefix(c.Name, "platform ")].DigestStr() || len(c.Checks) == 0) {
				t.Errorf("platforms %s: JSON check %s names digest %q with %d checks, want the platform's digest and its checks", tc.mode, c.Name, c.Digest, len(c.Checks))
			}
		}
	}

	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"--platforms", "every"}, exitNoSignatures, []string{"NOT verified", "every platform must verify (--platforms every); not verified: linux/arm64",
			"✓ platform linux/amd64", "✗ platform linux/arm64"}},
		{[]string{"--platforms", "any"}, exitOK, []string{"✓", "--platforms any: a node may pull linux/arm64, which is not verified"}},
		{[]string{"--platforms", "every", "--platform-filter", "linux/amd64"}, exitOK, []string{"✓ platform linux/amd64", "not checked: linux/arm64 is not in the platform filter"}},
		{[]string{"--platforms", "all"}, exitUsage, nil},
		{[]string{"--platform-filter", "linux/amd64"}, exitUsage, nil},
		{[]string{"--platforms", "every", "--platform-filter", "linux/*"}, exitUsage, nil},
	} {
		args := append([]string{"verify", "--key", key + ".pub"}, tc.args...)
		out, stderr, code := signet(t, append(args, idx.String())...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s%s", tc.args, code, tc.code, out, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: the output does not say %q\n%s", tc.args, w, out)
			}
		}
	}
	if _, stderr, code := signet(t, "attest", "--no-tlog", "--key", key+".key", "--type", "cyclonedx", "--predicate", "../../attest/testdata/sbom.cdx.json",
		plats["linux/amd64"].String()); code != exitOK {
		t.Fatal(stderr)
	}
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"--platforms", "every"}, exitNoSignatures, []string{"not verified: linux/arm64, linux/arm/v7", "✓ platform linux/amd64"}},
		{[]string{"--platforms", "every", "--platform-filter", "linux/amd64"}, exitOK, []string{"✓ platform linux/amd64", "sigstore-bundle attestation by key"}},
	} {
		args := append([]string{"verify-attestation", "--key", key + ".pub", "--type", "cyclonedx"}, tc.args...)
		out, stderr, code := signet(t, append(args, idx.String())...)
		if code != tc.code {
			t.Errorf("verify-attestation %v: exit %d, want %d\n%s%s", tc.args, code, tc.code, out, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("verify-attestation %v: the output does not say %q\n%s", tc.args, w, out)
			}
		}
	}
	if out, _, code := signet(t, "policy", "explain", filepath.Join(dir, "every.yaml"), idx.String()); code != exitOK ||
		!strings.Contains(out, "platforms: every — an index's platform manifests must each meet these on their own digests") {
		t.Errorf("policy explain: exit %d\n%s", code, out)
	}
	if _, stderr, code := signet(t, "verify", "--policy", filepath.Join(dir, "every.yaml"), "--platforms", "every", idx.String()); code != exitUsage || !strings.Contains(stderr, "per rule") {
		t.Errorf("--policy with --platforms: exit %d, %s", code, stderr)
	}
}
