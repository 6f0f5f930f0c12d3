package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPIServer answers kube-apiserver's list requests: a Deployment web
// running image and a Pod api running other, both in namespace shop.
func fakeAPIServer(t *testing.T, image, other string) string {
	t.Helper()
	container := func(img string) map[string]any {
		return map[string]any{"containers": []any{map[string]any{"name": "app", "image": img}}}
	}
	lists := map[string]map[string]any{
		"/apis/apps/v1/deployments": {"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "web", "namespace": "shop", "uid": "u1"}, "spec": map[string]any{"template": map[string]any{"spec": container(image)}}},
		"/api/v1/pods": {"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "api", "namespace": "shop", "uid": "u2"}, "spec": container(other)},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		path := strings.Replace(r.URL.Path, "/namespaces/shop", "", 1)
		items := []any{}
		if o, ok := lists[path]; ok && (path == r.URL.Path || strings.Contains(r.URL.Path, "/namespaces/shop/")) {
			items = append(items, o)
		}
		rw.Header().Set("Content-Type", "application/json")
		json.NewEncoder(rw).Encode(map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{}, "items": items})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// kubeconfig writes a kubeconfig for the API server at url.
func kubeconfig(t *testing.T, dir, url string) string {
	t.Helper()
	p := filepath.Join(dir, "kubeconfig")
	doc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: %q}}]
users: [{name: test, user: {}}]
contexts: [{name: test, context: {cluster: test, user: test}}]
current-context: test
`, url)
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFleetCheck(t *testing.T) {
	dir, reg, _, next := reviewFixture(t)
	current := filepath.Join(dir, "current.yaml")
	os.WriteFile(current, []byte("apiVersion: signet.dev/v1alpha1\nkind: Policy\ndefaultAction: allow\n"+
		"images: [{pattern: \"elsewhere.example.com/**\", signers: [{name: release, key: release.pub}]}]\n"), 0o644)
	signed, unsigned := reg.Host+"/team/app:v1", reg.Host+"/team/app:v2"
	kc := kubeconfig(t, dir, fakeAPIServer(t, signed, unsigned))

	out, stderr, code := signet(t, "fleet", "check", "--policy", next, "--against", current, "--kubeconfig", kc)
	t.Logf("signet fleet check:\n%s", out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	wantSummary := "2 workloads, 2 images: 1 would be newly denied (in 1 workload), 0 newly allowed, 0 still denied, 1 unchanged"
	if code != exitPolicyDenied || len(lines) != 4 || lines[3] != wantSummary || stderr != "" {
		t.Fatalf("exit %d, want 6 with a table and %q:\n%s\nstderr: %s", code, wantSummary, out, stderr)
	}
	for i, want := range [][]string{
		{"NAMESPACE", "WORKLOAD", "CONTAINER", "IMAGE", "TODAY", "NEW", "CHANGE", "REASON"},
		{"shop", "Pod/api", "app", unsigned, "allowed", "denied", "newly-denied", "signatures", "[not-found]:"},
		{"shop", "Deployment/web", "app", signed, "allowed", "allowed", "unchanged", "-"},
	} {
		if got := strings.Fields(lines[i]); len(got) < len(want) || strings.Join(got[:len(want)], " ") != strings.Join(want, " ") {
			t.Errorf("line %d: %q, want it to start with %q", i, lines[i], want)
		}
	}

	out, _, code = signet(t, "fleet", "check", "--policy", next, "--against", current, "--kubeconfig", kc, "-o", "json")
	var rep struct {
		Summary struct{ Workloads, Images, NewlyDenied, Unchanged int }
		Results []struct {
			Namespace, Kind, Name, Image, Change string
			New, Current                         struct{ Verdict, Reason string }
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitPolicyDenied {
		t.Fatalf("-o json: exit %d, %v:\n%s", code, err, out)
	}
	if r := rep.Results[0]; rep.Summary.NewlyDenied != 1 || r.Kind != "Pod" || r.Change != "newly-denied" || r.Current.Verdict != "allowed" ||
		!strings.Contains(r.New.Reason, "not-found") {
		t.Errorf("-o json: %+v", rep)
	}

	// The same policy on both sides denies nothing new; another namespace has nothing.
	for _, args := range [][]string{{"--against", next}, {"--against", current, "-n", "other"}} {
		if out, stderr, code := signet(t, append([]string{"fleet", "check", "--policy", next, "--kubeconfig", kc}, args...)...); code != exitOK {
			t.Errorf("%v: exit %d, want 0:\n%s%s", args, code, out, stderr)
		}
	}
	// Without --against, a denial under the new policy gates.
	if out, _, code := signet(t, "fleet", "check", "--policy", next, "--kubeconfig", kc); code != exitPolicyDenied ||
		!strings.Contains(out, "1 denied under the new policy (in 1 workload), 1 allowed") {
		t.Errorf("without --against: exit %d, want 6:\n%s", code, out)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// selfSigned writes a TLS key pair for 127.0.0.1.
func selfSigned(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(priv)
	cert, key = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return cert, key
}

// TestAdmissionServeBackgroundAudit: the webhook audits the cluster under
// its own policy at start: a log line for the failing workload, counts in
// /metrics without a namespace or image name.
func TestAdmissionServeBackgroundAudit(t *testing.T) {
	dir, reg, _, pol := reviewFixture(t)
	unsigned := reg.Host + "/team/app:v2"
	kc := kubeconfig(t, dir, fakeAPIServer(t, reg.Host+"/team/app:v1", unsigned))
	cert, key := selfSigned(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"admission", "serve", "--policy", pol, "--tls-cert", cert, "--tls-key", key, "--addr", "127.0.0.1:0",
			"--background-audit", "1h", "--kubeconfig", kc}, strings.NewReader(""), io.Discard, &stderr)
	}()
	var failing map[string]any
	var addr string
	for deadline := time.Now().Add(20 * time.Second); failing == nil || addr == ""; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no audit line and address in the log:\n%s", stderr.String())
		}
		for _, line := range strings.Split(stderr.String(), "\n") {
			if a, ok := strings.CutPrefix(line, "Admission webhook on https://"); ok {
				addr = strings.Fields(a)[0]
			}
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "audit: workload would be denied" {
				failing = m
			}
		}
	}
	if failing["namespace"] != "shop" || failing["kind"] != "Pod" || failing["name"] != "api" || failing["image"] != unsigned ||
		!strings.Contains(failing["reason"].(string), "[not-found]") {
		t.Errorf("audit line %v: want namespace shop, Pod api, its image and the reason", failing)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	var metrics string
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(metrics, "signet_admission_audit_passes_total"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no audit metrics:\n%s", metrics)
		}
		resp, err := hc.Get("https://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		metrics = string(b)
	}
	if !strings.Contains(metrics, `signet_admission_audit_workloads{outcome="denied"} 1`) ||
		!strings.Contains(metrics, `signet_admission_audit_workloads{outcome="allowed"} 1`) {
		t.Errorf("/metrics does not count one denied and one allowed workload:\n%s", metrics)
	}
	for _, secret := range []string{"shop", "team/app"} {
		if strings.Contains(metrics, secret) {
			t.Errorf("/metrics names %q", secret)
		}
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("serve exited %d:\n%s", code, stderr.String())
	}
}
