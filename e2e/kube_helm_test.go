//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// TestKubernetesHelmChart registers the webhook configurations the Helm
// chart renders (for a webhook run outside the cluster: webhook.url) with
// the real API server, and admits and refuses through them.
func TestKubernetesHelmChart(t *testing.T) {
	f := setupKube(t, "signet-webhook-helm")
	c := f.c
	ca := filepath.Join(stateDir, "signet-webhook-helm", "ca.crt")
	if err := os.WriteFile(ca, f.w.ca, 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, toolEnv(), kubeTool(t, "helm", helmVersion), "template", "signet", "../deploy/helm/signet", "--namespace", "signet-system",
		"--set", "webhook.url="+f.w.url, "--set-file", "webhook.caBundle="+ca, "--show-only", "templates/webhooks.yaml")
	expect(t, "helm template", r, 0, "kind: MutatingWebhookConfiguration", "kind: ValidatingWebhookConfiguration")
	f.registerWebhooks(t, r.out)

	expect(t, "signed Pod", c.apply(t, pod("helm-signed", f.signed), "-n", "apps"), 0)
	if got := c.jsonpath(t, "apps", "pod", "helm-signed", "{.spec.containers[0].image}"); got != f.signed+"@"+f.digest {
		t.Fatalf("stored image %q, want it pinned to %s", got, f.digest)
	}
	r = c.apply(t, deployment("helm-unsigned", f.unsigned, 1), "-n", "apps")
	expect(t, "unsigned Deployment", r, 1, `admission webhook "mutate.signet.dev" denied the request`, "image "+f.unsigned+" denied by signet rule", "no signatures found")
	expect(t, "exempt namespace", c.apply(t, pod("helm-tool", f.unsigned), "-n", "signet-system"), 0)
}
