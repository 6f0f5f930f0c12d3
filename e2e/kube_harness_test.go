//go:build e2e

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Pinned control-plane versions; e2e/kube-tools.sh builds them into the
// tools cache ($SIGNET_KUBE_TOOLS/NAME-VERSION/NAME). TestKubeToolVersions
// keeps these equal to the script's.
const (
	kubeVersion = "v1.37.2"
	etcdVersion = "v3.7.3"
	helmVersion = "v4.3.2"
)

// kubeTool returns the path of a control-plane binary built by e2e/kube-tools.sh.
func kubeTool(t *testing.T, name, version string) string {
	t.Helper()
	dir := os.Getenv("SIGNET_KUBE_TOOLS")
	if dir == "" {
		t.Fatal("SIGNET_KUBE_TOOLS is not set; run `make e2e`, which builds the control plane with e2e/kube-tools.sh")
	}
	bin := filepath.Join(dir, name+"-"+version, name)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s %s is not built (%v); run e2e/kube-tools.sh", name, version, err)
	}
	return bin
}

// cluster is a real control plane: etcd and kube-apiserver on 127.0.0.1,
// with no nodes (admission runs when an object is created; nothing is
// scheduled). Started once and shared by the Kubernetes tests.
type cluster struct {
	server     string // https://127.0.0.1:PORT
	kubeconfig string
	auditLog   string
	kubectlBin string
}

var controlPlane server[*cluster]

func kube(t *testing.T) *cluster {
	t.Helper()
	kubectl := kubeTool(t, "kubectl", kubeVersion)
	apiserver := kubeTool(t, "kube-apiserver", kubeVersion)
	etcd := kubeTool(t, "etcd", etcdVersion)
	return controlPlane.get(t, func() (*cluster, error) { return startCluster(apiserver, etcd, kubectl) })
}

// auditPolicy records every request to the kinds the webhook judges at the
// Metadata level, where the webhooks' audit annotations appear.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    resources:
      - group: ""
        resources: [pods]
      - group: apps
        resources: [deployments]
  - level: None
`

func startCluster(apiserver, etcd, kubectl string) (*cluster, error) {
	start := time.Now()
	dir := filepath.Join(stateDir, "kube")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	clientAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	peerAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if _, err := startProcess("etcd", etcd, "--name", "e2e", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", "http://"+clientAddr, "--advertise-client-urls", "http://"+clientAddr,
		"--listen-peer-urls", "http://"+peerAddr, "--initial-advertise-peer-urls", "http://"+peerAddr,
		"--initial-cluster", "e2e=http://"+peerAddr, "--unsafe-no-fsync", "--log-level", "warn"); err != nil {
		return nil, err
	}
	if err := waitHTTP("http://"+clientAddr+"/health", 200); err != nil {
		return nil, fmt.Errorf("etcd: %w (log: %s)", err, filepath.Join(stateDir, "etcd.log"))
	}

	// The service-account signing key the API server insists on, and a
	// static admin token.
	sa, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	saPub, _ := x509.MarshalPKIXPublicKey(&sa.PublicKey)
	token := randomHex(16)
	files := map[string][]byte{
		"sa.key":     pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(sa)}),
		"sa.pub":     pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub}),
		"tokens.csv": []byte(token + ",admin,admin,system:masters\n"),
		"audit.yaml": []byte(auditPolicy),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c := &cluster{server: fmt.Sprintf("https://127.0.0.1:%d", port), auditLog: filepath.Join(dir, "audit.log"), kubectlBin: kubectl}
	if _, err := startProcess("kube-apiserver", apiserver,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", port),
		"--cert-dir="+filepath.Join(dir, "certs"), "--etcd-servers=http://"+clientAddr,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(dir, "sa.key"),
		"--token-auth-file="+filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC", "--disable-admission-plugins=ServiceAccount",
		"--endpoint-reconciler-type=none",
		"--audit-policy-file="+filepath.Join(dir, "audit.yaml"), "--audit-log-path="+c.auditLog,
		"--audit-log-mode=blocking",
	); err != nil {
		return nil, err
	}
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
  - name: e2e
    cluster:
      server: %s
      insecure-skip-tls-verify: true
users:
  - name: admin
    user:
      token: %s
contexts:
  - name: e2e
    context: {cluster: e2e, user: admin}
current-context: e2e
`, c.server, token)
	c.kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(c.kubeconfig, []byte(kubeconfig), 0o600); err != nil {
		return nil, err
	}
	if err := waitReady(c.server+"/readyz", token, 90*time.Second); err != nil {
		return nil, fmt.Errorf("kube-apiserver: %w (log: %s)", err, filepath.Join(stateDir, "kube-apiserver.log"))
	}
	fmt.Fprintf(os.Stderr, "e2e: kube-apiserver %s and etcd %s ready at %s in %s\n", kubeVersion, etcdVersion, c.server, time.Since(start).Round(100*time.Millisecond))
	return c, nil
}

// waitReady polls the API server's /readyz until it says ok.
func waitReady(url, token string, limit time.Duration) error {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(limit)
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready within %s (last: %s)", url, limit, last)
}

// kubectl runs the real kubectl against the cluster.
func (c *cluster) kubectl(t *testing.T, args ...string) result {
	t.Helper()
	return runCLI(t, toolEnv("KUBECONFIG="+c.kubeconfig), c.kubectlBin, args...)
}

// apply applies a manifest given as text.
func (c *cluster) apply(t *testing.T, manifest string, extra ...string) result {
	t.Helper()
	f, err := os.CreateTemp(stateDir, "manifest-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(manifest)
	f.Close()
	return c.kubectl(t, append([]string{"apply", "-f", f.Name()}, extra...)...)
}

func freePort() (int, error) {
	addr, err := freeAddr()
	if err != nil {
		return 0, err
	}
	_, p, _ := net.SplitHostPort(addr)
	var port int
	fmt.Sscan(p, &port)
	return port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// webhookCerts makes a CA and a serving certificate for 127.0.0.1 signed by
// it, as examples/kubernetes/gen-certs.sh does for the Service's name.
// It returns the CA (PEM) and the certificate and key files.
func webhookCerts(dir string) (caPEM []byte, certFile, keyFile string, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", "", err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "signet-e2e-webhook-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, "", "", err
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, "", "", err
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, "", "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, "", "", err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), certFile, keyFile, nil
}

// auditLines returns the lines of the API server's audit log (one JSON
// event each) that contain every string given.
func (c *cluster) auditLines(t *testing.T, contains ...string) []string {
	t.Helper()
	b, err := os.ReadFile(c.auditLog)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		ok := line != ""
		for _, c := range contains {
			ok = ok && strings.Contains(line, c)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}
