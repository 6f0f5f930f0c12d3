package admission_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the serial.
func writeCert(t *testing.T, certFile, keyFile string, serial int64) {
	t.Helper()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "signet-webhook"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(priv)
	// Key first, then certificate: a reader between the writes sees a
	// mismatched pair, which the reloader must survive.
	writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	writeFile(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond for up to 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// server is a running Serve over a signed image and a policy directory.
type server struct {
	t                    *testing.T
	w                    *admission.Webhook
	base, image, dir     string
	polFile, doc         string
	certFile, keyFile    string
	releasePub, otherPub []byte
	hc                   *http.Client
}

func startServer(t *testing.T, every time.Duration) *server {
	reg := registrytest.New(t, true)
	sv := &server{t: t, dir: t.TempDir()}
	release, _ := keys.Generate(keys.ECDSAP256)
	other, _ := keys.Generate(keys.ECDSAP256)
	sv.releasePub, _ = keys.PublicKeyPEM(release.Public())
	sv.otherPub, _ = keys.PublicKeyPEM(other.Public())
	signer, _ := keys.SignerVerifier(release)
	s, _ := sign.New(signer, oci.New())
	d := reg.PushImage(t, "team/app:v1")
	if _, err := s.SignImage(context.Background(), d.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	sv.image = reg.Host + "/team/app:v1"
	sv.polFile = filepath.Join(sv.dir, "policy.yaml")
	sv.doc = fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    signers: [{name: release, key: release.pub}]\n", reg.Host+"/team/**")
	writeFile(t, filepath.Join(sv.dir, "release.pub"), sv.releasePub)
	writeFile(t, sv.polFile, []byte(sv.doc))
	sv.certFile, sv.keyFile = filepath.Join(t.TempDir(), "tls.crt"), filepath.Join(t.TempDir(), "tls.key")
	writeCert(t, sv.certFile, sv.keyFile, 1)

	stats := &verify.EngineStats{}
	m := admission.NewMetrics(stats)
	client := oci.New(oci.WithTransport(m.Transport(http.DefaultTransport)))
	load := func() (admission.Decider, error) {
		c, err := policy.Load(sv.polFile, keys.Loader{})
		if err != nil {
			return nil, err
		}
		return verify.NewEngine(client, c, verify.WithCache(100, time.Hour, time.Hour), verify.WithStats(stats))
	}
	eng, err := load()
	if err != nil {
		t.Fatal(err)
	}
	sv.w = admission.New(eng, admission.WithMetrics(m))
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- admission.Serve(ctx, admission.ServerConfig{Addr: "127.0.0.1:0", CertFile: sv.certFile, KeyFile: sv.keyFile, Webhook: sv.w,
			Load: load, Watch: []string{sv.dir}, WatchEvery: every, Listening: func(a net.Addr) { addrc <- a }})
	}()
	select {
	case a := <-addrc:
		sv.base = "https://" + a.String()
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	// A fresh connection each time, so certificate rotation is seen.
	sv.hc = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
	return sv
}

func (sv *server) get(path string) (int, string) {
	resp, err := sv.hc.Get(sv.base + path)
	if err != nil {
		sv.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (sv *server) allowed() bool {
	resp, err := sv.hc.Post(sv.base+"/validate", "application/json", strings.NewReader(string(review("Pod", workload("Pod", sv.image)))))
	if err != nil {
		sv.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), `"allowed":true`)
}

func (sv *server) serial() int64 {
	conn, err := tls.Dial("tcp", strings.TrimPrefix(sv.base, "https://"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		sv.t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// TestServe runs the HTTPS server: reviews, /readyz, /metrics, a policy
// reload on a key file change (which must drop cached passes), a broken
// policy that keeps the running one, and a certificate rotated under it.
func TestServe(t *testing.T) {
	sv := startServer(t, 50*time.Millisecond)
	if code, _ := sv.get("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d", code)
	}
	if !sv.allowed() || !sv.allowed() {
		t.Fatal("signed image denied")
	}
	_, metrics := sv.get("/metrics")
	for _, want := range []string{
		`signet_admission_requests_total{result="allowed",webhook="validate"} 2`,
		`signet_admission_decisions_total{class="",outcome="allowed"} 2`,
		`signet_verify_cache_hits_total 1`,
		`signet_verify_verifications_total 1`,
		`signet_registry_requests_total{code="200",method="GET"}`,
		`signet_admission_request_duration_seconds_bucket{webhook="validate",le="0.001"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// The key file now holds another key; the policy text is unchanged, so
	// only a reload that drops the cache notices the pass is stale.
	writeFile(t, filepath.Join(sv.dir, "release.pub"), sv.otherPub)
	eventually(t, "the reload to deny the image", func() bool { return !sv.allowed() })

	// A policy that does not load is refused; the running one stays.
	writeFile(t, sv.polFile, []byte("kind: Nonsense\n"))
	eventually(t, "a failed reload", func() bool {
		_, m := sv.get("/metrics")
		return strings.Contains(m, `signet_admission_policy_reloads_total{result="error"} 1`)
	})
	if sv.allowed() {
		t.Fatal("the broken reload changed the verdict")
	}

	// Rotate the certificate; new connections get the new one.
	if got := sv.serial(); got != 1 {
		t.Fatalf("serial %d", got)
	}
	writeCert(t, sv.certFile, sv.keyFile, 2)
	eventually(t, "the rotated certificate", func() bool { return sv.serial() == 2 })

	sv.w.SetReady(false)
	if code, _ := sv.get("/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz after SetReady(false) = %d", code)
	}
}

// TestServeSIGHUP: with file watching effectively off, a changed key is not
// noticed (the cached pass stands) until SIGHUP reloads the policy.
func TestServeSIGHUP(t *testing.T) {
	sv := startServer(t, time.Hour)
	if !sv.allowed() {
		t.Fatal("signed image denied")
	}
	writeFile(t, filepath.Join(sv.dir, "release.pub"), sv.otherPub)
	if !sv.allowed() {
		t.Fatal("reloaded without a trigger")
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	eventually(t, "the SIGHUP reload to deny the image", func() bool { return !sv.allowed() })
}
