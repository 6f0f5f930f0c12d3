//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKubernetesFleetCheck runs `signet fleet check` with a kubeconfig
// against the real API server: a small namespace where one workload would
// be newly denied by a stricter policy (the staging rule moves from warn to
// enforce), and the others keep their verdicts.
func TestKubernetesFleetCheck(t *testing.T) {
	img := kubeFixtureImages(t)
	c := img.c
	ns := "shop"
	expect(t, "namespace", c.apply(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"), 0)
	for _, m := range []string{
		deployment("web", img.signed+"@"+img.digest, 3),
		deployment("cart", img.staging, 2),
		pod("debug", img.unsigned),
	} {
		expect(t, "kubectl apply", c.apply(t, m, "-n", ns), 0)
	}
	current := filepath.Join(img.keyDir, "fleet-current.yaml")
	next := filepath.Join(img.keyDir, "fleet-new.yaml")
	os.WriteFile(current, []byte(kubePolicy(img.host, img.host, "warn")), 0o644)
	os.WriteFile(next, []byte(kubePolicy(img.host, img.host, "enforce")), 0o644)
	args := []string{"fleet", "check", "--kubeconfig", c.kubeconfig, "-n", ns, "--policy", next, "--against", current, "--trusted-root", keys(t).trustedRoot}

	r := signet(t, args...)
	expect(t, "signet fleet check", r, exitPolicyDenied, "Deployment/cart", "newly-denied",
		"3 workloads, 3 images: 1 would be newly denied (in 1 workload), 0 newly allowed, 1 still denied, 1 unchanged")
	t.Logf("signet fleet check --policy new.yaml --against current.yaml -n shop (exit %d):\n%s%s", r.code, r.out, r.err)

	r = signet(t, append(args, "-o", "json")...)
	expect(t, "signet fleet check -o json", r, exitPolicyDenied)
	var report struct {
		Results []struct {
			Kind, Name, Image, Change string
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.out), &report); err != nil {
		t.Fatalf("fleet check -o json: %v\n%s", err, r.out)
	}
	changes := map[string]string{}
	for _, res := range report.Results {
		changes[res.Kind+"/"+res.Name] = res.Change
	}
	want := map[string]string{"Deployment/web": "unchanged", "Deployment/cart": "newly-denied", "Pod/debug": "still-denied"}
	for k, v := range want {
		if changes[k] != v {
			t.Errorf("%s: change %q, want %q (all: %v)", k, changes[k], v, changes)
		}
	}
	if len(changes) != len(want) || strings.Contains(r.out, "signet-system") {
		t.Errorf("results beyond namespace %s: %v", ns, changes)
	}
}
