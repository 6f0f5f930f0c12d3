package helm

import (
	"slices"
	"sort"
	"strings"
	"testing"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// checkRBAC: whatever the values, least privilege — no wildcard, reads
// only (status writes aside), Secrets only in the release namespace unless
// policy.namespacedSecrets asks, bindings only to the chart's own roles and
// only for the webhook's ServiceAccount.
func checkRBAC(t *testing.T, r *rendered) {
	t.Helper()
	var sa corev1.ServiceAccount
	r.objs.one(t, "ServiceAccount", &sa)
	optIn := false
	if p, ok := r.values["policy"].(map[string]any); ok && p["namespacedSecrets"] == true {
		optIn = true
	}
	roles := map[string]bool{}
	for _, kind := range []string{"ClusterRole", "Role"} {
		for _, o := range r.objs.ofKind(kind) {
			roles[kind+"/"+o.Name] = true
			var role rbacv1.ClusterRole // a Role's fields are a subset
			strict(t, o.JSON, &role)
			for _, rule := range role.Rules {
				checkRule(t, kind+" "+o.Name, rule, kind == "ClusterRole" && !optIn)
			}
		}
	}
	for _, kind := range []string{"ClusterRoleBinding", "RoleBinding"} {
		for _, o := range r.objs.ofKind(kind) {
			var b rbacv1.RoleBinding // a ClusterRoleBinding's fields are the same
			strict(t, o.JSON, &b)
			want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa.Name, Namespace: r.rel.namespace}}
			if jsonOf(b.Subjects) != jsonOf(want) {
				t.Errorf("%s %s binds %s; want only the webhook's ServiceAccount %s", kind, o.Name, jsonOf(b.Subjects), jsonOf(want))
			}
			if !roles[b.RoleRef.Kind+"/"+b.RoleRef.Name] || (kind == "RoleBinding") != (b.RoleRef.Kind == "Role") {
				t.Errorf("%s %s binds %s %s, which is not one of the chart's own roles of its scope", kind, o.Name, b.RoleRef.Kind, b.RoleRef.Name)
			}
		}
	}
}

// checkRule checks one rule of a role; noSecrets says Secrets are off
// limits (a ClusterRole without the opt-in).
func checkRule(t *testing.T, role string, rule rbacv1.PolicyRule, noSecrets bool) {
	t.Helper()
	for _, list := range [][]string{rule.APIGroups, rule.Resources, rule.Verbs, rule.ResourceNames} {
		if slices.Contains(list, "*") {
			t.Errorf("%s has a wildcard: %s", role, jsonOf(rule))
		}
	}
	if len(rule.NonResourceURLs) > 0 {
		t.Errorf("%s grants non-resource URLs: %s", role, jsonOf(rule))
	}
	status := true
	for _, res := range rule.Resources {
		status = status && strings.HasSuffix(res, "/status")
	}
	for _, v := range rule.Verbs {
		read := v == "get" || v == "list" || v == "watch"
		if !read && !(status && (v == "update" || v == "patch")) {
			t.Errorf("%s may %s %v: the webhook only reads, and writes its policies' status", role, v, rule.Resources)
		}
	}
	if noSecrets && slices.Contains(rule.Resources, "secrets") {
		t.Errorf("%s reads Secrets cluster-wide without policy.namespacedSecrets", role)
	}
}

// rulesOf returns the rules of a rendered role, each as "group/resource
// verb,verb" sorted, for comparisons.
func rulesOf(t *testing.T, r *rendered, kind, name string) []string {
	t.Helper()
	var role rbacv1.ClusterRole
	r.objs.named(t, kind, name, &role)
	var out []string
	for _, rule := range role.Rules {
		for _, g := range rule.APIGroups {
			for _, res := range rule.Resources {
				if len(rule.ResourceNames) > 0 {
					res += "[" + strings.Join(rule.ResourceNames, ",") + "]"
				}
				out = append(out, g+"/"+res+" "+strings.Join(rule.Verbs, ","))
			}
		}
	}
	sort.Strings(out)
	return out
}

// checkPolicyResources: policySource kubernetes reads policy resources
// through the API, with the RBAC it needs, and validates them on admission.
func checkPolicyResources(namespacedSecrets bool) func(*testing.T, *rendered) {
	return func(t *testing.T, r *rendered) {
		if n := len(r.objs.ofKind("ConfigMap")); n != 0 {
			t.Errorf("with policySource kubernetes there is no policy ConfigMap; got %d", n)
		}
		args := r.dep.Spec.Template.Spec.Containers[0].Args
		for _, a := range []string{"--policy-source=kubernetes", "--namespace=" + r.rel.namespace} {
			if !slices.Contains(args, a) {
				t.Errorf("args %v lack %s", args, a)
			}
		}

		// The validating configuration has a webhook for the policy
		// resources, the mutating one does not.
		mut, val := chartWebhooks(t, r)
		if len(mut.Webhooks) != 1 || len(val.Webhooks) != 2 {
			t.Fatalf("want 1 mutating and 2 validating webhooks, got %d and %d", len(mut.Webhooks), len(val.Webhooks))
		}
		p := val.Webhooks[1]
		wantRules := []admissionregv1.RuleWithOperations{{
			Operations: []admissionregv1.OperationType{admissionregv1.Create, admissionregv1.Update},
			Rule:       admissionregv1.Rule{APIGroups: []string{"signet.dev"}, APIVersions: []string{"v1alpha1"}, Resources: []string{"signetclusterpolicies", "signetpolicies"}},
		}}
		cc := val.Webhooks[0].ClientConfig.DeepCopy()
		*cc.Service.Path = "/validate-policy"
		if p.Name != "validate-policy.signet.dev" || jsonOf(p.Rules) != jsonOf(wantRules) || jsonOf(p.ClientConfig) != jsonOf(cc) ||
			deref(p.SideEffects) != any(admissionregv1.SideEffectClassNone) || !slices.Equal(p.AdmissionReviewVersions, []string{"v1"}) {
			t.Errorf("the policy webhook is %s; want validate-policy.signet.dev at /validate-policy of the same Service and CA, rules %s", jsonOf(p), jsonOf(wantRules))
		}

		// Exactly what the webhook does (and examples/kubernetes/policy-crds
		// grants): watch the policies, update their status, get a key's
		// Secret by name.
		want := []string{
			"signet.dev/signetclusterpolicies get,list,watch", "signet.dev/signetclusterpolicies/status update",
			"signet.dev/signetpolicies get,list,watch", "signet.dev/signetpolicies/status update",
		}
		if got := rulesOf(t, r, "ClusterRole", "signet-policies"); jsonOf(got) != jsonOf(want) {
			t.Errorf("ClusterRole signet-policies grants %v; want %v", got, want)
		}
		if got := rulesOf(t, r, "Role", "signet-keys"); jsonOf(got) != jsonOf([]string{"/secrets get"}) {
			t.Errorf("Role signet-keys grants %v; want secrets get in the release namespace", got)
		}
		found := false
		for _, o := range r.objs.ofKind("ClusterRole") {
			found = found || slices.Contains(rulesOf(t, r, "ClusterRole", o.Name), "/secrets get")
		}
		if found != namespacedSecrets {
			t.Errorf("a ClusterRole reading Secrets: %v; want it only with policy.namespacedSecrets (%v)", found, namespacedSecrets)
		}
	}
}

// checkBackgroundAudit: reads, in every namespace, exactly the kinds the
// webhooks judge, and the flag that starts the audit.
func checkBackgroundAudit(t *testing.T, r *rendered) {
	if args := r.dep.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--background-audit=30m") {
		t.Errorf("args %v lack --background-audit=30m", args)
	}
	exMut, _ := exampleWebhooks(t)
	var want []string
	for _, rule := range exMut.Rules {
		for _, res := range rule.Resources {
			if !strings.Contains(res, "/") {
				want = append(want, rule.APIGroups[0]+"/"+res+" get,list")
			}
		}
	}
	sort.Strings(want)
	if got := rulesOf(t, r, "ClusterRole", "signet-audit"); jsonOf(got) != jsonOf(want) {
		t.Errorf("ClusterRole signet-audit grants %v; want get,list on the kinds the webhooks judge: %v", got, want)
	}
	if n := len(r.objs.ofKind("Role")); n != 0 {
		t.Errorf("with policySource file no Secrets are read; got %d Roles", n)
	}
}

// checkKeySecretNames: policy.keySecretNames narrows the webhook's Secrets
// to those names, so the generated CA's key is out of its reach.
func checkKeySecretNames(t *testing.T, r *rendered) {
	if got, want := rulesOf(t, r, "Role", "signet-keys"), []string{"/secrets[release-key,qa-key] get"}; jsonOf(got) != jsonOf(want) {
		t.Errorf("Role signet-keys grants %v; want %v", got, want)
	}
}
