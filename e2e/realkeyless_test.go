//go:build e2e

package e2e

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"golang.org/x/sys/unix"

	signetkeys "github.com/signet-dev/signet/keys"
)

// TestRealKeyless runs keyless signing against the real Fulcio v1.8.8,
// timestamp-authority v2.1.3 and rekor-tiles v2.3.0, with an OIDC issuer of
// the project's own. Fulcio's and the TSA's metrics listeners bind every
// interface, so the test re-runs itself in a private network namespace
// (unshare --net) where only loopback exists; nothing can leave the machine.
func TestRealKeyless(t *testing.T) {
	if !inPrivateNetwork(t, "TestRealKeyless") {
		return
	}
	oidc, gh := startOIDC(t), startOIDC(t)
	fulcioURL, caPEM := startFulcio(t, map[string]string{oidc.url: "email", gh.url: "github-workflow"})
	tsaURL, tsaChain := startTSA(t)
	lg := rekorTilesLog.get(t, startRekorTiles)
	tr, sc := keylessTrust(t, fulcioURL, caPEM, tsaURL, tsaChain, lg)
	reg := ggcrReg.get(t, startGGCR)
	regs := []*registryUnderTest{reg}
	const who = "dev@example.com"
	token := oidc.token(t, who)
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(token), 0o600)
	id := func(subject, issuer string) []string {
		return []string{"--certificate-identity", subject, "--certificate-oidc-issuer", issuer}
	}
	verifyArgs := func(trusted string, extra ...string) []string {
		return append([]string{"verify", "--trusted-root", trusted, "--tlog", "required"}, extra...)
	}

	cell(t, "real keyless: signet sign (Fulcio, TSA, rekor-tiles) -> signet verify", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "signet keyless sign", signet(t, "sign", "--signing-config", sc, "--identity-token", token, d.String()), exitOK, "logged at index")
		expect(t, "signet verify", signet(t, append(verifyArgs(tr), append(id(who, oidc.url), d.String())...)...), exitOK, "keyless: subject "+who)
		expect(t, "wrong identity", signet(t, append(verifyArgs(tr), append(id("ci@example.com", oidc.url), d.String())...)...),
			exitInvalid, "expected subject ci@example.com", "found subject "+who)
		expect(t, "wrong issuer", signet(t, append(verifyArgs(tr), append(id(who, "https://other.example"), d.String())...)...),
			exitInvalid, "certificate identity does not match")
	})
	cell(t, "real keyless: signet sign -> cosign v3 verify", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "signet keyless sign", signet(t, "sign", "--signing-config", sc, "--identity-token", token, d.String()), exitOK)
		expect(t, "cosign v3 verify", cosign(t, cosignV3Version, append([]string{"verify", "--trusted-root", tr, "--insecure-ignore-sct",
			"--use-signed-timestamps", "--allow-http-registry"}, append(id(who, oidc.url), d.String())...)...), 0)
	})
	cell(t, "real keyless: cosign v3 sign -> signet verify", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "cosign v3 keyless sign", cosign(t, cosignV3Version, "sign", "--yes", "--identity-token", tokenFile, "--signing-config", sc,
			"--trusted-root", tr, "--allow-http-registry", d.String()), 0)
		expect(t, "signet verify", signet(t, append(verifyArgs(tr), append(id(who, oidc.url), d.String())...)...), exitOK, "keyless: subject "+who)
	})
	cell(t, "real keyless: CI workflow token -> signet and cosign v3 verify workflow identity", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "signet keyless sign", signet(t, "sign", "--signing-config", sc, "--identity-token", gh.workflowToken(t), d.String()), exitOK)
		wf := []string{"--certificate-identity-regexp", "^https://github.com/example/app/", "--certificate-oidc-issuer", gh.url,
			"--certificate-github-workflow-repository", "example/app", "--certificate-github-workflow-trigger", "push"}
		expect(t, "signet verify", signet(t, append(verifyArgs(tr), append(wf, d.String())...)...), exitOK, "workflow repository example/app")
		expect(t, "cosign v3 verify", cosign(t, cosignV3Version, append([]string{"verify", "--trusted-root", tr, "--insecure-ignore-sct",
			"--use-signed-timestamps", "--allow-http-registry"}, append(wf, d.String())...)...), 0)
		other := []string{"--certificate-identity-regexp", "^https://github.com/example/app/", "--certificate-oidc-issuer", gh.url,
			"--certificate-github-workflow-repository", "example/other", d.String()}
		expect(t, "signet verify, other repository", signet(t, append(verifyArgs(tr), other...)...), exitInvalid, "certificate identity does not match")
	})
	cell(t, "real keyless: signet sign-blob / attest-blob -> signet verify-blob + cosign v3", regs, func(t *testing.T, _ *registryUnderTest, _ string) {
		art, stmt := blobFixture(t)
		b, ab := filepath.Join(t.TempDir(), "b.json"), filepath.Join(t.TempDir(), "ab.json")
		expect(t, "signet keyless sign-blob", signet(t, "sign-blob", "--signing-config", sc, "--identity-token", token, "--bundle", b, art), exitOK, "logged at index")
		expect(t, "signet verify-blob", signet(t, append([]string{"verify-blob", "--trusted-root", tr, "--bundle", b}, append(id(who, oidc.url), art)...)...), exitOK)
		expect(t, "cosign v3 verify-blob", cosign(t, cosignV3Version, append([]string{"verify-blob", "--trusted-root", tr, "--bundle", b,
			"--insecure-ignore-sct", "--use-signed-timestamps"}, append(id(who, oidc.url), art)...)...), 0)
		expect(t, "signet keyless attest-blob", signet(t, "attest-blob", "--signing-config", sc, "--identity-token", token, "--statement", stmt, "--bundle", ab), exitOK)
		expect(t, "signet verify-blob (DSSE)", signet(t, append([]string{"verify-blob", "--trusted-root", tr, "--bundle", ab}, append(id(who, oidc.url), art)...)...), exitOK)
		expect(t, "cosign v3 verify-blob-attestation", cosign(t, cosignV3Version, append([]string{"verify-blob-attestation", "--trusted-root", tr, "--bundle", ab,
			"--insecure-ignore-sct", "--use-signed-timestamps", "--type", "https://example.com/release/v1"}, append(id(who, oidc.url), art)...)...), 0)
	})
	cell(t, "real keyless: untrusted CA refused", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "signet keyless sign", signet(t, "sign", "--signing-config", sc, "--identity-token", token, d.String()), exitOK)
		// A trusted root whose CA is another one (the log and TSA are the same).
		otherCA, _ := selfSignedCA(t)
		otherTR, _ := keylessTrust(t, fulcioURL, otherCA, tsaURL, tsaChain, lg)
		expect(t, "signet verify with another CA", signet(t, append(verifyArgs(otherTR), append(id(who, oidc.url), d.String())...)...), exitInvalid)
	})
}

// loopbackUp brings lo up in a fresh network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// oidcIssuer is a minimal OpenID provider: discovery, JWKS, RS256 tokens.
type oidcIssuer struct {
	url string
	key *rsa.PrivateKey
}

func startOIDC(t *testing.T) *oidcIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &oidcIssuer{url: "http://" + ln.Addr().String(), key: key}
	b64 := base64.RawURLEncoding.EncodeToString
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": o.url, "jwks_uri": o.url + "/keys", "authorization_endpoint": o.url + "/auth",
			"token_endpoint": o.url + "/token", "response_types_supported": []string{"id_token"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "k1",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())}}})
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return o
}

// token mints an email identity token, as an IdP would for a person.
func (o *oidcIssuer) token(t *testing.T, email string) string {
	return o.mint(t, map[string]any{"sub": email, "email": email, "email_verified": true})
}

// workflowToken mints a token shaped like GitHub Actions' for a release
// workflow of example/app.
func (o *oidcIssuer) workflowToken(t *testing.T) string {
	const wf = "example/app/.github/workflows/release.yml@refs/heads/main"
	return o.mint(t, map[string]any{"sub": "repo:example/app:ref:refs/heads/main", "job_workflow_ref": wf, "job_workflow_sha": "a1b2c3",
		"sha": "a1b2c3", "event_name": "push", "repository": "example/app", "workflow": "release", "ref": "refs/heads/main",
		"runner_environment": "github-hosted", "repository_id": "1", "repository_owner": "example", "repository_owner_id": "2",
		"repository_visibility": "public", "workflow_ref": wf, "workflow_sha": "a1b2c3", "run_id": "42", "run_attempt": "1"})
}

func (o *oidcIssuer) mint(t *testing.T, c map[string]any) string {
	b64 := base64.RawURLEncoding.EncodeToString
	head, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"})
	now := time.Now()
	c["iss"], c["aud"], c["iat"], c["nbf"], c["exp"] = o.url, "sigstore", now.Unix(), now.Unix(), now.Add(time.Hour).Unix()
	claims, _ := json.Marshal(c)
	in := b64(head) + "." + b64(claims)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, o.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + b64(sig)
}

func selfSignedCA(t *testing.T) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "signet e2e CA", Organization: []string{"signet"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key
}

// startFulcio runs Fulcio with a file CA trusting the OIDC issuers (URL
// to issuer type).
func startFulcio(t *testing.T, issuers map[string]string) (string, []byte) {
	return startFulcioAs(t, "fulcio", nil, issuers)
}

// startFulcioAs is startFulcio with a name for its state and log, and its
// environment (nil: the suite's).
func startFulcioAs(t *testing.T, name string, env []string, issuers map[string]string) (string, []byte) {
	t.Helper()
	dir := filepath.Join(stateDir, name)
	os.MkdirAll(dir, 0o700)
	caPEM, caKey := selfSignedCA(t)
	keyPEM, err := signetkeys.EncryptPrivateKey(caKey, []byte("fulcio-e2e"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "ca.pem"), caPEM, 0o644)
	os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600)
	iss := map[string]any{}
	for url, typ := range issuers {
		iss[url] = map[string]string{"IssuerURL": url, "ClientID": "sigstore", "Type": typ}
	}
	cfg, _ := json.Marshal(map[string]any{"OIDCIssuers": iss})
	os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644)
	var addrs [3]string
	for i := range addrs {
		addrs[i], _ = freeAddr()
	}
	if _, err := startProcessEnv(name, env, tool("fulcio", fulcioVersion), "serve", "--ca", "fileca",
		"--fileca-cert", filepath.Join(dir, "ca.pem"), "--fileca-key", filepath.Join(dir, "key.pem"), "--fileca-key-passwd", "fulcio-e2e",
		"--fileca-watch=false", "--host", "127.0.0.1", "--port", splitPort(addrs[0]), "--grpc-host", "127.0.0.1", "--grpc-port", splitPort(addrs[1]),
		"--metrics-port", splitPort(addrs[2]), "--legacy-unix-domain-socket", filepath.Join(dir, "legacy.sock"),
		"--config-path", filepath.Join(dir, "config.json"), "--ct-log-url="); err != nil {
		t.Fatal(err)
	}
	url := "http://" + addrs[0]
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(stateDir, name+".log"))
			if len(b) > 3000 {
				b = b[len(b)-3000:]
			}
			t.Logf("fulcio log:\n%s", b)
		}
	})
	if err := waitHTTP(url+"/api/v1/rootCert", 200); err != nil {
		t.Fatal(err)
	}
	return url, caPEM
}

// startTSA runs the timestamp authority with an in-memory signer (and
// extra flags) and returns its URL and certificate chain.
func startTSA(t *testing.T, extra ...string) (string, []byte) {
	t.Helper()
	addr, _ := freeAddr()
	args := append([]string{"serve", "--host", "127.0.0.1", "--port", splitPort(addr), "--scheme", "http",
		"--timestamp-signer", "memory", "--disable-ntp-monitoring"}, extra...)
	if _, err := startProcess("timestamp-authority", tool("timestamp-authority", tsaVersion), args...); err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	if err := waitHTTP(base+"/api/v1/timestamp/certchain", 200); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(base + "/api/v1/timestamp/certchain")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	chain, _ := io.ReadAll(resp.Body)
	return base + "/api/v1/timestamp", chain
}

// keylessTrust writes a trusted root (CA, TSA, log) with signet trust create
// and a signing config naming Fulcio, the TSA and the log.
func keylessTrust(t *testing.T, fulcioURL string, caPEM []byte, tsaURL string, tsaChain []byte, lg *logUnderTest) (string, string) {
	t.Helper()
	dir := t.TempDir()
	caFile, tsaFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "tsa.pem")
	os.WriteFile(caFile, caPEM, 0o644)
	os.WriteFile(tsaFile, tsaChain, 0o644)
	tr := filepath.Join(dir, "trusted_root.json")
	logPub := filepath.Join(stateDir, "rekor-tiles", "ed25519.pub")
	expect(t, "signet trust create", runCLI(t, toolEnv(), tool("signet", ""), "trust", "create", "--out", tr,
		"--fulcio", "url="+fulcioURL+",certificate-chain="+caFile, "--tsa", "url="+tsaURL+",certificate-chain="+tsaFile,
		"--rekor", "url="+lg.url+",public-key="+logPub), 0)
	start := time.Now().Add(-time.Hour)
	any := root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}
	scObj, err := root.NewSigningConfig(root.SigningConfigMediaType02,
		[]root.Service{{URL: fulcioURL, MajorAPIVersion: 1, ValidityPeriodStart: start}}, nil,
		[]root.Service{{URL: lg.url, MajorAPIVersion: 2, ValidityPeriodStart: start}}, any,
		[]root.Service{{URL: tsaURL, MajorAPIVersion: 1, ValidityPeriodStart: start}}, any)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := scObj.MarshalJSON()
	sc := filepath.Join(dir, "signing_config.json")
	os.WriteFile(sc, b, 0o644)
	return tr, sc
}
