//go:build e2e

package e2e

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// blobFixture writes an artifact and a statement about it.
func blobFixture(t *testing.T) (artifact, statement string) {
	t.Helper()
	dir := t.TempDir()
	artifact = filepath.Join(dir, "release.tar.gz")
	data := []byte(fmt.Sprintf("release built at %s", t.Name()))
	os.WriteFile(artifact, data, 0o644)
	sum := sha256.Sum256(data)
	statement = filepath.Join(dir, "statement.json")
	os.WriteFile(statement, []byte(fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"release.tar.gz","digest":{"sha256":"%x"}}],"predicateType":"https://example.com/release/v1","predicate":{"channel":"stable"}}`, sum)), 0o644)
	return artifact, statement
}

// TestBlobInterop signs files with keys, logged in Signet's log, both ways with cosign v3.
func TestBlobInterop(t *testing.T) {
	k := keys(t)
	lg := signetLog.get(t, startSignetLog)
	logs := []*registryUnderTest{{name: "signet-log"}}
	cell(t, "blob: signet sign-blob (key, logged) -> signet + cosign v3 verify-blob", logs, func(t *testing.T, _ *registryUnderTest, _ string) {
		art, _ := blobFixture(t)
		b := filepath.Join(t.TempDir(), "b.sigstore.json")
		expect(t, "signet sign-blob", signet(t, "sign-blob", "--key", k.signetKey, "--signing-config", lg.signingConfig, "--bundle", b, art), exitOK, "logged at index")
		expect(t, "signet verify-blob", signet(t, "verify-blob", "--key", k.signetPub, "--trusted-root", lg.trustedRoot, "--bundle", b, art), exitOK)
		sum := sha256.Sum256(must(os.ReadFile(art)))
		expect(t, "signet verify-blob by digest", signet(t, "verify-blob", "--key", k.signetPub, "--trusted-root", lg.trustedRoot, "--bundle", b, fmt.Sprintf("sha256:%x", sum)), exitOK)
		expect(t, "cosign v3 verify-blob", cosign(t, cosignV3Version, "verify-blob", "--key", k.signetPub, "--trusted-root", lg.trustedRoot, "--bundle", b, art), 0)
		other := filepath.Join(t.TempDir(), "other")
		os.WriteFile(other, []byte("not the release"), 0o644)
		expect(t, "signet verify-blob, other file", signet(t, "verify-blob", "--key", k.signetPub, "--trusted-root", lg.trustedRoot, "--bundle", b, other), exitInvalid)
	})
	cell(t, "blob: cosign v3 sign-blob (key, logged) -> signet verify-blob", logs, func(t *testing.T, _ *registryUnderTest, _ string) {
		art, _ := blobFixture(t)
		b := filepath.Join(t.TempDir(), "b.sigstore.json")
		expect(t, "cosign v3 sign-blob", cosign(t, cosignV3Version, "sign-blob", "--yes", "--key", k.cosignKey, "--signing-config", lg.signingConfig,
			"--trusted-root", lg.trustedRoot, "--bundle", b, art), 0)
		expect(t, "signet verify-blob", signet(t, "verify-blob", "--key", k.cosignPub, "--trusted-root", lg.trustedRoot, "--bundle", b, art), exitOK)
	})
	cell(t, "blob: signet attest-blob (key, logged) -> signet verify-blob + cosign v3 verify-blob-attestation", logs, func(t *testing.T, _ *registryUnderTest, _ string) {
		art, stmt := blobFixture(t)
		b := filepath.Join(t.TempDir(), "b.sigstore.json")
		expect(t, "signet attest-blob", signet(t, "attest-blob", "--key", k.signetKey, "--signing-config", lg.signingConfig, "--statement", stmt, "--bundle", b), exitOK)
		expect(t, "signet verify-blob", signet(t, "verify-blob", "--key", k.signetPub, "--trusted-root", lg.trustedRoot, "--bundle", b, art), exitOK)
		expect(t, "cosign v3 verify-blob-attestation", cosign(t, cosignV3Version, "verify-blob-attestation", "--key", k.signetPub,
			"--trusted-root", lg.trustedRoot, "--bundle", b, "--type", "https://example.com/release/v1", art), 0)
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
