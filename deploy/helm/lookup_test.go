package helm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
)

// fakeAPI is just enough of a Kubernetes API server for helm template
// --dry-run=server: discovery for the kinds the chart renders, and GET of
// the Secrets it holds (what lookup reads); anything else is not found.
type fakeAPI struct {
	mu      sync.Mutex
	secrets map[string]corev1.Secret // by namespace/name
}

var fakeKinds = map[string][][3]string{ // group version: resource, kind, namespaced
	"v1":                              {{"secrets", "Secret", "true"}, {"serviceaccounts", "ServiceAccount", "true"}, {"configmaps", "ConfigMap", "true"}, {"services", "Service", "true"}},
	"apps/v1":                         {{"deployments", "Deployment", "true"}},
	"policy/v1":                       {{"poddisruptionbudgets", "PodDisruptionBudget", "true"}},
	"admissionregistration.k8s.io/v1": {{"mutatingwebhookconfigurations", "MutatingWebhookConfiguration", "false"}, {"validatingwebhookconfigurations", "ValidatingWebhookConfiguration", "false"}},
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	notFound := map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}
	if r.Method != http.MethodGet {
		reply(http.StatusMethodNotAllowed, map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 405})
		return
	}
	p := r.URL.Path
	switch {
	case p == "/version":
		reply(200, map[string]string{"major": "1", "minor": "37", "gitVersion": "v1.37.2"})
	case p == "/api":
		reply(200, map[string]any{"kind": "APIVersions", "versions": []string{"v1"}, "serverAddressByClientCIDRs": []any{}})
	case p == "/apis":
		var groups []any
		for gv := range fakeKinds {
			if g, v, ok := strings.Cut(gv, "/"); ok {
				ver := map[string]string{"groupVersion": gv, "version": v}
				groups = append(groups, map[string]any{"name": g, "versions": []any{ver}, "preferredVersion": ver})
			}
		}
		reply(200, map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
	case p == "/api/v1" || (strings.HasPrefix(p, "/apis/") && strings.Count(p, "/") == 3):
		gv := strings.TrimPrefix(strings.TrimPrefix(p, "/api/"), "/apis/")
		kinds, ok := fakeKinds[gv]
		if !ok {
			reply(404, notFound)
			return
		}
		var res []any
		for _, k := range kinds {
			res = append(res, map[string]any{"name": k[0], "singularName": strings.ToLower(k[1]), "kind": k[1], "namespaced": k[2] == "true",
				"verbs": []string{"get", "list", "create", "update", "patch", "delete"}})
		}
		reply(200, map[string]any{"kind": "APIResourceList", "groupVersion": gv, "resources": res})
	default:
		var ns, name string
		if n, _ := fmt.Sscanf(strings.ReplaceAll(p, "/", " "), " api v1 namespaces %s secrets %s", &ns, &name); n == 2 {
			f.mu.Lock()
			s, ok := f.secrets[ns+"/"+name]
			f.mu.Unlock()
			if ok {
				s.APIVersion, s.Kind = "v1", "Secret"
				reply(200, s)
				return
			}
		}
		reply(404, notFound)
	}
}

// renderAgainst runs helm template --dry-run=server against the fake API,
// as helm upgrade renders: lookup sees the fake's Secrets.
func renderAgainst(t *testing.T, api *fakeAPI) objects {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters: [{name: fake, cluster: {server: %q}}]\ncontexts: [{name: fake, context: {cluster: fake, user: fake}}]\nusers: [{name: fake, user: {}}]\ncurrent-context: fake\n", srv.URL)
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := helmWith(t, kubeconfig, "template", defaultRelease.name, chartDir, "-n", defaultRelease.namespace,
		"--dry-run=server", "--disable-openapi-validation")
	if err != nil {
		t.Fatalf("helm template --dry-run=server: %v", err)
	}
	return parseObjects(t, out)
}

// certState is what a render says about the certificates.
type certState struct {
	ca, tls  corev1.Secret
	caBundle []byte
}

func certsOf(t *testing.T, objs objects) certState {
	t.Helper()
	var s certState
	objs.named(t, "Secret", "signet-webhook-ca", &s.ca)
	objs.named(t, "Secret", "signet-webhook-tls", &s.tls)
	var mut admissionregv1.MutatingWebhookConfiguration
	var val admissionregv1.ValidatingWebhookConfiguration
	objs.one(t, "MutatingWebhookConfiguration", &mut)
	objs.one(t, "ValidatingWebhookConfiguration", &val)
	if !bytes.Equal(mut.Webhooks[0].ClientConfig.CABundle, val.Webhooks[0].ClientConfig.CABundle) ||
		!bytes.Equal(mut.Webhooks[0].ClientConfig.CABundle, s.ca.Data["tls.crt"]) || !bytes.Equal(s.tls.Data["ca.crt"], s.ca.Data["tls.crt"]) {
		t.Fatal("the caBundles, the CA Secret and the serving Secret's ca.crt differ")
	}
	s.caBundle = mut.Webhooks[0].ClientConfig.CABundle
	return s
}

// installed is a rendered object as helm install leaves it: annotated
// with its release.
func installed(s corev1.Secret) corev1.Secret {
	s = *s.DeepCopy()
	s.Annotations["meta.helm.sh/release-name"] = defaultRelease.name
	s.Annotations["meta.helm.sh/release-namespace"] = defaultRelease.namespace
	return s
}

// TestChartKeepsCertificatesOnUpgrade: an upgrade (a render that can look
// up the Secrets in the cluster) keeps the generated CA and certificate
// while they are good, so the caBundle never changes under running pods;
// it re-issues the certificate from the same CA when it is due, and makes a
// new CA only when the CA itself is due or gone.
func TestChartKeepsCertificatesOnUpgrade(t *testing.T) {
	helmBinary(t)
	day := 24 * time.Hour
	expiresIn := func(d time.Duration) string { return strconv.FormatInt(time.Now().Add(d).Unix(), 10) }
	for _, c := range []struct {
		name            string
		edit            func(ca, tls *corev1.Secret) (keepCA bool)
		sameCA, sameTLS bool
	}{
		{"both valid", func(ca, tls *corev1.Secret) bool { return true }, true, true},
		{"certificate due", func(ca, tls *corev1.Secret) bool {
			tls.Annotations["signet.dev/expires"] = expiresIn(10 * day)
			return true
		}, true, false},
		{"certificate for another name", func(ca, tls *corev1.Secret) bool {
			tls.Annotations["signet.dev/dns-name"] = "other.signet-system.svc"
			return true
		}, true, false},
		{"certificate of an unknown age", func(ca, tls *corev1.Secret) bool {
			delete(tls.Annotations, "signet.dev/expires")
			return true
		}, true, false},
		{"certificate of another CA", func(ca, tls *corev1.Secret) bool {
			tls.Data["ca.crt"] = []byte(testCAPEM(t))
			return true
		}, true, false},
		{"CA due", func(ca, tls *corev1.Secret) bool {
			ca.Annotations["signet.dev/expires"] = expiresIn(10 * day)
			return true
		}, false, false},
		{"CA gone", func(ca, tls *corev1.Secret) bool { return false }, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			// An install: nothing to look up.
			api := &fakeAPI{secrets: map[string]corev1.Secret{}}
			first := certsOf(t, renderAgainst(t, api))
			// What the install left in the cluster, edited; then an upgrade.
			ca, tls := installed(first.ca), installed(first.tls)
			if c.edit(&ca, &tls) {
				api.secrets["signet-system/signet-webhook-ca"] = ca
			}
			api.secrets["signet-system/signet-webhook-tls"] = tls
			next := certsOf(t, renderAgainst(t, api))

			if got := bytes.Equal(next.caBundle, first.caBundle); got != c.sameCA {
				t.Errorf("the upgrade kept the CA: %v; want %v", got, c.sameCA)
			}
			if got := bytes.Equal(next.ca.Data["tls.key"], first.ca.Data["tls.key"]); got != c.sameCA {
				t.Errorf("the upgrade kept the CA key: %v; want %v", got, c.sameCA)
			}
			if got := bytes.Equal(next.tls.Data["tls.crt"], first.tls.Data["tls.crt"]) && bytes.Equal(next.tls.Data["tls.key"], first.tls.Data["tls.key"]); got != c.sameTLS {
				t.Errorf("the upgrade kept the serving certificate: %v; want %v", got, c.sameTLS)
			}
			if !c.sameTLS {
				exp, err := strconv.ParseInt(next.tls.Annotations["signet.dev/expires"], 10, 64)
				if err != nil || time.Until(time.Unix(exp, 0)) < 300*day || next.tls.Annotations["signet.dev/dns-name"] != "signet-webhook.signet-system.svc" {
					t.Errorf("a re-issued certificate is annotated %v; want its expiry a year on and the Service's name", next.tls.Annotations)
				}
			}
			// Whatever was kept or made, the pair chains to the caBundle.
			leaf := parseCert(t, next.tls.Data["tls.crt"])
			if err := leaf.CheckSignatureFrom(parseCert(t, next.caBundle)); err != nil {
				t.Errorf("the serving certificate is not signed by the caBundle's CA: %v", err)
			}
		})
	}
}
