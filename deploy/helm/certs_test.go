package helm

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/signet-dev/signet/admission"
)

// checkCABundle: both webhooks carry the generated CA, the serving
// certificate chains to it for the Service's name, and the webhook's own
// loader accepts the pair.
func checkCABundle(t *testing.T, r *rendered, mutBundle, valBundle []byte) {
	t.Helper()
	if len(mutBundle) == 0 || !bytes.Equal(mutBundle, valBundle) {
		t.Fatalf("the webhooks' caBundle must be the generated CA, the same on both: %q, %q", mutBundle, valBundle)
	}
	var tlsSecret, caSecret corev1.Secret
	r.objs.named(t, "Secret", r.dep.Name+"-tls", &tlsSecret)
	r.objs.named(t, "Secret", r.dep.Name+"-ca", &caSecret)
	if !bytes.Equal(tlsSecret.Data["ca.crt"], mutBundle) || !bytes.Equal(caSecret.Data["tls.crt"], mutBundle) {
		t.Error("the caBundle is not the CA in the Secrets")
	}
	ca := parseCert(t, mutBundle)
	if !ca.IsCA {
		t.Error("the caBundle is not a CA certificate")
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	leaf := parseCert(t, tlsSecret.Data["tls.crt"])
	for _, name := range []string{r.host(), r.host() + ".cluster.local"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("the serving certificate does not verify for %s against the caBundle: %v", name, err)
		}
	}
	dir := t.TempDir()
	for _, f := range []string{"tls.crt", "tls.key"} {
		if err := os.WriteFile(filepath.Join(dir, f), tlsSecret.Data[f], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admission.NewCertReloader(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), nil); err != nil {
		t.Errorf("the webhook refuses the generated pair: %v", err)
	}
}

func parseCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", data[:min(len(data), 60)])
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkCertManager: the example's cert-manager objects, the pods mount
// the Certificate's Secret, and the cainjector fills both caBundles.
func checkCertManager(t *testing.T, r *rendered) {
	if n := len(r.objs.ofKind("Secret")); n != 0 {
		t.Errorf("with cert-manager the chart must generate no certificate; it rendered %d Secrets", n)
	}
	// With release signet in signet-system the names are the example's, so
	// the whole objects compare.
	ex := example(t, "cert-manager.yaml")
	for _, e := range ex {
		got := r.objs.named(t, e.Kind, e.Name, nil)
		if jsonOf(got.Map["spec"]) != jsonOf(e.Map["spec"]) {
			t.Errorf("%s %s differs from examples/kubernetes/cert-manager.yaml:\n chart:   %s\n example: %s", e.Kind, e.Name, jsonOf(got.Map["spec"]), jsonOf(e.Map["spec"]))
		}
	}
	if n := len(r.objs.ofKind("Certificate")) + len(r.objs.ofKind("Issuer")); n != len(ex) {
		t.Errorf("the chart renders %d cert-manager objects, the example %d", n, len(ex))
	}
	serving := r.objs.named(t, "Certificate", r.dep.Name, nil)
	spec := serving.Map["spec"].(map[string]any)
	var tlsVolume string
	for _, v := range r.dep.Spec.Template.Spec.Volumes {
		if v.Name == "tls" {
			tlsVolume = v.Secret.SecretName
		}
	}
	if spec["secretName"] != tlsVolume {
		t.Errorf("the pods mount Secret %s, the Certificate writes %v", tlsVolume, spec["secretName"])
	}
	if dns, _ := spec["dnsNames"].([]any); !slices.Contains(dns, any(r.host())) {
		t.Errorf("the Certificate is for %v, not the Service %s", dns, r.host())
	}
	mut, val := chartWebhooks(t, r)
	want := r.rel.namespace + "/" + serving.Name
	for _, o := range []struct {
		ann    map[string]string
		bundle []byte
	}{{mut.Annotations, mut.Webhooks[0].ClientConfig.CABundle}, {val.Annotations, val.Webhooks[0].ClientConfig.CABundle}} {
		if o.ann["cert-manager.io/inject-ca-from"] != want || len(o.bundle) != 0 {
			t.Errorf("a webhook configuration has inject-ca-from %q and caBundle %q; want %q and none (the cainjector writes it)", o.ann["cert-manager.io/inject-ca-from"], o.bundle, want)
		}
	}
}

// checkOutOfCluster: with webhook.url the chart runs nothing, and the
// webhooks call the URL with the CA given.
func checkOutOfCluster(base, caPEM string, policyResources bool) func(*testing.T, *rendered) {
	return func(t *testing.T, r *rendered) {
		for _, k := range []string{"Deployment", "Service", "Secret", "ConfigMap", "PodDisruptionBudget", "Certificate", "ServiceMonitor"} {
			if n := len(r.objs.ofKind(k)); n != 0 {
				t.Errorf("with webhook.url the chart must not run the webhook; it rendered %d %s", n, k)
			}
		}
		mut, val := chartWebhooks(t, r)
		want := map[string]string{"mutate.signet.dev": "/mutate", "validate.signet.dev": "/validate"}
		if policyResources {
			want["validate-policy.signet.dev"] = "/validate-policy"
		}
		got := map[string]string{}
		check := func(name string, cc any) {
			var c struct {
				URL      *string
				Service  any
				CABundle []byte
			}
			strict(t, []byte(jsonOf(cc)), &c)
			if c.Service != nil || c.URL == nil || strings.TrimSpace(string(c.CABundle)) != strings.TrimSpace(caPEM) {
				t.Errorf("%s: clientConfig %s; want a URL and the given CA, no Service", name, jsonOf(cc))
				return
			}
			got[name] = strings.TrimPrefix(*c.URL, base)
		}
		check(mut.Webhooks[0].Name, mut.Webhooks[0].ClientConfig)
		for _, w := range val.Webhooks {
			check(w.Name, w.ClientConfig)
		}
		if jsonOf(got) != jsonOf(want) {
			t.Errorf("the webhooks call %v (after %s); want %v", got, base, want)
		}
	}
}

// checkServiceMonitor: Prometheus scrapes the Service's https port and
// checks the certificate against the CA in the serving Secret.
func checkServiceMonitor(t *testing.T, r *rendered) {
	sm := r.objs.one(t, "ServiceMonitor", nil)
	var svc corev1.Service
	r.objs.one(t, "Service", &svc)
	var spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		Endpoints []struct {
			Port, Scheme, Path, Interval, ScrapeTimeout string
			TLSConfig                                   struct {
				ServerName string `json:"serverName"`
				CA         struct {
					Secret struct{ Name, Key string } `json:"secret"`
				} `json:"ca"`
			} `json:"tlsConfig"`
		} `json:"endpoints"`
	}
	strict(t, []byte(jsonOf(sm.Map["spec"])), &spec)
	if !selects(spec.Selector.MatchLabels, svc.Labels) || !slices.Equal(spec.NamespaceSelector.MatchNames, []string{r.rel.namespace}) {
		t.Errorf("the ServiceMonitor selects %v in %v, not the Service (labels %v)", spec.Selector.MatchLabels, spec.NamespaceSelector.MatchNames, svc.Labels)
	}
	if len(spec.Endpoints) != 1 {
		t.Fatalf("want one endpoint, got %d", len(spec.Endpoints))
	}
	e := spec.Endpoints[0]
	if e.Port != svc.Spec.Ports[0].Name || e.Scheme != "https" || e.Path != "/metrics" {
		t.Errorf("the endpoint scrapes %s://:%s%s; want https on the Service's %s port, /metrics", e.Scheme, e.Port, e.Path, svc.Spec.Ports[0].Name)
	}
	if e.TLSConfig.CA.Secret.Name != r.dep.Name+"-tls" || e.TLSConfig.CA.Secret.Key != "ca.crt" || e.TLSConfig.ServerName != r.host() {
		t.Errorf("the endpoint's tlsConfig %+v must check the certificate against ca.crt of %s-tls for %s", e.TLSConfig, r.dep.Name, r.host())
	}
}
