package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/internal/registrytest"
)

func TestAdmissionReviewCommand(t *testing.T) {
	dir, reg, _, pol := reviewFixture(t)
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
	if code != exitOK || !strings.Contains(out, `"allowed": true`) || !strings.Contains(out, `"patchType": "JSONPatch"`) ||
		!strings.Contains(out, `"jsonPatch": [`) || !strings.Contains(out, `"op": "replace"`) {
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

// TestAdmissionReviewReadsEverything: 'admission review' judges every
// document of a file and every item of a List, and exits 6 when any is
// denied, naming which; nothing it did not read is allowed.
func TestAdmissionReviewReadsEverything(t *testing.T) {
	_, reg, good, pol := reviewFixture(t)
	signed, unsigned := reg.Host+"/team/app:v1", reg.Host+"/team/app:v2"
	pinned := signed + "@" + good.DigestStr()
	pod := func(name, image string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  containers: [{name: c, image: %q}]\n", name, image)
	}
	deploy := func(name, image string) string {
		return fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: %s}\nspec:\n  replicas: 0\n  template:\n    spec:\n      containers: [{name: c, image: %q}]\n", name, image)
	}
	indent := func(s string) string { return "  - " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ") + "\n" }
	list := func(items ...string) string { return "apiVersion: v1\nkind: List\nitems:\n" + strings.Join(items, "") }
	// review is an AdmissionReview for kind carrying an object of objKind
	// (a Pod, or a Deployment) that runs image.
	review := func(kind, apiVersion, objKind, objAPIVersion, image string) string {
		group, version, ok := strings.Cut(apiVersion, "/")
		if !ok {
			group, version = "", group
		}
		spec := fmt.Sprintf(`{"containers":[{"name":"c","image":%q}],"template":{"spec":{}}}`, image)
		if objKind == "Deployment" {
			spec = fmt.Sprintf(`{"template":{"spec":{"containers":[{"name":"c","image":%q}]}}}`, image)
		}
		return fmt.Sprintf(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE",
"kind":{"group":%q,"version":%q,"kind":%q},"object":{"apiVersion":%q,"kind":%q,"spec":%s}}}`,
			group, version, kind, objAPIVersion, objKind, spec)
	}
	for _, tc := range []struct {
		name, file string
		code       int
		denied     string // on stderr
		patches    []string
	}{
		{"unsigned image in the second document", deploy("a", signed) + "---\n" + pod("b", unsigned), exitPolicyDenied,
			"document 2, Pod b: image " + unsigned + " denied by signet rule", nil},
		{"unsigned image in the second JSON value", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"` + signed + `"}]}}
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b"},"spec":{"containers":[{"name":"c","image":"` + unsigned + `"}]}}`, exitPolicyDenied,
			"document 2, Pod b: image " + unsigned + " denied", nil},
		{"unsigned Pod in a List", list(indent(pod("a", signed)), indent(pod("b", unsigned))), exitPolicyDenied,
			"document 1 /items/1, Pod b: image " + unsigned + " denied", nil},
		{"unsigned Pod in a List in a List", pod("a", signed) + "---\n# nothing here\n---\n" + list(indent(list(indent(pod("b", unsigned))))), exitPolicyDenied,
			"document 3 /items/0/items/0, Pod b: image " + unsigned + " denied", nil},
		{"PodList items without kind", "apiVersion: v1\nkind: PodList\nitems:\n  - metadata: {name: b}\n    spec: {containers: [{name: c, image: " + unsigned + "}]}\n",
			exitPolicyDenied, "document 1 /items/0, Pod b: image " + unsigned + " denied", nil},
		{"ReplicationController", "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: rc}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: " + unsigned + "}]\n",
			exitPolicyDenied, "ReplicationController rc: image " + unsigned + " denied", nil},
		{"PodTemplate", "apiVersion: v1\nkind: PodTemplate\nmetadata: {name: pt}\ntemplate:\n  spec:\n    containers: [{name: c, image: " + unsigned + "}]\n",
			exitPolicyDenied, "PodTemplate pt: image " + unsigned + " denied", nil},
		{"unknown kind carrying images", "apiVersion: example.com/v1\nkind: Foo\nmetadata: {name: f}\nspec:\n  x:\n    containers: [{name: c, image: " + signed + "}]\n",
			exitPolicyDenied, "kind Foo (example.com/v1) carries container images at /spec/x/containers, but Signet does not know how Kubernetes runs it", nil},
		{"review for a Deployment carrying a Pod", review("Deployment", "apps/v1", "Pod", "v1", unsigned), exitPolicyDenied,
			"the request is for kind Deployment (apps/v1) but its object is kind Pod (v1)", nil},
		{"review for a Pod carrying a Deployment", review("Pod", "v1", "Deployment", "apps/v1", unsigned), exitPolicyDenied,
			"the request is for kind Pod (v1) but its object is kind Deployment (apps/v1)", nil},
		{"signed everywhere", deploy("a", signed) + "---\n# nothing\n---\n" + list(indent(pod("b", signed)), indent(deploy("c", signed))), exitOK, "",
			[]string{"/spec/template/spec/containers/0/image", "/spec/containers/0/image", "/spec/template/spec/containers/0/image"}},
		{"signed review", review("Pod", "v1", "Pod", "v1", signed), exitOK, "", []string{"/spec/containers/0/image"}},
		{"nothing to review", "# empty\n---\n", exitError, "holds no object", nil},
		{"Lists too deep", strings.Repeat(`{"kind":"List","items":[`, 9) + strings.Repeat("]}", 9), exitError, "nested more than 8 deep", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "in.yaml")
			os.WriteFile(p, []byte(tc.file), 0o644)
			out, stderr, code := signet(t, "admission", "review", "--policy", pol, p)
			if code != tc.code || !strings.Contains(stderr, tc.denied) {
				t.Fatalf("want exit %d with %q on stderr, got %d\n%s\n%s", tc.code, tc.denied, code, out, stderr)
			}
			if tc.code == exitError {
				return
			}
			var patches []string
			for _, m := range regexp.MustCompile(`\{"op":"replace","path":"([^"]+)","value":"([^"]+)"\}`).FindAllStringSubmatch(patchText(t, out), -1) {
				if m[2] != pinned {
					t.Errorf("patch at %s pins %s, want %s", m[1], m[2], pinned)
				}
				patches = append(patches, m[1])
			}
			if tc.code == exitOK && strings.Join(patches, " ") != strings.Join(tc.patches, " ") {
				t.Fatalf("want patches at %q, got %q\n%s", tc.patches, patches, out)
			}
		})
	}
}

// patchText decodes the base64 patches of review output (one response or a
// list of {response}).
func patchText(t *testing.T, out string) string {
	t.Helper()
	var one struct{ Patch []byte }
	var many []struct{ Response struct{ Patch []byte } }
	if json.Unmarshal([]byte(out), &many) == nil {
		var b strings.Builder
		for _, r := range many {
			b.Write(r.Response.Patch)
		}
		return b.String()
	}
	if err := json.Unmarshal([]byte(out), &one); err != nil {
		t.Fatalf("review output is neither a response nor a list of them: %v\n%s", err, out)
	}
	return string(one.Patch)
}

// reviewFixture is a registry with team/app:v1 signed by release and
// team/app:v2 unsigned, and a policy requiring release for team/**.
func reviewFixture(t *testing.T) (dir string, reg *registrytest.Registry, good name.Digest, pol string) {
	t.Helper()
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("SIGNET_HOME", t.TempDir())
	dir = t.TempDir()
	reg = registrytest.New(t, true)
	good = reg.PushImage(t, "team/app:v1")
	reg.PushImage(t, "team/app:v2")
	key := filepath.Join(dir, "release")
	generateKey(t, key)
	if _, stderr, code := signet(t, "sign", "--no-tlog", "--key", key+".key", good.String()); code != exitOK {
		t.Fatal(stderr)
	}
	pol = filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte(fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    signers: [{name: release, key: release.pub}]\n", reg.Host+"/team/**")), 0o644)
	return dir, reg, good, pol
}
