package helm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/policy"
)

// checkDefaults: the default values render the example's deployment.
func checkDefaults(t *testing.T, r *rendered) {
	want := map[string]int{"ServiceAccount": 1, "Secret": 2, "ConfigMap": 1, "Service": 1, "Deployment": 1,
		"PodDisruptionBudget": 1, "MutatingWebhookConfiguration": 1, "ValidatingWebhookConfiguration": 1}
	if jsonOf(r.objs.kinds()) != jsonOf(want) {
		t.Errorf("the defaults render %v; want %v (no RBAC, no cert-manager, no ServiceMonitor)", r.objs.kinds(), want)
	}
	// The webhooks are the example's, all of them, but for the caBundle
	// (generated here, filled in by a script there).
	exMut, exVal := exampleWebhooks(t)
	mut, val := chartWebhooks(t, r)
	if len(val.Webhooks) != 1 {
		t.Errorf("with policySource file there is one validating webhook, got %d", len(val.Webhooks))
	}
	checkCABundle(t, r, mut.Webhooks[0].ClientConfig.CABundle, val.Webhooks[0].ClientConfig.CABundle)
	mut.Webhooks[0].ClientConfig.CABundle, val.Webhooks[0].ClientConfig.CABundle = nil, nil
	exMut.ClientConfig.CABundle, exVal.ClientConfig.CABundle = nil, nil
	if jsonOf(mut.Webhooks[0]) != jsonOf(exMut) || jsonOf(val.Webhooks[0]) != jsonOf(exVal) {
		t.Errorf("the webhooks differ from examples/kubernetes/webhooks.yaml:\n chart:   %s\n          %s\n example: %s\n          %s",
			jsonOf(mut.Webhooks[0]), jsonOf(val.Webhooks[0]), jsonOf(exMut), jsonOf(exVal))
	}

	// The example's deployment: replicas, resources, arguments (the chart
	// adds flags the example leaves at their defaults), disruption budget.
	var ex appsv1.Deployment
	example(t, "deployment.yaml").one(t, "Deployment", &ex)
	c, exC := r.dep.Spec.Template.Spec.Containers[0], ex.Spec.Template.Spec.Containers[0]
	if *r.dep.Spec.Replicas != *ex.Spec.Replicas || jsonOf(c.Resources) != jsonOf(exC.Resources) {
		t.Errorf("replicas %d, resources %s; the example has %d, %s", *r.dep.Spec.Replicas, jsonOf(c.Resources), *ex.Spec.Replicas, jsonOf(exC.Resources))
	}
	for _, a := range exC.Args {
		if !slices.Contains(c.Args, a) {
			t.Errorf("the example passes %s, the chart does not (it passes %v)", a, c.Args)
		}
	}
	var pdb, exPDB policyv1.PodDisruptionBudget
	r.objs.one(t, "PodDisruptionBudget", &pdb)
	example(t, "deployment.yaml").one(t, "PodDisruptionBudget", &exPDB)
	if jsonOf(pdb.Spec.MinAvailable) != jsonOf(exPDB.Spec.MinAvailable) || !selects(pdb.Spec.Selector.MatchLabels, r.dep.Spec.Template.Labels) {
		t.Errorf("the PodDisruptionBudget %s must keep %s webhook pod(s)", jsonOf(pdb.Spec), jsonOf(exPDB.Spec.MinAvailable))
	}

	// The Service routes port 443 to the pods' https port.
	var svc corev1.Service
	r.objs.one(t, "Service", &svc)
	if !selects(svc.Spec.Selector, r.dep.Spec.Template.Labels) || svc.Spec.Ports[0].Port != 443 || svc.Spec.Ports[0].TargetPort.StrVal != c.Ports[0].Name {
		t.Errorf("the Service %s does not route 443 to the webhook pods' %s port", jsonOf(svc.Spec), c.Ports[0].Name)
	}
	if mut.Webhooks[0].ClientConfig.Service.Name != svc.Name {
		t.Errorf("the webhooks call Service %s, the chart's Service is %s", mut.Webhooks[0].ClientConfig.Service.Name, svc.Name)
	}

	// The default policy compiles and trusts no key: it denies what no
	// rule names and has no signer anyone could sign as.
	var cm corev1.ConfigMap
	r.objs.one(t, "ConfigMap", &cm)
	c2 := compilePolicy(t, cm)
	if c2.DefaultAllow {
		t.Error("the default policy must deny images no rule names")
	}
	if doc := cm.Data["policy.yaml"]; strings.Contains(doc, "signers") || strings.Contains(doc, "key:") {
		t.Errorf("the default policy must trust no key; it says:\n%s", doc)
	}
}

// compilePolicy writes the ConfigMap out as its volume would be and
// compiles the policy as the webhook does.
func compilePolicy(t *testing.T, cm corev1.ConfigMap) *policy.Compiled {
	t.Helper()
	dir := t.TempDir()
	for k, v := range cm.Data {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := policy.Load(filepath.Join(dir, "policy.yaml"), keys.Loader{})
	if err != nil {
		t.Fatalf("the ConfigMap's policy does not compile: %v", err)
	}
	return c
}

// checkPolicyFiles: the files a document names sit next to it.
func checkPolicyFiles(t *testing.T, r *rendered) {
	var cm corev1.ConfigMap
	r.objs.one(t, "ConfigMap", &cm)
	if _, ok := cm.Data["release.pub"]; !ok {
		t.Fatalf("policy.files did not reach the ConfigMap: %v", cm.Data)
	}
	if c := compilePolicy(t, cm); len(c.Rules) != 1 {
		t.Errorf("want the one rule of the document, got %d", len(c.Rules))
	}
}

// checkNetworkPolicy: only the webhook port, for the webhook pods.
func checkNetworkPolicy(t *testing.T, r *rendered) {
	var np networkingv1.NetworkPolicy
	r.objs.one(t, "NetworkPolicy", &np)
	if !selects(np.Spec.PodSelector.MatchLabels, r.dep.Spec.Template.Labels) {
		t.Errorf("the NetworkPolicy selects %v, not the webhook pods", np.Spec.PodSelector.MatchLabels)
	}
	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].Ports) != 1 || np.Spec.Ingress[0].Ports[0].Port.IntValue() != 8443 {
		t.Errorf("the NetworkPolicy must admit the webhook port 8443 only: %s", jsonOf(np.Spec.Ingress))
	}
}

// checkOverrides: the values that change the webhooks' behaviour reach them.
func checkOverrides(t *testing.T, r *rendered) {
	mut, val := chartWebhooks(t, r)
	want := []string{"kube-system", "monitoring", "security"}
	for _, sel := range []*metav1.LabelSelector{mut.Webhooks[0].NamespaceSelector, val.Webhooks[0].NamespaceSelector} {
		if jsonOf(exempted(sel)) != jsonOf(want) {
			t.Errorf("exempt namespaces %v; want %v (the values' and the release namespace)", exempted(sel), want)
		}
	}
	if got := mut.Webhooks[0].ClientConfig.Service; got.Name != "gate-signet-webhook" || got.Namespace != "security" {
		t.Errorf("the webhooks call %s/%s; want security/gate-signet-webhook", got.Namespace, got.Name)
	}
	c := r.dep.Spec.Template.Spec.Containers[0]
	for _, a := range []string{"--failure-mode=receipt", "--budget=12s", "--tlog=required"} {
		if !slices.Contains(c.Args, a) {
			t.Errorf("args %v lack %s", c.Args, a)
		}
	}
	if want := "registry.example.com/platform/signet:v0.1.0@sha256:" + strings.Repeat("ab", 32); c.Image != want {
		t.Errorf("image %s; want %s", c.Image, want)
	}
	if n := len(r.objs.ofKind("PodDisruptionBudget")); n != 0 {
		t.Errorf("with one replica a PodDisruptionBudget would block every drain; got %d", n)
	}
}

// testCAPEM makes a CA certificate, as a user's own CA for webhook.url.
func testCAPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"}, IsCA: true,
		BasicConstraintsValid: true, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// testKeyPEM makes a public key for a policy file.
func testKeyPEM(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
