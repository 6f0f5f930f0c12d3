//go:build e2e

package e2e

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/signet-dev/signet/internal/dbtest"
)

// Rekor v1 and the Trillian it runs on, pinned; e2e/tools.sh builds them.
const (
	rekorV1Version  = "v1.5.4"
	trillianVersion = "v1.8.0"
)

// rekorV1 is a running rekor-server with the trust files that point at it.
type rekorV1 struct {
	url           string
	pubKey        string // the log's public key as served on /api/v1/log/publicKey (PEM file)
	treeID        string
	trustedRoot   string // lists this log (API version 1) with that key
	signingConfig string // sends signatures to this log
}

// TestRekorV1 runs the real Rekor v1 server (rekor-server v1.5.4 on
// Trillian v1.8.0's log server and signer, both on a real MariaDB) and signs,
// attests and verifies through it with signet and cosign v2 and v3, both
// ways. rekor-server binds its metrics to :2112 on every interface (no flag
// moves it), so the test re-runs itself in a private network namespace where
// only loopback exists.
func TestRekorV1(t *testing.T) {
	if !inPrivateNetwork(t, "TestRekorV1") {
		return
	}
	db := dbtest.MariaDB(t)
	rk := startRekorV1(t, db)
	k := keys(t)
	reg := matrixRegistries(t)[0] // distribution: fallback tag, legacy tags
	regs := []*registryUnderTest{reg}
	// cosign v2 reads the log's key from here instead of the public TUF repository.
	v2env := toolEnv("COSIGN_PASSWORD="+password, "SIGSTORE_REKOR_PUBLIC_KEY="+rk.pubKey)
	cosignV2 := func(t *testing.T, args ...string) result {
		t.Helper()
		return runCLI(t, v2env, tool("cosign", cosignV2Version), args...)
	}
	verifyRequired := func(args ...string) []string {
		return append([]string{"--trusted-root", rk.trustedRoot, "--tlog", "required"}, args...)
	}
	row := func(name string, fn func(t *testing.T, repo string)) {
		cell(t, "rekor v1: "+name, regs, func(t *testing.T, _ *registryUnderTest, repo string) {
			fn(t, repo)
			if !t.Failed() {
				t.Logf("rekorv1: %s ok", name)
			}
		})
	}
	logged := "logged at index"
	verifiedAt := "proof verified offline"
	setVerified := "signed entry timestamp verified offline"

	row("signet sign -> cosign v3 verify", func(t *testing.T, repo string) {
		d := pushImage(t, reg.host, repo+":v1")
		expect(t, "signet sign", signet(t, "sign", "--key", k.signetKey, "--tlog-url", rk.url, d.String()), exitOK, logged)
		r := cosign(t, cosignV3Version, "verify", "--key", k.signetPub, "--trusted-root", rk.trustedRoot, "--allow-http-registry", d.String())
		expect(t, "cosign v3 verify", r, 0)
		noSkippedLog(t, r)
	})
	row("signet sign -> cosign v2 verify --new-bundle-format", func(t *testing.T, repo string) {
		d := pushImage(t, reg.host, repo+":v1")
		expect(t, "signet sign", signet(t, "sign", "--key", k.signetKey, "--signing-config", rk.signingConfig, d.String()), exitOK, logged)
		r := cosignV2(t, "verify", "--key", k.signetPub, "--new-bundle-format", "--trusted-root", rk.trustedRoot, "--allow-http-registry", d.String())
		expect(t, "cosign v2 verify", r, 0)
		noSkippedLog(t, r)
	})
	row("signet sign --registry-layout legacy -> cosign v2 verify (SET)", func(t *testing.T, repo string) {
		d := pushImage(t, reg.host, repo+":v1")
		expect(t, "signet sign", signet(t, "sign", "--key", k.signetKey, "--registry-layout", "legacy", "--tlog-url", rk.url, d.String()), exitOK, logged)
		r := cosignV2(t, "verify", "--key", k.signetPub, "--rekor-url", rk.url, "--allow-http-registry", d.String())
		expect(t, "cosign v2 verify", r, 0)
		noSkippedLog(t, r)
		expect(t, "signet verify", signet(t, append([]string{"verify", "--key", k.signetPub}, verifyRequired(d.String())...)...),
			exitOK, setVerified, "legacy-tag")
	})
	row("cosign v3 sign -> signet verify", func(t *testing.T, repo string) {
		d := pushImage(t, reg.host, repo+":v1")
		expect(t, "cosign v3 sign", cosign(t, cosignV3Version, "sign", "--yes", "--key", k.cosignKey, "--signing-config", rk.signingConfig,
			"--trusted-root", rk.trustedRoot, "--allow-http-registry", d.String()), 0)
		expect(t, "signet verify", signet(t, append([]string{"verify", "--key", k.cosignPub}, verifyRequired(d.String())...)...), exitOK, verifiedAt, rk.url)
	})
	row("cosign v2 sign -> signet verify (unlogged: refused when required)", func(t *testing.T, repo string) {
		d := pushImage(t, reg.host, repo+":v1")
		expect(t, "cosign v2 sign", cosignV2(t, "sign", "--yes", "--key", k.cosignKey, "--rekor-url", rk.url, "--allow-http-registry", d.String()), 0)
		expect(t, "signet verify", signet(t, append([]string{"verify", "--key", k.cosignPub}, verifyRequired(d.String())...)...),
			exitOK, setVerified, "legacy-tag")
		// Not logged: a required entry is missing (Signet used to pass it).
		u := pushImage(t, reg.host, repo+":unlogged")
		expect(t, "cosign v2 sign --tlog-upload=false", cosignV2(t, "sign", "--yes", "--key", k.cosignKey, "--tlog-upload=false", "--allow-http-registry", u.String()), 0)
		expect(t, "signet verify, unlogged", signet(t, append([]string{"verify", "--key", k.cosignPub}, verifyRequired(u.String())...)...),
			exitInvalid, "a log entry is required and this legacy-layout signature carries none")
	})
	row("signet attest -> cosign v3 and v2 verify-attestation", func(t *testing.T, repo string) {
		d := pushImage(t, reg.host, repo+":v1")
		expect(t, "signet attest", signet(t, "attest", "--key", k.signetKey, "--type", "cyclonedx", "--predicate", fixture(t, "sbom.cdx.json"),
			"--tlog-url", rk.url, d.String()), exitOK, logged)
		r := cosign(t, cosignV3Version, "verify-attestation", "--key", k.signetPub, "--type", "cyclonedx", "--trusted-root", rk.trustedRoot,
			"--allow-http-registry", d.String())
		expect(t, "cosign v3 verify-attestation", r, 0)
		noSkippedLog(t, r)
		r = cosignV2(t, "verify-attestation", "--key", k.signetPub, "--type", "cyclonedx", "--new-bundle-format", "--trusted-root", rk.trustedRoot,
			"--allow-http-registry", d.String())
		expect(t, "cosign v2 verify-attestation --new-bundle-format", r, 0)
		noSkippedLog(t, r)
		expect(t, "signet verify-attestation", signet(t, append([]string{"verify-attestation", "--key", k.signetPub, "--type", "cyclonedx"},
			verifyRequired(d.String())...)...), exitOK, verifiedAt)
	})
	row("cosign v3 attest -> signet verify-attestation", func(t *testing.T, repo string) {
		d := pushImage(t, reg.host, repo+":v1")
		expect(t, "cosign v3 attest", cosign(t, cosignV3Version, "attest", "--yes", "--key", k.cosignKey, "--type", "cyclonedx",
			"--predicate", fixture(t, "sbom.cdx.json"), "--signing-config", rk.signingConfig, "--trusted-root", rk.trustedRoot,
			"--allow-http-registry", d.String()), 0)
		expect(t, "signet verify-attestation", signet(t, append([]string{"verify-attestation", "--key", k.cosignPub, "--type", "cyclonedx"},
			verifyRequired(d.String())...)...), exitOK, "verified", verifiedAt)
	})
	row("cosign v2 attest -> signet verify-attestation", func(t *testing.T, repo string) {
		d := pushImage(t, reg.host, repo+":v1")
		expect(t, "cosign v2 attest", cosignV2(t, "attest", "--yes", "--key", k.cosignKey, "--type", "cyclonedx",
			"--predicate", fixture(t, "sbom.cdx.json"), "--rekor-url", rk.url, "--allow-http-registry", d.String()), 0)
		expect(t, "signet verify-attestation", signet(t, append([]string{"verify-attestation", "--key", k.cosignPub, "--type", "cyclonedx"},
			verifyRequired(d.String())...)...), exitOK, "verified", setVerified, "legacy-tag")
	})
	row("signet sign twice with a deterministic key (Rekor answers 409) -> signet verify", func(t *testing.T, repo string) {
		// Ed25519 signs the same statement the same way: the second upload
		// is a duplicate, which Rekor v1 answers 409 Conflict with the
		// existing entry's location.
		dir := t.TempDir()
		expect(t, "signet keys generate", signet(t, "keys", "generate", "--type", "ed25519", "--output-prefix", filepath.Join(dir, "ed")), exitOK)
		d := pushImage(t, reg.host, repo+":v1")
		first := signet(t, "sign", "--key", filepath.Join(dir, "ed.key"), "--tlog-url", rk.url, d.String())
		expect(t, "signet sign", first, exitOK, logged)
		again := signet(t, "sign", "--key", filepath.Join(dir, "ed.key"), "--tlog-url", rk.url, d.String())
		expect(t, "signet sign again", again, exitOK, logged)
		if idx := regexp.MustCompile(`logged at index \d+`); idx.FindString(first.out) != idx.FindString(again.out) {
			t.Fatalf("the duplicate got another entry:\n%s\n%s", first, again)
		}
		expect(t, "signet verify", signet(t, append([]string{"verify", "--key", filepath.Join(dir, "ed.pub")}, verifyRequired(d.String())...)...), exitOK, verifiedAt)
	})
	row("blob: signet sign-blob -> cosign v3 verify-blob; cosign v3 sign-blob -> signet verify-blob", func(t *testing.T, _ string) {
		art, _ := blobFixture(t)
		b, cb := filepath.Join(t.TempDir(), "b.sigstore.json"), filepath.Join(t.TempDir(), "cb.sigstore.json")
		expect(t, "signet sign-blob", signet(t, "sign-blob", "--key", k.signetKey, "--tlog-url", rk.url, "--bundle", b, art), exitOK, logged)
		r := cosign(t, cosignV3Version, "verify-blob", "--key", k.signetPub, "--trusted-root", rk.trustedRoot, "--bundle", b, art)
		expect(t, "cosign v3 verify-blob", r, 0)
		noSkippedLog(t, r)
		expect(t, "cosign v3 sign-blob", cosign(t, cosignV3Version, "sign-blob", "--yes", "--key", k.cosignKey, "--signing-config", rk.signingConfig,
			"--trusted-root", rk.trustedRoot, "--bundle", cb, art), 0)
		expect(t, "signet verify-blob", signet(t, append([]string{"verify-blob", "--key", k.cosignPub, "--bundle", cb}, verifyRequired(art)...)...), exitOK)
	})
	row("signet verify checks the entry against the log's key", func(t *testing.T, repo string) {
		d := pushImage(t, reg.host, repo+":v1")
		expect(t, "signet sign", signet(t, "sign", "--key", k.signetKey, "--tlog-url", rk.url, d.String()), exitOK, logged)
		r := signet(t, append([]string{"verify", "--key", k.signetPub, "-o", "json"}, verifyRequired(d.String())...)...)
		expect(t, "signet verify", r, exitOK, `"kind": "dsse/0.0.1"`, `"verified": true`, "inclusion proof and checkpoint verified offline")
		// The same log URL with another key: the entry's log ID names no
		// trusted log, so a required entry is missing.
		other := otherKeyRoot(t, rk)
		expect(t, "signet verify, log key not trusted", signet(t, "verify", "--key", k.signetPub, "--trusted-root", other, "--tlog", "required", d.String()),
			exitInvalid, "none of the bundle's 1 entries is from a trusted log")
	})

	// Keyless: the real Fulcio (file CA, the suite's OIDC issuer, no CT log)
	// and the log's integrated time as the signing time; no TSA.
	oidc := startOIDC(t)
	fulcioURL, caPEM := startFulcio(t, map[string]string{oidc.url: "email"})
	ktr, ksc := rekorV1KeylessTrust(t, rk, fulcioURL, caPEM)
	const who = "dev@example.com"
	token := oidc.token(t, who)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	id := []string{"--certificate-identity", who, "--certificate-oidc-issuer", oidc.url}
	signetVerifyKeyless := func(t *testing.T, d string) {
		t.Helper()
		expect(t, "signet verify", signet(t, append(append([]string{"verify", "--trusted-root", ktr, "--tlog", "required"}, id...), d)...),
			exitOK, "keyless: subject "+who, verifiedAt)
		expect(t, "signet verify, wrong identity", signet(t, "verify", "--trusted-root", ktr, "--tlog", "required",
			"--certificate-identity", "ci@example.com", "--certificate-oidc-issuer", oidc.url, d), exitInvalid, "expected subject ci@example.com")
	}
	row("keyless: signet sign (Fulcio) -> cosign v3 verify identity", func(t *testing.T, repo string) {
		d := pushImage(t, reg.host, repo+":v1")
		expect(t, "signet keyless sign", signet(t, "sign", "--signing-config", ksc, "--identity-token", token, d.String()), exitOK, logged)
		r := cosign(t, cosignV3Version, append(append([]string{"verify", "--trusted-root", ktr, "--insecure-ignore-sct", "--allow-http-registry"}, id...), d.String())...)
		expect(t, "cosign v3 verify", r, 0)
		noSkippedLog(t, r)
		signetVerifyKeyless(t, d.String())
	})
	row("keyless: cosign v3 sign (Fulcio) -> signet verify identity", func(t *testing.T, repo string) {
		d := pushImage(t, reg.host, repo+":v1")
		expect(t, "cosign v3 keyless sign", cosign(t, cosignV3Version, "sign", "--yes", "--identity-token", tokenFile, "--signing-config", ksc,
			"--trusted-root", ktr, "--allow-http-registry", d.String()), 0)
		signetVerifyKeyless(t, d.String())
	})
}

// rekorV1KeylessTrust writes a trusted root (Fulcio's CA and the log) and a
// signing config (Fulcio and the log, no TSA: the log's integrated time is
// the signing time).
func rekorV1KeylessTrust(t *testing.T, rk *rekorV1, fulcioURL string, caPEM []byte) (string, string) {
	t.Helper()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	tr := filepath.Join(dir, "trusted_root.json")
	expect(t, "signet trust create", runCLI(t, toolEnv(), tool("signet", ""), "trust", "create", "--out", tr,
		"--fulcio", "url="+fulcioURL+",certificate-chain="+caFile, "--rekor", "url="+rk.url+",public-key="+rk.pubKey+",api-version=1"), 0)
	start := time.Now().Add(-time.Hour)
	anyOne := root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02,
		[]root.Service{{URL: fulcioURL, MajorAPIVersion: 1, ValidityPeriodStart: start}}, nil,
		[]root.Service{{URL: rk.url, MajorAPIVersion: 1, ValidityPeriodStart: start}}, anyOne, nil, anyOne)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sc.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	scPath := filepath.Join(dir, "signing_config.json")
	if err := os.WriteFile(scPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return tr, scPath
}

// noSkippedLog fails when cosign says it did not check the log.
func noSkippedLog(t *testing.T, r result) {
	t.Helper()
	if strings.Contains(r.out+r.err, "Skipping tlog verification") {
		t.Fatalf("cosign skipped the log check:\n%s", r)
	}
}

// otherKeyRoot writes a trusted root naming rk's URL with a key the log
// never used.
func otherKeyRoot(t *testing.T, rk *rekorV1) string {
	t.Helper()
	dir := t.TempDir()
	r := signet(t, "keys", "generate", "--output-prefix", filepath.Join(dir, "other"))
	expect(t, "signet keys generate", r, exitOK)
	tr := filepath.Join(dir, "trusted_root.json")
	expect(t, "signet trust create", runCLI(t, toolEnv(), tool("signet", ""), "trust", "create",
		"--rekor", "url="+rk.url+",public-key="+filepath.Join(dir, "other.pub")+",api-version=1", "--out", tr), 0)
	return tr
}

// inPrivateNetwork re-runs the test named name in a fresh network namespace
// (unshare --net, loopback only) and reports whether the caller is already
// inside one and should carry on. Servers that bind every interface stay
// unreachable from outside the machine there. Without root it skips, except
// in CI (CI=true), where it fails.
func inPrivateNetwork(t *testing.T, name string) bool {
	t.Helper()
	if os.Getenv("SIGNET_E2E_NETNS") == "1" {
		if err := loopbackUp(); err != nil {
			t.Fatal(err)
		}
		return true
	}
	if os.Geteuid() != 0 {
		mustNotSkip(t, "needs root for a private network namespace (unshare --net)")
	}
	cmd := exec.Command("unshare", "--net", "--", os.Args[0], "-test.run", "^"+name+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "SIGNET_E2E_NETNS=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s in its network namespace: %v", name, err)
	}
	return false
}

// mustNotSkip skips the test with reason, or fails it in CI (CI=true),
// where every suite must run.
func mustNotSkip(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: the suite must run, not skip)", reason)
	}
	t.Skip(reason)
}

// startRekorV1 loads Trillian's schema into a fresh database, runs
// trillian_log_server and trillian_log_signer on it, creates a tree, and
// runs rekor-server on that tree with its search index in a second database.
// Everything listens on 127.0.0.1.
func startRekorV1(t *testing.T, db *dbtest.Server) *rekorV1 {
	t.Helper()
	dir := filepath.Join(stateDir, "rekor-v1")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	logTail(t, "trillian_log_server", "trillian_log_signer", "rekor-server")
	// Trillian's schema, copied by e2e/tools.sh from the module it built.
	schema, err := os.ReadFile(filepath.Join(filepath.Dir(tool("trillian_log_server", trillianVersion)), "storage.sql"))
	if err != nil {
		t.Fatalf("Trillian's schema (run e2e/tools.sh): %v", err)
	}
	db.NewDatabase(t, "trillian")
	db.Exec(t, "trillian", string(schema))
	db.NewDatabase(t, "rekor")
	trillianDSN, indexDSN := db.MySQLDSN("trillian"), db.MySQLDSN("rekor")

	var addrs [5]string
	for i := range addrs {
		addrs[i] = mustFreeAddr(t)
	}
	logRPC, logHTTP, signerRPC, signerHTTP, rekorAddr := addrs[0], addrs[1], addrs[2], addrs[3], addrs[4]
	// Each server is stopped when the test ends, before the MariaDB it
	// writes to (started earlier, so stopped later).
	start := func(name string, args ...string) {
		t.Helper()
		version := trillianVersion
		if name == "rekor-server" {
			version = rekorV1Version
		}
		cmd, err := startProcess(name, tool(name, version), args...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stopProcess(cmd) })
	}
	trillianFlags := []string{"--storage_system=mysql", "--quota_system=mysql", "--mysql_uri=" + trillianDSN}
	start("trillian_log_server", append([]string{"--rpc_endpoint=" + logRPC, "--http_endpoint=" + logHTTP}, trillianFlags...)...)
	start("trillian_log_signer", append([]string{"--rpc_endpoint=" + signerRPC, "--http_endpoint=" + signerHTTP, "--force_master",
		"--sequencer_interval=50ms", "--batch_size=100"}, trillianFlags...)...)
	treeID := createTree(t, logRPC)

	host, port := "127.0.0.1", splitPort(rekorAddr)
	start("rekor-server", "serve",
		"--rekor_server.address="+host, "--port="+port, "--rekor_server.hostname=rekor.e2e",
		"--rekor_server.signer=memory",
		"--trillian_log_server.address="+host, "--trillian_log_server.port="+splitPort(logRPC),
		"--trillian_log_server.tlog_id="+treeID,
		"--search_index.storage_provider=mysql", "--search_index.mysql.dsn="+indexDSN,
		"--enable_attestation_storage=false", "--log_type=prod")
	rk := &rekorV1{url: "http://" + rekorAddr, treeID: treeID}
	if err := waitHTTP(rk.url+"/api/v1/log", 200); err != nil {
		t.Fatal(fmt.Errorf("rekor-server: %w", err))
	}
	rk.pubKey = filepath.Join(dir, "rekor.pub")
	fetchLogKey(t, rk.url, rk.pubKey)
	rk.trustedRoot, rk.signingConfig = filepath.Join(dir, "trusted_root.json"), filepath.Join(dir, "signing_config.json")
	expect(t, "signet trust create", runCLI(t, toolEnv(), tool("signet", ""), "trust", "create",
		"--rekor", "url="+rk.url+",public-key="+rk.pubKey+",api-version=1", "--out", rk.trustedRoot, "--signing-config-out", rk.signingConfig), 0)
	t.Logf("rekorv1: rekor-server %s on Trillian %s (tree %s, MariaDB %s) at %s", rekorV1Version, trillianVersion, treeID, net.JoinHostPort(db.Host, strconv.Itoa(db.Port)), rk.url)
	return rk
}

// createTree asks the Trillian log server for a new log tree and returns its
// id, retrying while the server comes up.
func createTree(t *testing.T, logRPC string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := execCLI(toolEnv(), tool("createtree", trillianVersion), "--admin_server="+logRPC, "--display_name=signet-e2e")
		if err != nil {
			t.Fatal(err)
		}
		id := strings.TrimSpace(r.out)
		if r.code == 0 && regexp.MustCompile(`^[0-9]+$`).MatchString(id) {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("createtree did not make a tree within 60s:\n%s", r)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// fetchLogKey saves the log's public key, as it serves it, to path.
func fetchLogKey(t *testing.T, url, path string) {
	t.Helper()
	resp, err := http.Get(url + "/api/v1/log/publicKey")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if resp.StatusCode != 200 || blk == nil {
		t.Fatalf("rekor-server's /api/v1/log/publicKey: status %d, want 200 and a PEM public key:\n%s", resp.StatusCode, b)
	}
	if _, err := x509.ParsePKIXPublicKey(blk.Bytes); err != nil {
		t.Fatalf("rekor-server's public key: %v", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustFreeAddr(t *testing.T) string {
	t.Helper()
	a, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// logTail prints the end of each named server's log when the test fails.
func logTail(t *testing.T, names ...string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, n := range names {
			b, _ := os.ReadFile(filepath.Join(stateDir, n+".log"))
			if len(b) > 3000 {
				b = b[len(b)-3000:]
			}
			t.Logf("%s log (end):\n%s", n, b)
		}
	})
}
