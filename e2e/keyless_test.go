//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/signet-dev/signet/internal/sigstoretest"
)

// TestKeylessInterop signs keylessly against the project's own test Fulcio
// and RFC 3161 TSA (internal/sigstoretest, in process on 127.0.0.1), with
// signet and with cosign v3, and verifies by identity both ways.
func TestKeylessInterop(t *testing.T) {
	reg := matrixRegistries(t)[1] // ggcr, referrers API
	ss := sigstoretest.Start(t)
	rogue := sigstoretest.Start(t)
	tr, sc, err := ss.WriteTrust(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rogueTR, _, err := rogue.WriteTrust(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const who, iss = "dev@example.com", "https://accounts.example.com"
	token := sigstoretest.Token(who, iss)
	regs := []*registryUnderTest{reg}
	idFlags := func(id, issuer string) []string {
		return []string{"--certificate-identity", id, "--certificate-oidc-issuer", issuer}
	}

	cell(t, "keyless: signet sign (Fulcio + TSA) -> signet verify identity", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "signet keyless sign", signet(t, "sign", "--signing-config", sc, "--no-tlog", "--identity-token", token, d.String()), exitOK)
		expect(t, "signet verify", signet(t, append([]string{"verify", "--trusted-root", tr}, append(idFlags(who, iss), d.String())...)...),
			exitOK, "keyless: subject "+who)
		expect(t, "wrong identity", signet(t, append([]string{"verify", "--trusted-root", tr}, append(idFlags("ci@example.com", iss), d.String())...)...),
			exitInvalid, "expected subject ci@example.com", "found subject "+who)
		expect(t, "wrong issuer", signet(t, append([]string{"verify", "--trusted-root", tr}, append(idFlags(who, "https://other.example"), d.String())...)...),
			exitInvalid, "certificate identity does not match")
		expect(t, "untrusted CA", signet(t, append([]string{"verify", "--trusted-root", rogueTR}, append(idFlags(who, iss), d.String())...)...),
			exitInvalid, "does not verify")
	})

	cell(t, "keyless: signet sign -> cosign v3 verify identity", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "signet keyless sign", signet(t, "sign", "--signing-config", sc, "--no-tlog", "--identity-token", token, d.String()), exitOK)
		expect(t, "cosign v3 verify", cosign(t, cosignV3Version, append([]string{"verify", "--trusted-root", tr, "--insecure-ignore-tlog",
			"--insecure-ignore-sct", "--use-signed-timestamps", "--allow-http-registry"}, append(idFlags(who, iss), d.String())...)...), 0)
		expect(t, "cosign v3 verify, wrong identity", cosign(t, cosignV3Version, append([]string{"verify", "--trusted-root", tr, "--insecure-ignore-tlog",
			"--insecure-ignore-sct", "--use-signed-timestamps", "--allow-http-registry"}, append(idFlags("ci@example.com", iss), d.String())...)...), 1)
	})

	cell(t, "keyless: cosign v3 sign (Fulcio + TSA) -> signet verify identity", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		tokenFile := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
			t.Fatal(err)
		}
		expect(t, "cosign v3 keyless sign", cosign(t, cosignV3Version, "sign", "--yes", "--identity-token", tokenFile, "--signing-config", sc,
			"--trusted-root", tr, "--allow-http-registry", d.String()), 0)
		expect(t, "signet verify", signet(t, append([]string{"verify", "--trusted-root", tr}, append(idFlags(who, iss), d.String())...)...),
			exitOK, "keyless: subject "+who)
		expect(t, "signet verify, untrusted CA", signet(t, append([]string{"verify", "--trusted-root", rogueTR}, append(idFlags(who, iss), d.String())...)...),
			exitInvalid)
	})
}
