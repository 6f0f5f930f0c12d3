package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/kubepolicy"
	"github.com/signet-dev/signet/policy"
)

const k8sDir = "../../examples/kubernetes"

// k8sObjects reads every YAML document of the example manifests, keyed by
// kind/name, as JSON.
func k8sObjects(t *testing.T) map[string][]byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	out := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var v map[string]any
			err := dec.Decode(&v)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			b, _ := json.Marshal(v)
			kind, _ := v["kind"].(string)
			meta, _ := v["metadata"].(map[string]any)
			name, _ := meta["name"].(string)
			out[kind+"/"+name] = b
		}
	}
	return out
}

// strict decodes into a typed API object, refusing unknown fields (a typo
// in a manifest).
func strict(t *testing.T, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", data[:min(len(data), 80)], err)
	}
}

// TestKubernetesExample checks the deploy manifests do what the README says:
// they decode as Kubernetes objects, the Deployment is hardened and its
// arguments are flags signet accepts, the webhooks fail closed within 10s
// and exempt kube-system and signet-system, the Service routes to the pods,
// and the policy in the ConfigMap compiles.
func TestKubernetesExample(t *testing.T) {
	objs := k8sObjects(t)
	var dep appsv1.Deployment
	strict(t, objs["Deployment/signet-webhook"], &dep)
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
		t.Error("want 2 replicas")
	}
	pod := dep.Spec.Template.Spec
	if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("pod must run as non-root")
	}
	c := pod.Containers[0]
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Error("container must have a read-only root filesystem, no privilege escalation, no capabilities")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Error("container needs resource requests and a memory limit")
	}
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("probes must use /readyz and /healthz")
	}
	// The arguments parse as `signet admission serve` flags.
	if c.Args[0] != "admission" || c.Args[1] != "serve" {
		t.Fatalf("args %v", c.Args)
	}
	serve := newAdmissionServeCmd(&streams{out: io.Discard, err: io.Discard})
	if err := serve.ParseFlags(c.Args[2:]); err != nil {
		t.Fatalf("deployment args: %v", err)
	}
	budget, _ := serve.Flags().GetDuration("budget")
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	for flag, vol := range map[string]string{"policy": "policy", "tls-cert": "tls", "tls-key": "tls"} {
		v, _ := serve.Flags().GetString(flag)
		if !strings.HasPrefix(v, mounts[vol]+"/") {
			t.Errorf("--%s=%s is not under the %s volume (%s)", flag, v, vol, mounts[vol])
		}
	}

	var svc corev1.Service
	strict(t, objs["Service/signet-webhook"], &svc)
	for k, v := range svc.Spec.Selector {
		if dep.Spec.Template.Labels[k] != v {
			t.Errorf("Service selector %s=%s does not select the pods", k, v)
		}
	}
	if svc.Spec.Ports[0].TargetPort.StrVal != c.Ports[0].Name {
		t.Error("Service targetPort is not the container's port")
	}

	var mut admissionregv1.MutatingWebhookConfiguration
	var val admissionregv1.ValidatingWebhookConfiguration
	strict(t, objs["MutatingWebhookConfiguration/signet"], &mut)
	strict(t, objs["ValidatingWebhookConfiguration/signet"], &val)
	type hook struct {
		path    string
		cc      admissionregv1.WebhookClientConfig
		fail    *admissionregv1.FailurePolicyType
		timeout *int32
		ns      []string
		rules   []admissionregv1.RuleWithOperations
	}
	exempt := func(s *metav1.LabelSelector) []string {
		for _, e := range s.MatchExpressions {
			if e.Key == "kubernetes.io/metadata.name" && e.Operator == "NotIn" {
				return e.Values
			}
		}
		return nil
	}
	hooks := []hook{
		{"/mutate", mut.Webhooks[0].ClientConfig, mut.Webhooks[0].FailurePolicy, mut.Webhooks[0].TimeoutSeconds, exempt(mut.Webhooks[0].NamespaceSelector), mut.Webhooks[0].Rules},
		{"/validate", val.Webhooks[0].ClientConfig, val.Webhooks[0].FailurePolicy, val.Webhooks[0].TimeoutSeconds, exempt(val.Webhooks[0].NamespaceSelector), val.Webhooks[0].Rules},
	}
	for _, h := range hooks {
		if h.cc.Service == nil || *h.cc.Service.Path != h.path || h.cc.Service.Name != svc.Name || h.cc.Service.Namespace != svc.Namespace {
			t.Errorf("%s: client config does not point at the Service", h.path)
		}
		if h.fail == nil || *h.fail != admissionregv1.Fail {
			t.Errorf("%s: failurePolicy must be Fail", h.path)
		}
		if h.timeout == nil || *h.timeout != 10 || time.Duration(*h.timeout)*time.Second <= budget {
			t.Errorf("%s: timeoutSeconds must be 10 and above the --budget %s", h.path, budget)
		}
		if !slices.Contains(h.ns, "kube-system") || !slices.Contains(h.ns, dep.Namespace) {
			t.Errorf("%s: namespaceSelector must exempt kube-system and %s, exempts %v", h.path, dep.Namespace, h.ns)
		}
		var resources []string
		for _, r := range h.rules {
			resources = append(resources, r.Resources...)
		}
		for _, r := range []string{"pods", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs"} {
			if !slices.Contains(resources, r) {
				t.Errorf("%s: rules miss %s", h.path, r)
			}
		}
	}

	// kubectl apply -k takes every manifest but the optional cert-manager one.
	var kust struct{ Resources []string }
	kb, _ := os.ReadFile(filepath.Join(k8sDir, "kustomization.yaml"))
	yaml.Unmarshal(kb, &kust)
	files, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	for _, f := range files {
		base := filepath.Base(f)
		if base != "kustomization.yaml" && base != "cert-manager.yaml" && !slices.Contains(kust.Resources, base) {
			t.Errorf("kustomization.yaml does not list %s", base)
		}
	}

	// The policy ConfigMap, written out as the volume would be, compiles.
	var cm corev1.ConfigMap
	strict(t, objs["ConfigMap/signet-policy"], &cm)
	dir := t.TempDir()
	for k, v := range cm.Data {
		os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644)
	}
	if _, err := policy.Load(filepath.Join(dir, "policy.yaml"), keys.Loader{}); err != nil {
		t.Fatalf("the ConfigMap's policy: %v", err)
	}
}

// TestGenCerts runs gen-certs.sh (when openssl is present) and serves its
// certificate: the webhook's TLS loader accepts the pair.
func TestGenCerts(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed; gen-certs.sh needs it")
	}
	dir := t.TempDir()
	out, err := exec.Command("bash", filepath.Join(k8sDir, "gen-certs.sh"), "--dir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if fi, err := os.Stat(filepath.Join(dir, "tls.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("tls.key: %v %v", fi.Mode(), err)
	}
	if _, err := admission.NewCertReloader(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), nil); err != nil {
		t.Fatal(err)
	}
	v, err := exec.Command("openssl", "verify", "-CAfile", filepath.Join(dir, "ca.crt"), filepath.Join(dir, "tls.crt")).CombinedOutput()
	if err != nil {
		t.Fatalf("certificate does not verify against the CA: %s", v)
	}
	san, _ := exec.Command("openssl", "x509", "-in", filepath.Join(dir, "tls.crt"), "-noout", "-ext", "subjectAltName").CombinedOutput()
	if !strings.Contains(string(san), "DNS:signet-webhook.signet-system.svc") {
		t.Fatalf("SAN: %s", san)
	}
}

// TestKubernetesPolicyCRDsExample checks examples/kubernetes/policy-crds,
// the webhook reading its policies from SignetClusterPolicy and SignetPolicy
// resources: the overlay takes the base and adds only what it needs; the
// patched Deployment's arguments are serve flags for the kubernetes source,
// with the token mounted; the RBAC is exactly reading the policies, writing
// their status and getting Secrets in the webhook's namespace; the policy
// webhook fails closed within 10s on the policy resources alone; and the
// sample policies pass the webhook's own check.
func TestKubernetesPolicyCRDsExample(t *testing.T) {
	dir := filepath.Join(k8sDir, "policy-crds")
	base := k8sObjects(t)
	var dep appsv1.Deployment
	strict(t, base["Deployment/signet-webhook"], &dep)
	var svc corev1.Service
	strict(t, base["Service/signet-webhook"], &svc)

	var kust struct {
		Resources []string
		Patches   []struct{ Path string }
	}
	kb, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(kb, &kust); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kust.Resources, []string{"..", "rbac-policies.yaml", "webhook-policies.yaml"}) ||
		len(kust.Patches) != 1 || kust.Patches[0].Path != "deployment-patch.yaml" {
		t.Fatalf("kustomization: %+v", kust)
	}
	objs := map[string][]byte{}
	for _, f := range []string{"deployment-patch.yaml", "rbac-policies.yaml", "webhook-policies.yaml"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var v map[string]any
			if err := dec.Decode(&v); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			b, _ := json.Marshal(v)
			meta, _ := v["metadata"].(map[string]any)
			objs[v["kind"].(string)+"/"+meta["name"].(string)] = b
		}
	}

	// The patch: same Deployment, token mounted, kubernetes source flags.
	var patch appsv1.Deployment
	strict(t, objs["Deployment/signet-webhook"], &patch)
	if patch.Namespace != dep.Namespace || patch.Spec.Template.Spec.AutomountServiceAccountToken == nil || !*patch.Spec.Template.Spec.AutomountServiceAccountToken {
		t.Error("the patch must mount the service account token of the same Deployment")
	}
	c := patch.Spec.Template.Spec.Containers[0]
	if c.Name != dep.Spec.Template.Spec.Containers[0].Name || c.Args[0] != "admission" || c.Args[1] != "serve" {
		t.Fatalf("patched container %s args %v", c.Name, c.Args)
	}
	serve := newAdmissionServeCmd(&streams{out: io.Discard, err: io.Discard})
	if err := serve.ParseFlags(c.Args[2:]); err != nil {
		t.Fatalf("patched args: %v", err)
	}
	source, _ := serve.Flags().GetString("policy-source")
	pol, _ := serve.Flags().GetString("policy")
	budget, _ := serve.Flags().GetDuration("budget")
	if source != "kubernetes" || pol != "" {
		t.Errorf("want --policy-source=kubernetes and no --policy, got %q and %q", source, pol)
	}
	baseArgs := dep.Spec.Template.Spec.Containers[0].Args
	for _, a := range c.Args {
		if strings.HasPrefix(a, "--tls-") && !slices.Contains(baseArgs, a) {
			t.Errorf("%s differs from the base Deployment's", a)
		}
	}

	// RBAC: exactly what the policy source needs.
	var cr rbacv1.ClusterRole
	strict(t, objs["ClusterRole/signet-webhook-policies"], &cr)
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{"signet.dev"}, Resources: []string{"signetclusterpolicies", "signetpolicies"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"signet.dev"}, Resources: []string{"signetclusterpolicies/status", "signetpolicies/status"}, Verbs: []string{"update"}},
	}
	if got, _ := json.Marshal(cr.Rules); string(got) != mustJSON(want) {
		t.Errorf("ClusterRole rules %s, want %s", got, mustJSON(want))
	}
	var role rbacv1.Role
	strict(t, objs["Role/signet-webhook-keys"], &role)
	wantRole := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}}
	if got, _ := json.Marshal(role.Rules); role.Namespace != dep.Namespace || string(got) != mustJSON(wantRole) {
		t.Errorf("Role in %s: rules %s, want %s", role.Namespace, got, mustJSON(wantRole))
	}
	var crb rbacv1.ClusterRoleBinding
	strict(t, objs["ClusterRoleBinding/signet-webhook-policies"], &crb)
	var rb rbacv1.RoleBinding
	strict(t, objs["RoleBinding/signet-webhook-keys"], &rb)
	for _, b := range []struct {
		ref      rbacv1.RoleRef
		subjects []rbacv1.Subject
		role     string
	}{{crb.RoleRef, crb.Subjects, cr.Name}, {rb.RoleRef, rb.Subjects, role.Name}} {
		sa := rbacv1.Subject{Kind: "ServiceAccount", Name: dep.Spec.Template.Spec.ServiceAccountName, Namespace: dep.Namespace}
		if b.ref.Name != b.role || len(b.subjects) != 1 || b.subjects[0] != sa {
			t.Errorf("binding of %s: %+v to %+v, want the webhook's service account", b.role, b.ref, b.subjects)
		}
	}

	// The policy resources' webhook.
	var val admissionregv1.ValidatingWebhookConfiguration
	strict(t, objs["ValidatingWebhookConfiguration/signet-policies"], &val)
	h := val.Webhooks[0]
	if h.ClientConfig.Service == nil || *h.ClientConfig.Service.Path != "/validate-policy" || h.ClientConfig.Service.Name != svc.Name ||
		h.ClientConfig.Service.Namespace != svc.Namespace {
		t.Error("the policy webhook does not point at the Service's /validate-policy")
	}
	if h.FailurePolicy == nil || *h.FailurePolicy != admissionregv1.Fail || h.TimeoutSeconds == nil ||
		time.Duration(*h.TimeoutSeconds)*time.Second <= budget || h.SideEffects == nil || *h.SideEffects != admissionregv1.SideEffectClassNone {
		t.Error("the policy webhook must fail closed, time out after the --budget and have no side effects")
	}
	if len(h.Rules) != 1 || !slices.Equal(h.Rules[0].APIGroups, []string{"signet.dev"}) ||
		!slices.Equal(h.Rules[0].Resources, []string{"signetclusterpolicies", "signetpolicies"}) {
		t.Errorf("policy webhook rules %+v: want the two policy resources (not their status)", h.Rules)
	}

	// The samples pass the check /validate-policy makes.
	samples, _ := filepath.Glob(filepath.Join(dir, "samples", "*.yaml"))
	kinds := map[string]bool{}
	v := &kubepolicy.Validator{Namespace: dep.Namespace}
	for _, f := range samples {
		data, _ := os.ReadFile(f)
		var obj map[string]any
		if err := yaml.Unmarshal(data, &obj); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		raw, _ := json.Marshal(obj)
		kind, _ := obj["kind"].(string)
		meta, _ := obj["metadata"].(map[string]any)
		ns, _ := meta["namespace"].(string)
		kinds[kind] = true
		req := &admissionv1.AdmissionRequest{UID: "u", Kind: metav1.GroupVersionKind{Group: "signet.dev", Version: "v1alpha1", Kind: kind},
			Namespace: ns, Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}}
		if resp := v.Review(t.Context(), req); !resp.Allowed {
			t.Errorf("%s: %s", f, resp.Result.Message)
		}
	}
	if !kinds["SignetClusterPolicy"] || !kinds["SignetPolicy"] {
		t.Errorf("want a sample of each kind, have %v", kinds)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
