package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/registrytest"
)

func TestAdmissionReviewCommand(t *testing.T) {
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("SIGNET_HOME", t.TempDir())
	dir := t.TempDir()
	reg := registrytest.New(t, true)
	good := reg.PushImage(t, "team/app:v1")
	reg.PushImage(t, "team/app:v2")
	key := filepath.Join(dir, "release")
	signet(t, "keys", "generate", "--output-prefix", key)
	if _, stderr, code := signet(t, "sign", "--no-tlog", "--key", key+".key", good.String()); code != exitOK {
		t.Fatal(stderr)
	}
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte(fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    signers: [{name: release, key: release.pub}]\n", reg.Host+"/team/**")), 0o644)
	deploy := func(image string) string {
		p := filepath.Join(dir, "deploy.yaml")
		os.WriteFile(p, []byte(fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  template:
    spec:
      containers:
        - name: app
          image: %s
`, image)), 0o644)
		return p
	}
	out, stderr, code := signet(t, "admission", "review", "--policy", pol, deploy(reg.Host+"/team/app:v1"))
	if code != exitOK || !strings.Contains(out, `"allowed": true`) || !strings.Contains(out, `"patchType": "JSONPatch"`) {
		t.Fatalf("signed: %d\n%s\n%s", code, out, stderr)
	}
	out, stderr, code = signet(t, "admission", "review", "--policy", pol, deploy(reg.Host+"/team/app:v2"))
	if code != exitPolicyDenied || !strings.Contains(stderr, "image "+reg.Host+"/team/app:v2 denied by signet rule") {
		t.Fatalf("unsigned: %d\n%s\n%s", code, out, stderr)
	}
	if _, _, code := signet(t, "admission", "serve", "--policy", pol); code != exitUsage {
		t.Fatalf("serve without TLS: %d", code)
	}
	_, stderr, code = signet(t, "admission", "review", "--failure-mode", "open", "--policy", pol, deploy(reg.Host+"/team/app:v1"))
	if code != exitUsage || !strings.Contains(stderr, `unknown failure mode "open"`) {
		t.Fatalf("bad failure mode: %d\n%s", code, stderr)
	}
}
