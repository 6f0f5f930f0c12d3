//go:build e2e

package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// logUnderTest is a transparency log with the trust files that point at it.
type logUnderTest struct {
	name          string
	url           string
	trustedRoot   string // lists this log
	signingConfig string // sends signatures to this log
}

var (
	rekorTilesLog server[*logUnderTest]
	signetLog     server[*logUnderTest]
)

func splitPort(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// startRekorTiles runs rekor-tiles v2's POSIX server with a fresh Ed25519
// key, and writes a trusted root and signing config for it with signet.
func startRekorTiles() (*logUnderTest, error) {
	dir := filepath.Join(stateDir, "rekor-tiles")
	if err := os.MkdirAll(filepath.Join(dir, "storage"), 0o700); err != nil {
		return nil, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	keyPath := filepath.Join(dir, "ed25519.pem")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(pub)
	pubPath := filepath.Join(dir, "ed25519.pub")
	if err := os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return nil, err
	}
	var addrs [3]string
	for i := range addrs {
		if addrs[i], err = freeAddr(); err != nil {
			return nil, err
		}
	}
	if _, err := startProcess("rekor-tiles", tool("rekor-tiles", rekorTilesVersion), "serve",
		"--http-address=127.0.0.1", "--http-port="+splitPort(addrs[0]),
		"--grpc-address=127.0.0.1", "--grpc-port="+splitPort(addrs[1]),
		"--http-metrics-port="+splitPort(addrs[2]),
		"--hostname=127.0.0.1", "--storage-dir="+filepath.Join(dir, "storage"),
		"--signer-filepath="+keyPath, "--checkpoint-interval=1s", "--batch-max-age=100ms"); err != nil {
		return nil, err
	}
	url := "http://" + addrs[0]
	if err := waitHTTP(url+"/healthz", 200, 404, 405); err != nil {
		return nil, err
	}
	l := &logUnderTest{name: "rekor-tiles", url: url,
		trustedRoot: filepath.Join(dir, "trusted_root.json"), signingConfig: filepath.Join(dir, "signing_config.json")}
	r, err := execCLI(toolEnv(), tool("signet", ""), "trust", "create", "--rekor", "url="+url+",public-key="+pubPath+",api-version=2",
		"--out", l.trustedRoot, "--signing-config-out", l.signingConfig)
	if err != nil || r.code != 0 {
		return nil, fmt.Errorf("signet trust create: %v %s", err, r)
	}
	return l, nil
}

// startSignetLog runs `signet log serve` with its own SIGNET_HOME and uses
// the trust files it writes there.
func startSignetLog() (*logUnderTest, error) {
	home := filepath.Join(stateDir, "signet-log-home")
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if _, err := startProcessEnv("signet-log", toolEnv("SIGNET_HOME="+home), tool("signet", ""), "log", "serve", "--addr", addr); err != nil {
		return nil, err
	}
	l := &logUnderTest{name: "signet-log", url: "http://" + addr,
		trustedRoot: filepath.Join(home, "trusted_root.json"), signingConfig: filepath.Join(home, "signing_config.json")}
	if err := waitHTTP(l.url+"/healthz", 200); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(l.signingConfig); err == nil {
			return l, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("signet log serve wrote no signing config in %s", home)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTransparencyLogInterop(t *testing.T) {
	k := keys(t)
	reg := matrixRegistries(t)[0] // the distribution registry
	logs := []*logUnderTest{
		rekorTilesLog.get(t, startRekorTiles),
		signetLog.get(t, startSignetLog),
	}
	logCell := func(name string, fn func(t *testing.T, l *logUnderTest, repo string)) {
		t.Run(name, func(t *testing.T) {
			for _, l := range logs {
				t.Run(l.name, func(t *testing.T) {
					defer func() { record(name, l.name, !t.Failed()) }()
					fn(t, l, "org/tlog/"+slug(name+"-"+l.name))
				})
			}
		})
	}

	logCell("tlog: signet sign -> signet verify --tlog required (offline)", func(t *testing.T, l *logUnderTest, repo string) {
		d := pushImage(t, reg.host, repo+":v1")
		expect(t, "signet sign", signet(t, "sign", "--key", k.signetKey, "--signing-config", l.signingConfig, d.String()), exitOK, "logged at index")
		expect(t, "signet verify", signet(t, "verify", "--key", k.signetPub, "--trusted-root", l.trustedRoot, "--tlog", "required", d.String()),
			exitOK, "proof verified offline", l.url)
	})

	logCell("tlog: cosign v3 sign -> signet verify --tlog required", func(t *testing.T, l *logUnderTest, repo string) {
		d := pushImage(t, reg.host, repo+":v1")
		expect(t, "cosign v3 sign", cosign(t, cosignV3Version, "sign", "--yes", "--key", k.cosignKey, "--signing-config", l.signingConfig,
			"--trusted-root", l.trustedRoot, "--allow-http-registry", d.String()), 0)
		expect(t, "signet verify", signet(t, "verify", "--key", k.cosignPub, "--trusted-root", l.trustedRoot, "--tlog", "required", d.String()),
			exitOK, "proof verified offline")
	})

	logCell("tlog: signet sign -> cosign v3 verify (log checked)", func(t *testing.T, l *logUnderTest, repo string) {
		d := pushImage(t, reg.host, repo+":v1")
		expect(t, "signet sign", signet(t, "sign", "--key", k.signetKey, "--tlog-url", l.url, d.String()), exitOK, "logged at index")
		r := cosign(t, cosignV3Version, "verify", "--key", k.signetPub, "--trusted-root", l.trustedRoot, "--allow-http-registry", d.String())
		expect(t, "cosign v3 verify", r, 0)
		if strings.Contains(r.err, "Skipping tlog verification") {
			t.Fatalf("cosign skipped the log check:\n%s", r)
		}
	})

	logCell("tlog: entry from a log not in the trusted root -> exit 4", func(t *testing.T, l *logUnderTest, repo string) {
		d := pushImage(t, reg.host, repo+":v1")
		expect(t, "signet sign", signet(t, "sign", "--key", k.signetKey, "--tlog-url", l.url, d.String()), exitOK)
		other := logs[0]
		if other == l {
			other = logs[1]
		}
		expect(t, "signet verify with the other log's root", signet(t, "verify", "--key", k.signetPub, "--trusted-root", other.trustedRoot,
			"--tlog", "required", d.String()), exitInvalid, "none of the bundle's 1 entries is from a trusted log")
	})
}
