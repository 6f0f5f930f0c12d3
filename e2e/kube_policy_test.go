//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKubernetesPolicyResources runs the webhook with --policy-source
// kubernetes against the real API server: the CRDs from deploy/crds, the
// Helm chart's RBAC and webhook configurations (policySource kubernetes,
// webhook.url), the webhook reading the API as the chart's ServiceAccount,
// SignetClusterPolicy and SignetPolicy objects applied with kubectl.
func TestKubernetesPolicyResources(t *testing.T) {
	img := kubeFixtureImages(t)
	c := img.c
	pub, err := os.ReadFile(keys(t).signetPub)
	if err != nil {
		t.Fatal(err)
	}

	expect(t, "apply the CRDs", c.kubectl(t, "apply", "-f", "../deploy/crds/"), 0)
	expect(t, "CRDs established", c.kubectl(t, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/signetclusterpolicies.signet.dev", "crd/signetpolicies.signet.dev"), 0)
	for _, ns := range []string{"team", "team2"} {
		expect(t, "namespace", c.apply(t, fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", ns)), 0)
	}
	keyFile := filepath.Join(stateDir, "release-key.pub")
	os.WriteFile(keyFile, pub, 0o600)
	expect(t, "key Secret", c.kubectl(t, "-n", "signet-system", "create", "secret", "generic", "release-key", "--from-file=cosign.pub="+keyFile), 0)

	// The chart's ServiceAccount and RBAC, and a kubeconfig with that
	// ServiceAccount's token: the webhook gets exactly what the chart grants.
	helm := kubeTool(t, "helm", helmVersion)
	render := func(url, ca string, show ...string) string {
		args := []string{"template", "signet", "../deploy/helm/signet", "--namespace", "signet-system", "--set", "policySource=kubernetes",
			"--set", "backgroundAudit.enabled=true", "--set", "policy.keySecretNames={release-key}",
			"--set", "webhook.url=" + url, "--set-file", "webhook.caBundle=" + ca}
		for _, s := range show {
			args = append(args, "--show-only", s)
		}
		r := runCLI(t, toolEnv(), helm, args...)
		expect(t, "helm template", r, 0)
		return r.out
	}
	expect(t, "chart RBAC", c.apply(t, render("https://127.0.0.1:1", keyFile, "templates/serviceaccount.yaml", "templates/rbac.yaml")), 0)
	r := c.kubectl(t, "-n", "signet-system", "create", "token", "signet-webhook", "--duration=2h")
	expect(t, "kubectl create token", r, 0)
	saConfig := filepath.Join(stateDir, "kube", "signet-webhook.kubeconfig")
	os.WriteFile(saConfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: e2e, cluster: {server: %s, insecure-skip-tls-verify: true}}]
users: [{name: signet-webhook, user: {token: %s}}]
contexts: [{name: e2e, context: {cluster: e2e, user: signet-webhook}}]
current-context: e2e
`, c.server, strings.TrimSpace(r.out))), 0o600)

	w := startWebhook(t, "signet-webhook-crd", "", "--policy-source=kubernetes", "--kubeconfig="+saConfig, "--namespace=signet-system",
		"--background-audit=2s")
	t.Cleanup(w.stop)

	clusterPolicy := fmt.Sprintf(`apiVersion: signet.dev/v1alpha1
kind: SignetClusterPolicy
metadata: {name: baseline}
spec:
  defaultAction: deny
  images:
    - pattern: "%[1]s/kube/prod/**"
      signers: [{name: release, key: "k8s://signet-system/release-key"}]
      transparencyLog: skip
    - pattern: "%[1]s/kube/staging/**"
      mode: warn
      signers: [{name: release, key: "k8s://release-key"}]
      transparencyLog: skip
`, img.host)
	expect(t, "apply SignetClusterPolicy", c.apply(t, clusterPolicy), 0)
	r = c.kubectl(t, "wait", "--for=condition=Ready", "--timeout=60s", "signetclusterpolicy/baseline")
	if r.code != 0 {
		log, _ := os.ReadFile(filepath.Join(stateDir, "signet-webhook-crd.log"))
		t.Fatalf("the cluster policy did not become Ready: %s\nwebhook log:\n%s", r, log)
	}
	r = c.kubectl(t, "get", "signetclusterpolicies", "-o", "wide")
	t.Logf("kubectl get signetclusterpolicies -o wide:\n%s", r.out)

	ca := filepath.Join(stateDir, "signet-webhook-crd", "ca.crt")
	os.WriteFile(ca, w.ca, 0o600)
	f := &kubeFixture{c: c, w: w, host: img.host, signed: img.signed, digest: img.digest, unsigned: img.unsigned, staging: img.staging}
	f.registerWebhooks(t, render(w.url, ca, "templates/webhooks.yaml"))

	t.Run("a cluster policy with a key from a Secret admits and pins signed, refuses unsigned", func(t *testing.T) {
		expect(t, "signed", c.apply(t, pod("crd-signed", img.signed), "-n", "apps"), 0)
		if got := c.jsonpath(t, "apps", "pod", "crd-signed", "{.spec.containers[0].image}"); got != img.signed+"@"+img.digest {
			t.Fatalf("stored %q, want it pinned", got)
		}
		r := c.apply(t, pod("crd-unsigned", img.unsigned), "-n", "apps")
		expect(t, "unsigned", r, 1, "image "+img.unsigned, "no signatures found", "baseline")
		t.Logf("kubectl apply of an unsigned Pod under SignetClusterPolicy baseline:\n%s", r.err)
	})

	t.Run("a policy the schema refuses never reaches the webhook", func(t *testing.T) {
		bad := strings.Replace(clusterPolicy, "mode: warn", "mode: sometimes", 1)
		bad = strings.Replace(bad, "name: baseline", "name: bad-mode", 1)
		r := c.apply(t, bad)
		expect(t, "schema", r, 1, "sometimes")
		t.Logf("kubectl apply of mode: sometimes:\n%s", r.err)
	})

	t.Run("a policy that does not compile is refused at apply by /validate-policy", func(t *testing.T) {
		bad := fmt.Sprintf(`apiVersion: signet.dev/v1alpha1
kind: SignetClusterPolicy
metadata: {name: bad-cel}
spec:
  images:
    - pattern: "%s/kube/prod/**"
      signers: [{name: release, key: "k8s://release-key"}]
      attestations:
        - {predicateType: vuln, condition: "predicate.scanner.result.nonsense >"}
`, img.host)
		r := c.apply(t, bad)
		// Signet's compiler, through the policy webhook: kubectl prints its
		// causes per field.
		expect(t, "bad CEL", r, 1, `The SignetClusterPolicy "bad-cel" is invalid`, "spec.images[0].attestations[0].condition: invalid condition")
		t.Logf("kubectl apply of a policy with a broken CEL condition:\n%s", r.err)
	})

	t.Run("a namespace's policy narrows in its namespace only", func(t *testing.T) {
		// Admitted with a warning before the namespace's policy exists; the
		// background audit then reports it as denied there.
		expect(t, "early staging Pod", c.apply(t, pod("early-staging", img.staging), "-n", "team"), 0, "Warning: signet warn mode")
		narrow := fmt.Sprintf(`apiVersion: signet.dev/v1alpha1
kind: SignetPolicy
metadata: {name: strict-staging, namespace: team}
spec:
  defaultAction: allow
  images:
    - pattern: "%s/kube/staging/**"
      signers: [{name: release, publicKey: %q}]
      transparencyLog: skip
`, img.host, string(pub))
		expect(t, "apply SignetPolicy", c.apply(t, narrow), 0)
		expect(t, "Ready", c.kubectl(t, "wait", "-n", "team", "--for=condition=Ready", "--timeout=60s", "signetpolicy/strict-staging"), 0)
		waitFor(t, func() (bool, string) {
			r := c.apply(t, pod("staging", img.staging), "-n", "team", "--dry-run=server")
			return r.code == 1 && strings.Contains(r.err, "strict-staging"), r.String()
		})
		r := c.apply(t, pod("staging", img.staging), "-n", "team2")
		expect(t, "another namespace", r, 0, "Warning: signet warn mode")

		// The background audit (--background-audit, as the webhook's own
		// ServiceAccount with the chart's audit RBAC) decides per namespace.
		logFile := filepath.Join(stateDir, "signet-webhook-crd.log")
		var denied, warned string
		waitFor(t, func() (bool, string) {
			b, _ := os.ReadFile(logFile)
			denied, warned = "", ""
			for _, line := range strings.Split(string(b), "\n") {
				switch {
				case strings.Contains(line, `"audit: workload would be denied"`) && strings.Contains(line, `"namespace":"team"`) &&
					strings.Contains(line, `"name":"early-staging"`):
					denied = line
				case strings.Contains(line, `"audit: workload fails the policy; its rule's mode admits it"`) && strings.Contains(line, `"namespace":"team2"`):
					warned = line
				}
			}
			return denied != "" && warned != "", string(b)
		})
		t.Logf("background audit log line:\n%s", denied)
	})

	t.Run("a namespace's policy cannot widen what the cluster policy denies", func(t *testing.T) {
		widen := fmt.Sprintf(`apiVersion: signet.dev/v1alpha1
kind: SignetPolicy
metadata: {name: let-me-in, namespace: team2}
spec:
  defaultAction: allow
  images:
    - pattern: "%s/kube/prod/**"
      mode: audit
`, img.host)
		expect(t, "apply SignetPolicy", c.apply(t, widen), 0)
		expect(t, "Ready", c.kubectl(t, "wait", "-n", "team2", "--for=condition=Ready", "--timeout=60s", "signetpolicy/let-me-in"), 0)
		time.Sleep(2 * time.Second) // let the informer deliver it
		expect(t, "unsigned in team2", c.apply(t, pod("widened", img.unsigned), "-n", "team2"), 1, "no signatures found", "baseline")
	})

	t.Run("a namespace's policy cannot read another namespace's Secret", func(t *testing.T) {
		steal := fmt.Sprintf(`apiVersion: signet.dev/v1alpha1
kind: SignetPolicy
metadata: {name: steal, namespace: team}
spec:
  images:
    - pattern: "%s/kube/prod/**"
      signers: [{name: release, key: "k8s://signet-system/release-key"}]
`, img.host)
		expect(t, "apply", c.apply(t, steal), 1, `The SignetPolicy "steal" is invalid`, "may read Secrets only in its own namespace (team)")
	})

	t.Run("with no cluster policy left, everything is denied", func(t *testing.T) {
		expect(t, "delete", c.kubectl(t, "delete", "signetclusterpolicy", "baseline"), 0)
		waitFor(t, func() (bool, string) {
			r := c.apply(t, pod("orphan", img.signed), "-n", "apps", "--dry-run=server")
			return r.code == 1, r.String()
		})
		r := c.apply(t, pod("orphan", img.signed), "-n", "apps")
		expect(t, "signed, no cluster policy", r, 1)
		t.Logf("kubectl apply with no SignetClusterPolicy:\n%s", r.err)
	})
}

// waitFor polls cond for up to 30s (a resource takes a moment to reach the
// webhook through its informer).
func waitFor(t *testing.T, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within 30s; last:\n%s", last)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
