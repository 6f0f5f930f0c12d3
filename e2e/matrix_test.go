//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/oci"
)

// Exit codes of signet (see cmd/signet/exitcode.go).
const (
	exitOK           = 0
	exitError        = 1
	exitUsage        = 2
	exitNoSignatures = 3
	exitInvalid      = 4
	exitRegistry     = 5
	exitPolicyDenied = 6
)

func cosign(t *testing.T, version string, args ...string) result {
	t.Helper()
	return runCLI(t, toolEnv("COSIGN_PASSWORD="+password), tool("cosign", version), args...)
}

// cosign v3, offline: every call carries the local trusted root, so nothing
// reaches the public Sigstore TUF repository.
func cosignV3Sign(t *testing.T, key, ref string, extra ...string) result {
	k := keys(t)
	args := append([]string{"sign", "--yes", "--key", key, "--signing-config", k.signingConfig, "--trusted-root", k.trustedRoot, "--allow-http-registry"}, extra...)
	return cosign(t, cosignV3Version, append(args, ref)...)
}

func cosignV3Verify(t *testing.T, pub, ref string, extra ...string) result {
	args := append([]string{"verify", "--key", pub, "--insecure-ignore-tlog", "--trusted-root", keys(t).trustedRoot, "--allow-http-registry"}, extra...)
	return cosign(t, cosignV3Version, append(args, ref)...)
}

// cell runs fn once per registry as subtests and records each outcome in the matrix.
func cell(t *testing.T, name string, regs []*registryUnderTest, fn func(t *testing.T, r *registryUnderTest, repo string)) {
	t.Run(name, func(t *testing.T) {
		for _, r := range regs {
			t.Run(r.name, func(t *testing.T) {
				defer func() { record(name, r.name, !t.Failed()) }()
				fn(t, r, "org/team/"+slug(name))
			})
		}
	})
}

func slug(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

func expect(t *testing.T, what string, r result, code int, contains ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: exit %d, want %d\n%s", what, r.code, code, r)
	}
	for _, c := range contains {
		if !strings.Contains(r.out+r.err, c) {
			t.Fatalf("%s: output lacks %q\n%s", what, c, r)
		}
	}
}

func TestInterop(t *testing.T) {
	regs := matrixRegistries(t)
	k := keys(t)

	cell(t, "signet sign -> cosign v3 verify", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "signet sign", signet(t, "sign", "--key", k.signetKey, "-a", "build=42", d.String()), exitOK)
		expect(t, "cosign v3 verify", cosignV3Verify(t, k.signetPub, d.String(), "-a", "build=42"), 0)
	})

	cell(t, "signet sign -> cosign v2 verify --new-bundle-format", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "signet sign", signet(t, "sign", "--key", k.signetKey, d.String()), exitOK)
		expect(t, "cosign v2 verify", cosign(t, cosignV2Version, "verify", "--key", k.signetPub, "--new-bundle-format",
			"--trusted-root", k.trustedRoot, "--insecure-ignore-tlog", "--allow-http-registry", d.String()), 0)
	})

	cell(t, "signet sign --registry-layout legacy -> cosign v2 verify", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "signet sign", signet(t, "sign", "--key", k.signetKey, "--registry-layout", "legacy", "-a", "env=prod", d.String()), exitOK, "legacy-tag")
		expect(t, "cosign v2 verify", cosign(t, cosignV2Version, "verify", "--key", k.signetPub, "--insecure-ignore-tlog",
			"--allow-http-registry", "-a", "env=prod", d.String()), 0)
	})

	cell(t, "cosign v3 sign (bundle) -> signet verify", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "cosign v3 sign", cosignV3Sign(t, k.cosignKey, d.String(), "-a", "team=a"), 0)
		want := "referrers-api"
		if !r.referrers {
			want = "fallback-tag"
		}
		expect(t, "signet verify", signet(t, "verify", "--key", k.cosignPub, "-a", "team=a", d.String()), exitOK, "verified", want)
		expect(t, "signet inspect", signet(t, "inspect", "-o", "json", d.String()), exitOK, `"layout": "`+want+`"`, `"format": "sigstore-bundle"`,
			`"kind": "signature"`)
		expect(t, "signet download signature", signet(t, "download", "signature", d.String()), exitOK, `"mediaType":"application/vnd.dev.sigstore.bundle`)
	})

	cell(t, "cosign v2 sign (legacy .sig) -> signet verify", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "cosign v2 sign", cosign(t, cosignV2Version, "sign", "--yes", "--key", k.cosignKey, "--tlog-upload=false",
			"--allow-http-registry", "-a", "team=b", d.String()), 0)
		expect(t, "signet verify", signet(t, "verify", "--key", k.cosignPub, "-a", "team=b", d.String()), exitOK, "legacy-tag", "simple-signing")
		expect(t, "signet inspect", signet(t, "inspect", d.String()), exitOK, "signature · legacy tag · simple-signing")
		expect(t, "signet download signature", signet(t, "download", "signature", d.String()), exitOK, `"Base64Signature":`)
	})

	cell(t, "cosign v3 sign legacy mode -> signet verify", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "cosign v3 legacy sign", cosign(t, cosignV3Version, "sign", "--yes", "--key", k.cosignKey, "--new-bundle-format=false",
			"--use-signing-config=false", "--tlog-upload=false", "--allow-http-registry", d.String()), 0)
		expect(t, "signet verify", signet(t, "verify", "--key", k.cosignPub, d.String()), exitOK, "legacy-tag")
	})

	cell(t, "cosign generate-key-pair key -> signet sign -> cosign v3 verify", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		res := runCLI(t, toolEnv("COSIGN_PASSWORD="+password), tool("signet", ""), "sign", "--key", k.cosignKey, d.String())
		expect(t, "signet sign with cosign key (COSIGN_PASSWORD)", res, exitOK)
		expect(t, "cosign v3 verify", cosignV3Verify(t, k.cosignPub, d.String()), 0)
		expect(t, "signet verify", signet(t, "verify", "--key", k.cosignPub, d.String()), exitOK)
	})

	cell(t, "signet keys generate key -> cosign v3 sign -> signet verify", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "cosign v3 sign with signet key", cosignV3Sign(t, k.signetKey, d.String()), 0)
		expect(t, "signet verify", signet(t, "verify", "--key", k.signetPub, d.String()), exitOK)
	})

	cell(t, "negative: cosign-signed, wrong key -> exit 4", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "cosign v3 sign", cosignV3Sign(t, k.cosignKey, d.String()), 0)
		expect(t, "signet verify wrong key", signet(t, "verify", "--key", k.otherPub, d.String()), exitInvalid, "does not verify with any trusted key")
	})

	cell(t, "negative: cosign signature copied to another digest -> exit 4", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		signed := pushImage(t, r.host, repo+":signed")
		target := pushImage(t, r.host, repo+":target")
		expect(t, "cosign v3 sign", cosignV3Sign(t, k.cosignKey, signed.String()), 0)
		copyBundles(t, signed.String(), target.String())
		expect(t, "signet verify copied", signet(t, "verify", "--key", k.cosignPub, target.String()), exitInvalid, "signature is for another image digest")
		expect(t, "cosign v3 verify copied", cosignV3Verify(t, k.cosignPub, target.String()), 1)
	})

	cell(t, "negative: unsigned image -> exit 3", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "signet verify unsigned", signet(t, "verify", "--key", k.signetPub, d.String()), exitNoSignatures, "no signatures found")
	})

	cell(t, "index --recursive -> per-platform verify (signet, cosign v3)", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		idx, plats := pushIndex(t, r.host, repo+":multi")
		expect(t, "signet sign --recursive", signet(t, "sign", "--key", k.signetKey, "--recursive", r.host+"/"+repo+":multi"), exitOK, "linux/amd64", "linux/arm64")
		for _, d := range append(plats, idx) {
			expect(t, "signet verify "+d.DigestStr(), signet(t, "verify", "--key", k.signetPub, d.String()), exitOK)
			expect(t, "cosign v3 verify "+d.DigestStr(), cosignV3Verify(t, k.signetPub, d.String()), 0)
		}
	})
}

// TestRegistryAuth runs sign and verify against the distribution registry
// with htpasswd auth, credentials coming from the docker config.json.
func TestRegistryAuth(t *testing.T) {
	k := keys(t)
	reg := distributionAuthReg.get(t, func() (*registryUnderTest, error) { return startDistribution(true) })
	regs := []*registryUnderTest{reg}
	cell(t, "auth: docker config creds -> signet sign, signet + cosign v3 verify", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "signet sign", signet(t, "sign", "--key", k.signetKey, d.String()), exitOK)
		expect(t, "signet verify", signet(t, "verify", "--key", k.signetPub, d.String()), exitOK)
		expect(t, "cosign v3 verify", cosignV3Verify(t, k.signetPub, d.String()), 0)
	})
	cell(t, "auth: no credentials -> exit 5", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		env := toolEnv("SIGNET_PASSWORD="+password, "DOCKER_CONFIG="+filepath.Join(stateDir, "no-creds"))
		res := runCLI(t, env, tool("signet", ""), "verify", "--key", k.signetPub, d.String())
		expect(t, "signet verify without creds", res, exitRegistry, "UNAUTHORIZED")
	})
}

// copyBundles attaches the bundles signed for from, unchanged, to to: what an
// attacker with push access does to pass off a signature.
func copyBundles(t *testing.T, from, to string) {
	t.Helper()
	ctx := context.Background()
	c := oci.New()
	src, err := c.Resolve(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := c.Resolve(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	arts, err := c.Discover(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range arts {
		if a.Kind == oci.KindBundle && a.Err == nil {
			if _, err := c.AttachBundle(ctx, dst, a.Content, a.Annotations); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal(fmt.Sprintf("no bundle found on %s to copy", from))
	}
}
