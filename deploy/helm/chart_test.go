package helm

import (
	"encoding/base64"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var update = flag.Bool("update", false, "rewrite testdata/serve-args.json from what the chart renders")

const serveArgsFile = "testdata/serve-args.json"

// chartCase is one set of values and what its render must show, beyond
// what every render must (checkEveryRender).
type chartCase struct {
	name   string
	rel    release
	values map[string]any
	check  func(t *testing.T, r *rendered)
}

// rendered is a render with what the checks need to know of it.
type rendered struct {
	rel    release
	values map[string]any
	objs   objects
	// dep is the webhook Deployment, nil when the chart runs none.
	dep *appsv1.Deployment
}

// host is the webhook Service's DNS name.
func (r *rendered) host() string {
	return r.dep.Name + "." + r.rel.namespace + ".svc"
}

func chartCases(t *testing.T) []chartCase {
	caPEM := testCAPEM(t)
	return []chartCase{
		{name: "defaults", check: checkDefaults},
		{name: "cert-manager", values: map[string]any{"certManager": map[string]any{"enabled": true}}, check: checkCertManager},
		{name: "policy resources", values: map[string]any{"policySource": "kubernetes"}, check: checkPolicyResources(false)},
		{name: "policy resources with namespaced secrets", values: map[string]any{
			"policySource": "kubernetes", "policy": map[string]any{"namespacedSecrets": true},
		}, check: checkPolicyResources(true)},
		{name: "policy resources, key Secrets named", values: map[string]any{
			"policySource": "kubernetes", "policy": map[string]any{"keySecretNames": []string{"release-key", "qa-key"}},
		}, check: checkKeySecretNames},
		{name: "out-of-cluster webhook", values: map[string]any{
			"webhook": map[string]any{"url": "https://10.0.2.2:9443/", "caBundle": caPEM},
		}, check: checkOutOfCluster("https://10.0.2.2:9443", caPEM, false)},
		{name: "out-of-cluster webhook, policy resources", values: map[string]any{
			"policySource": "kubernetes",
			"webhook":      map[string]any{"url": "https://signet.example.net", "caBundle": base64.StdEncoding.EncodeToString([]byte(caPEM))},
		}, check: checkOutOfCluster("https://signet.example.net", caPEM, true)},
		{name: "service monitor", values: map[string]any{"serviceMonitor": map[string]any{"enabled": true}}, check: checkServiceMonitor},
		{name: "background audit", values: map[string]any{"backgroundAudit": map[string]any{"enabled": true, "interval": "30m"}}, check: checkBackgroundAudit},
		{name: "network policy", values: map[string]any{"networkPolicy": map[string]any{"enabled": true}}, check: checkNetworkPolicy},
		{name: "ignore, receipt, own namespace and exemptions, digest", rel: release{"gate", "security"}, values: map[string]any{
			"admission":    map[string]any{"failureMode": "receipt", "budget": "12s", "extraArgs": []any{"--tlog=required"}},
			"webhook":      map[string]any{"failurePolicy": "Ignore", "timeoutSeconds": 15, "exemptNamespaces": []any{"kube-system", "monitoring"}},
			"image":        map[string]any{"digest": "sha256:" + strings.Repeat("ab", 32)},
			"replicaCount": 1,
		}, check: checkOverrides},
		{name: "policy files", values: map[string]any{"policy": map[string]any{
			"document": "apiVersion: signet.dev/v1alpha1\nkind: Policy\ndefaultAction: deny\nimages:\n  - pattern: \"registry.example.com/**\"\n    signers:\n      - {name: release, key: release.pub}\n",
			"files":    map[string]any{"release.pub": string(testKeyPEM(t))},
		}}, check: checkPolicyFiles},
	}
}

// TestChart lints and renders the chart for each value set and checks the
// objects; then keeps testdata/serve-args.json equal to the arguments the
// chart passes to signet (go test ./deploy/helm -update rewrites it).
func TestChart(t *testing.T) {
	helmBinary(t)
	args := map[string][]string{}
	for _, c := range chartCases(t) {
		t.Run(c.name, func(t *testing.T) {
			if c.rel == (release{}) {
				c.rel = defaultRelease
			}
			lint(t, c.values)
			objs, err := render(t, c.rel, c.values)
			if err != nil {
				t.Fatalf("helm template: %v", err)
			}
			r := &rendered{rel: c.rel, values: c.values, objs: objs}
			if len(objs.ofKind("Deployment")) > 0 {
				r.dep = &appsv1.Deployment{}
				objs.one(t, "Deployment", r.dep)
				args[c.name] = r.dep.Spec.Template.Spec.Containers[0].Args
			}
			checkEveryRender(t, r)
			c.check(t, r)
		})
	}
	if t.Failed() {
		return
	}
	want := []byte(jsonIndent(args))
	if *update {
		if err := os.WriteFile(serveArgsFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(serveArgsFile)
	if err != nil || string(got) != string(want) {
		t.Errorf("%s is not what the chart renders (%v); run go test ./deploy/helm -update and commit it, so cmd/signet's TestHelmChartServeArgs checks the new arguments.\nrendered:\n%s", serveArgsFile, err, want)
	}
}

// checkEveryRender: what holds whatever the values.
func checkEveryRender(t *testing.T, r *rendered) {
	t.Helper()
	clusterScoped := []string{"ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}
	for _, o := range r.objs {
		if slices.Contains(clusterScoped, o.Kind) != (o.Namespace == "") || (o.Namespace != "" && o.Namespace != r.rel.namespace) {
			t.Errorf("%s %s is in namespace %q; want the release namespace %q (none for cluster-scoped kinds)", o.Kind, o.Name, o.Namespace, r.rel.namespace)
		}
	}
	checkRBAC(t, r)
	checkWebhookRules(t, r)
	if r.dep != nil {
		checkPod(t, r)
	}
}

// exampleWebhooks reads examples/kubernetes/webhooks.yaml.
func exampleWebhooks(t *testing.T) (admissionregv1.MutatingWebhook, admissionregv1.ValidatingWebhook) {
	t.Helper()
	ex := example(t, "webhooks.yaml")
	var mut admissionregv1.MutatingWebhookConfiguration
	var val admissionregv1.ValidatingWebhookConfiguration
	ex.one(t, "MutatingWebhookConfiguration", &mut)
	ex.one(t, "ValidatingWebhookConfiguration", &val)
	return mut.Webhooks[0], val.Webhooks[0]
}

// chartWebhooks returns the rendered configurations.
func chartWebhooks(t *testing.T, r *rendered) (admissionregv1.MutatingWebhookConfiguration, admissionregv1.ValidatingWebhookConfiguration) {
	t.Helper()
	var mut admissionregv1.MutatingWebhookConfiguration
	var val admissionregv1.ValidatingWebhookConfiguration
	r.objs.one(t, "MutatingWebhookConfiguration", &mut)
	r.objs.one(t, "ValidatingWebhookConfiguration", &val)
	return mut, val
}

// checkWebhookRules: whatever the values, the image webhooks have the
// example's names, rules, side effects, review versions, reinvocation and
// paths; the rest is checked against the values by each case.
func checkWebhookRules(t *testing.T, r *rendered) {
	t.Helper()
	exMut, exVal := exampleWebhooks(t)
	mut, val := chartWebhooks(t, r)
	if len(mut.Webhooks) != 1 {
		t.Fatalf("want one mutating webhook, got %d", len(mut.Webhooks))
	}
	type fixed struct {
		Name         string
		Path         string
		Rules        []admissionregv1.RuleWithOperations
		SideEffects  any
		Versions     []string
		Reinvocation any
	}
	path := func(cc admissionregv1.WebhookClientConfig) string {
		if cc.Service != nil && cc.Service.Path != nil {
			return *cc.Service.Path
		}
		if cc.URL != nil {
			if i := strings.LastIndex(*cc.URL, "/"); i >= 0 {
				return (*cc.URL)[i:]
			}
		}
		return ""
	}
	cmp := func(what string, got, want fixed) {
		if jsonOf(got) != jsonOf(want) {
			t.Errorf("%s differs from examples/kubernetes/webhooks.yaml:\n chart:   %s\n example: %s", what, jsonOf(got), jsonOf(want))
		}
	}
	m := mut.Webhooks[0]
	cmp("the mutating webhook", fixed{m.Name, path(m.ClientConfig), m.Rules, m.SideEffects, m.AdmissionReviewVersions, m.ReinvocationPolicy},
		fixed{exMut.Name, path(exMut.ClientConfig), exMut.Rules, exMut.SideEffects, exMut.AdmissionReviewVersions, exMut.ReinvocationPolicy})
	v := val.Webhooks[0]
	cmp("the validating webhook", fixed{v.Name, path(v.ClientConfig), v.Rules, v.SideEffects, v.AdmissionReviewVersions, nil},
		fixed{exVal.Name, path(exVal.ClientConfig), exVal.Rules, exVal.SideEffects, exVal.AdmissionReviewVersions, nil})

	// The settings the values choose, the same on every webhook.
	wantFail, wantTimeout := "Fail", int32(10)
	if w, ok := r.values["webhook"].(map[string]any); ok {
		if f, ok := w["failurePolicy"].(string); ok {
			wantFail = f
		}
		if s, ok := w["timeoutSeconds"].(int); ok {
			wantTimeout = int32(s)
		}
	}
	all := []struct {
		name    string
		fail    *admissionregv1.FailurePolicyType
		timeout *int32
	}{{m.Name, m.FailurePolicy, m.TimeoutSeconds}}
	for _, w := range val.Webhooks {
		all = append(all, struct {
			name    string
			fail    *admissionregv1.FailurePolicyType
			timeout *int32
		}{w.Name, w.FailurePolicy, w.TimeoutSeconds})
	}
	for _, w := range all {
		if w.fail == nil || string(*w.fail) != wantFail || w.timeout == nil || *w.timeout != wantTimeout {
			t.Errorf("%s: failurePolicy %v, timeoutSeconds %v; want %s and %d from the values", w.name, deref(w.fail), deref(w.timeout), wantFail, wantTimeout)
		}
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// exempted returns the namespaces a webhook's namespaceSelector leaves out.
func exempted(s *metav1.LabelSelector) []string {
	if s == nil || len(s.MatchLabels) > 0 || len(s.MatchExpressions) != 1 {
		return nil
	}
	e := s.MatchExpressions[0]
	if e.Key != "kubernetes.io/metadata.name" || e.Operator != metav1.LabelSelectorOpNotIn {
		return nil
	}
	return e.Values
}

// checkPod: the webhook pod is the example's — security contexts, probes,
// ports, environment — and its flags name files on its volumes.
func checkPod(t *testing.T, r *rendered) {
	t.Helper()
	var ex appsv1.Deployment
	example(t, "deployment.yaml").one(t, "Deployment", &ex)
	pod, exPod := r.dep.Spec.Template.Spec, ex.Spec.Template.Spec
	c, exC := pod.Containers[0], exPod.Containers[0]
	same := func(what string, got, want any) {
		if jsonOf(got) != jsonOf(want) {
			t.Errorf("%s differs from examples/kubernetes/deployment.yaml:\n chart:   %s\n example: %s", what, jsonOf(got), jsonOf(want))
		}
	}
	same("the pod securityContext", pod.SecurityContext, exPod.SecurityContext)
	same("the container securityContext", c.SecurityContext, exC.SecurityContext)
	same("the readiness probe", c.ReadinessProbe, exC.ReadinessProbe)
	same("the liveness probe", c.LivenessProbe, exC.LivenessProbe)
	same("the ports", c.Ports, exC.Ports)
	same("the environment", c.Env, exC.Env)
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("probes must use /readyz and /healthz")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Error("the container needs a CPU request and a memory limit")
	}
	for _, tsc := range pod.TopologySpreadConstraints {
		sel, _ := metav1.LabelSelectorAsSelector(tsc.LabelSelector)
		if sel == nil || sel.Empty() || !selects(tsc.LabelSelector.MatchLabels, r.dep.Spec.Template.Labels) {
			t.Errorf("topologySpreadConstraint %s does not select the webhook pods", tsc.TopologyKey)
		}
	}
	usesAPI := str(r.values["policySource"]) == "kubernetes"
	if ba, ok := r.values["backgroundAudit"].(map[string]any); ok && ba["enabled"] == true {
		usesAPI = true
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken != usesAPI {
		t.Errorf("automountServiceAccountToken %v; want %v (a token only when the webhook reads the API)", deref(pod.AutomountServiceAccountToken), usesAPI)
	}
	if c.Args[0] != "admission" || c.Args[1] != "serve" {
		t.Fatalf("the container runs %v, not admission serve", c.Args)
	}
	checkFlagPaths(t, r, c)

	// The budget is shorter than the API server's timeout.
	mut, _ := chartWebhooks(t, r)
	budget, err := time.ParseDuration(flagValue(c.Args, "--budget"))
	if err != nil || budget >= time.Duration(*mut.Webhooks[0].TimeoutSeconds)*time.Second {
		t.Errorf("--budget %q must be a duration under timeoutSeconds %d", flagValue(c.Args, "--budget"), *mut.Webhooks[0].TimeoutSeconds)
	}
}

// checkFlagPaths: --policy, --tls-cert and --tls-key name files on the
// right volumes, and the TLS volume is the serving certificate's Secret.
func checkFlagPaths(t *testing.T, r *rendered, c corev1.Container) {
	t.Helper()
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range r.dep.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	want := map[string]string{"--tls-cert": "tls", "--tls-key": "tls"}
	if str(r.values["policySource"]) != "kubernetes" {
		want["--policy"] = "policy"
	} else if flagValue(c.Args, "--policy") != "" || volumes["policy"].Name != "" {
		t.Error("with policySource kubernetes the pod must not read a policy file")
	}
	for flag, vol := range want {
		v := flagValue(c.Args, flag)
		if v == "" || mounts[vol] == "" || !strings.HasPrefix(v, mounts[vol]+"/") {
			t.Errorf("%s=%q is not a file on the %s volume (mounted at %q)", flag, v, vol, mounts[vol])
		}
	}
	if s := volumes["tls"].Secret; s == nil || !strings.HasSuffix(s.SecretName, "-webhook-tls") {
		t.Errorf("the tls volume is %s; want the serving certificate's Secret", jsonOf(volumes["tls"]))
	}
	for name, v := range volumes {
		if v.Secret != nil && strings.HasSuffix(v.Secret.SecretName, "-webhook-ca") {
			t.Errorf("volume %s mounts the CA Secret: the CA key must never be in the pod", name)
		}
	}
}

// flagValue returns the value of --name=value in args.
func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
