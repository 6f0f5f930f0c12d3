//go:build e2e

package e2e

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/signet-dev/signet/internal/faultproxy"
)

// TestKubeToolVersions keeps the versions this suite expects equal to the
// ones e2e/kube-tools.sh builds.
func TestKubeToolVersions(t *testing.T) {
	b, err := os.ReadFile("kube-tools.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kube_version=" + kubeVersion, "etcd_version=" + etcdVersion, "helm_version=" + helmVersion} {
		if !strings.Contains(string(b), want+" ") && !strings.Contains(string(b), want+"\n") {
			t.Errorf("e2e/kube-tools.sh does not pin %s", want)
		}
	}
}

// webhookProcess is `signet admission serve` run as the examples'
// Deployment runs it, on 127.0.0.1.
type webhookProcess struct {
	url    string // https://127.0.0.1:PORT
	ca     []byte
	cmd    *exec.Cmd
	policy string
}

// startWebhook serves the policy with the flags examples/kubernetes/deployment.yaml
// passes, but for the paths and address ("" policyFile: no --policy, for
// --policy-source kubernetes in extra).
func startWebhook(t *testing.T, name, policyFile string, extra ...string) *webhookProcess {
	t.Helper()
	dir := filepath.Join(stateDir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ca, cert, key, err := webhookCerts(dir)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"admission", "serve", "--addr=" + addr, "--tls-cert=" + cert, "--tls-key=" + key, "--trusted-root=" + keys(t).trustedRoot}
	if policyFile != "" {
		args = append(args, "--policy="+policyFile)
	}
	for _, a := range exampleServeArgs(t) {
		switch strings.SplitN(a, "=", 2)[0] {
		case "admission", "serve", "--addr", "--policy", "--tls-cert", "--tls-key":
		default:
			args = append(args, a)
		}
	}
	cmd, err := startProcessEnv(name, toolEnv("SIGNET_HOME="+filepath.Join(dir, "home")), tool("signet", ""), append(args, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	w := &webhookProcess{url: "https://" + addr, ca: ca, cmd: cmd, policy: policyFile}
	if err := waitReady(w.url+"/readyz", "", 30*time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(stateDir, name+".log"))
		t.Fatalf("the webhook: %v\n%s", err, log)
	}
	return w
}

// stop ends the webhook process by its PID.
func (w *webhookProcess) stop() {
	_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { w.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// exampleServeArgs are the container args of examples/kubernetes/deployment.yaml.
func exampleServeArgs(t *testing.T) []string {
	t.Helper()
	docs := yamlDocs(t, "../examples/kubernetes/deployment.yaml")
	for _, d := range docs {
		if d["kind"] != "Deployment" {
			continue
		}
		containers := dig(d, "spec", "template", "spec", "containers").([]any)
		var args []string
		for _, a := range containers[0].(map[string]any)["args"].([]any) {
			args = append(args, a.(string))
		}
		return args
	}
	t.Fatal("examples/kubernetes/deployment.yaml has no Deployment")
	return nil
}

// exampleWebhookConfigs returns examples/kubernetes/webhooks.yaml with each
// webhook's Service replaced by the URL of a webhook run outside the
// cluster and the CA that signed its certificate: the rules, selectors,
// failure policy and timeouts are the examples' own.
func exampleWebhookConfigs(t *testing.T, w *webhookProcess) string {
	t.Helper()
	var out []string
	for _, d := range yamlDocs(t, "../examples/kubernetes/webhooks.yaml") {
		for _, h := range d["webhooks"].([]any) {
			cc := h.(map[string]any)["clientConfig"].(map[string]any)
			svc := cc["service"].(map[string]any)
			delete(cc, "service")
			cc["url"] = w.url + svc["path"].(string)
			cc["caBundle"] = base64.StdEncoding.EncodeToString(w.ca)
		}
		delete(d["metadata"].(map[string]any), "annotations") // cert-manager's CA injection
		b, err := yaml.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return strings.Join(out, "---\n")
}

func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var docs []map[string]any
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			break
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
	return docs
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// kubeFixture is what the Kubernetes tests share: a cluster with Signet's
// webhooks registered, and images in a registry.
type kubeFixture struct {
	c        *cluster
	w        *webhookProcess
	host     string
	signed   string // HOST/kube/prod/app:v1, signed
	digest   string // its digest
	unsigned string // HOST/kube/prod/app:unsigned
	staging  string // HOST/kube/staging/app:v1, unsigned (warn mode)
	policy   string
	// slow fronts the registry; images named through it (slow.Host) can
	// be made to stall.
	slow *faultproxy.Proxy
}

func kubePolicy(host, slowHost, mode string) string {
	return fmt.Sprintf(`apiVersion: signet.dev/v1alpha1
kind: Policy
metadata:
  name: e2e-cluster
defaultAction: deny
images:
  - pattern: "%[1]s/kube/prod/**"
    signers: [{name: release, key: release.pub}]
    transparencyLog: skip
  - pattern: "%[1]s/kube/staging/**"
    mode: %[3]s
    signers: [{name: release, key: release.pub}]
    transparencyLog: skip
  - pattern: "%[2]s/kube/**"
    signers: [{name: release, key: release.pub}]
    transparencyLog: skip
`, host, slowHost, mode)
}

// kubeImages are the images every Kubernetes test uses, pushed and signed once.
type kubeImages struct {
	c        *cluster
	host     string
	signed   string // HOST/kube/prod/app:v1, signed
	digest   string // its digest
	unsigned string // HOST/kube/prod/app:unsigned
	staging  string // HOST/kube/staging/app:v1, unsigned (warn mode)
	keyDir   string // holds release.pub, beside each test's policy
}

var kubeImageSet server[*kubeImages]

func kubeFixtureImages(t *testing.T) *kubeImages {
	t.Helper()
	c := kube(t)
	reg := distributionReg.get(t, func() (*registryUnderTest, error) { return startDistribution(false) })
	k := keys(t)
	return kubeImageSet.get(t, func() (*kubeImages, error) {
		f := &kubeImages{c: c, host: reg.host}
		signed := pushImage(t, reg.host, "kube/prod/app:v1")
		if r := signet(t, "sign", "--key", k.signetKey, signed.String()); r.code != 0 {
			return nil, fmt.Errorf("signet sign: %s", r)
		}
		f.signed, f.digest = reg.host+"/kube/prod/app:v1", signed.DigestStr()
		pushImage(t, reg.host, "kube/prod/app:unsigned")
		f.unsigned = reg.host + "/kube/prod/app:unsigned"
		pushImage(t, reg.host, "kube/staging/app:v1")
		f.staging = reg.host + "/kube/staging/app:v1"
		f.keyDir = filepath.Join(stateDir, "kube-policy")
		if err := os.MkdirAll(f.keyDir, 0o700); err != nil {
			return nil, err
		}
		pub, err := os.ReadFile(k.signetPub)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(f.keyDir, "release.pub"), pub, 0o644); err != nil {
			return nil, err
		}
		r := c.apply(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: signet-system}\n")
		if r.code != 0 {
			return nil, fmt.Errorf("creating namespaces: %s", r)
		}
		return f, nil
	})
}

// setupKube starts a webhook named name on the shared images with the
// e2e policy, and a fault proxy in front of the registry for this test.
// The caller registers the webhook configurations (registerWebhooks).
func setupKube(t *testing.T, name string) *kubeFixture {
	t.Helper()
	img := kubeFixtureImages(t)
	f := &kubeFixture{c: img.c, host: img.host, signed: img.signed, digest: img.digest, unsigned: img.unsigned, staging: img.staging,
		slow: faultproxy.New(t, img.host)}
	f.policy = filepath.Join(img.keyDir, name+".yaml")
	if err := os.WriteFile(f.policy, []byte(kubePolicy(img.host, f.slow.Host, "warn")), 0o644); err != nil {
		t.Fatal(err)
	}
	f.w = startWebhook(t, name, f.policy)
	t.Cleanup(f.w.stop)
	return f
}

// registerWebhooks applies webhook configurations (named signet) and waits
// until an unsigned Pod in namespace apps is refused through them; they are
// deleted when the test ends.
func (f *kubeFixture) registerWebhooks(t *testing.T, configs string) {
	t.Helper()
	c := f.c
	expect(t, "register the webhooks", c.apply(t, configs), 0)
	t.Cleanup(func() {
		c.kubectl(t, "delete", "--ignore-not-found", "mutatingwebhookconfiguration/signet", "validatingwebhookconfiguration/signet")
	})
	// A configuration takes a moment to reach the admission chain.
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := c.apply(t, pod("probe", f.unsigned), "-n", "apps", "--dry-run=server")
		if r.code != 0 && strings.Contains(r.err, "signet rule") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhooks were not called within 30s of registering them:\n%s", r)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func pod(name, image string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  containers:
    - {name: app, image: %q}
`, name, image)
}

func deployment(name, image string, replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: %[3]d
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      containers:
        - {name: app, image: %[2]q}
`, name, image, replicas)
}

// jsonpath reads one field of a stored object back from the API server.
func (c *cluster) jsonpath(t *testing.T, ns, kind, name, path string) string {
	t.Helper()
	r := c.kubectl(t, "get", "-n", ns, kind, name, "-o", "jsonpath="+path)
	if r.code != 0 {
		t.Fatalf("kubectl get %s/%s: %s", kind, name, r)
	}
	return r.out
}

// TestKubernetesAdmission runs Signet's webhooks behind a real
// kube-apiserver, registered as examples/kubernetes/ registers them, and
// creates real objects with kubectl.
func TestKubernetesAdmission(t *testing.T) {
	f := setupKube(t, "signet-webhook")
	f.registerWebhooks(t, exampleWebhookConfigs(t, f.w))
	c := f.c
	denied := regexp.MustCompile(`admission webhook "(mutate|validate)\.signet\.dev" denied the request: image \S+ denied by signet rule`)

	t.Run("signed pod by tag is stored pinned to the verified digest", func(t *testing.T) {
		expect(t, "kubectl apply", c.apply(t, pod("signed", f.signed), "-n", "apps"), 0)
		if got := c.jsonpath(t, "apps", "pod", "signed", "{.spec.containers[0].image}"); got != f.signed+"@"+f.digest {
			t.Fatalf("stored image %q, want %q", got, f.signed+"@"+f.digest)
		}
	})

	t.Run("unsigned pod is refused with Signet's reason as kubectl prints it", func(t *testing.T) {
		r := c.apply(t, pod("unsigned", f.unsigned), "-n", "apps")
		expect(t, "kubectl apply", r, 1, f.unsigned, "no signatures found")
		if !denied.MatchString(r.err) {
			t.Fatalf("kubectl did not show Signet's denial:\n%s", r)
		}
		t.Logf("kubectl apply of an unsigned Pod prints:\n%s", r.err)
		if r := c.kubectl(t, "get", "-n", "apps", "pod", "unsigned"); r.code == 0 {
			t.Fatal("the refused Pod was stored")
		}
	})

	t.Run("deployment's stored pod template is pinned", func(t *testing.T) {
		expect(t, "kubectl apply", c.apply(t, deployment("web", f.signed, 2), "-n", "apps"), 0)
		got := c.jsonpath(t, "apps", "deployment", "web", "{.spec.template.spec.containers[0].image}")
		if got != f.signed+"@"+f.digest {
			t.Fatalf("stored pod template image %q, want %q", got, f.signed+"@"+f.digest)
		}
		t.Logf("kubectl get deployment web -o jsonpath={.spec.template.spec.containers[0].image}: %s", got)
	})

	t.Run("deployment with replicas 0 is still judged", func(t *testing.T) {
		r := c.apply(t, deployment("idle", f.unsigned, 0), "-n", "apps")
		expect(t, "kubectl apply", r, 1, f.unsigned, "no signatures found")
	})

	t.Run("signed digest reference is admitted unchanged", func(t *testing.T) {
		ref := f.host + "/kube/prod/app@" + f.digest
		expect(t, "kubectl apply", c.apply(t, pod("bydigest", ref), "-n", "apps"), 0)
		if got := c.jsonpath(t, "apps", "pod", "bydigest", "{.spec.containers[0].image}"); got != ref {
			t.Fatalf("stored image %q, want %q unchanged", got, ref)
		}
	})

	t.Run("server-side dry run is judged and stores nothing", func(t *testing.T) {
		r := c.apply(t, pod("dry-unsigned", f.unsigned), "-n", "apps", "--dry-run=server")
		expect(t, "dry-run unsigned", r, 1, "no signatures found")
		r = c.apply(t, pod("dry-signed", f.signed), "-n", "apps", "--dry-run=server", "-o", "jsonpath={.spec.containers[0].image}")
		expect(t, "dry-run signed", r, 0)
		if r.out != f.signed+"@"+f.digest {
			t.Fatalf("dry run answered image %q, want it pinned", r.out)
		}
		if r := c.kubectl(t, "get", "-n", "apps", "pod", "dry-signed"); r.code == 0 {
			t.Fatal("a dry run stored the Pod")
		}
	})

	t.Run("exempt namespace is not judged", func(t *testing.T) {
		expect(t, "kubectl apply", c.apply(t, pod("tool", f.unsigned), "-n", "signet-system"), 0)
		if got := c.jsonpath(t, "signet-system", "pod", "tool", "{.spec.containers[0].image}"); got != f.unsigned {
			t.Fatalf("an exempt namespace's Pod was changed: %q", got)
		}
	})

	t.Run("warn mode warns once and records an audit annotation", func(t *testing.T) {
		r := c.apply(t, pod("staging", f.staging), "-n", "apps")
		expect(t, "kubectl apply", r, 0)
		// The validating webhook judges the object as the mutating one left
		// it: the tag pinned to the digest it resolved.
		if n := strings.Count(r.err, "Warning: signet "); n != 1 || !strings.Contains(r.err, "Warning: signet warn mode: image "+f.staging+"@sha256:") ||
			!strings.Contains(r.err, "would be denied") {
			t.Fatalf("kubectl showed the warning %d times, want once:\n%s", n, r)
		}
		t.Logf("kubectl apply of an unsigned staging Pod prints:\n%s", r.err)
		var lines []string
		deadline := time.Now().Add(10 * time.Second)
		for len(lines) == 0 && time.Now().Before(deadline) {
			lines = c.auditLines(t, `"ResponseComplete"`, `"/api/v1/namespaces/apps/pods`, `"create"`, "validate.signet.dev/warn-0")
			time.Sleep(200 * time.Millisecond)
		}
		if len(lines) != 1 {
			t.Fatalf("want one audit event with validate.signet.dev/warn-0, got %d", len(lines))
		}
		var ev struct {
			Annotations map[string]string `json:"annotations"`
		}
		if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil {
			t.Fatal(err)
		}
		got := ev.Annotations["validate.signet.dev/warn-0"]
		if !strings.HasPrefix(got, f.staging+"@sha256:") || !strings.Contains(got, "no signatures found") {
			t.Fatalf("audit annotation validate.signet.dev/warn-0 = %q", got)
		}
		t.Logf("audit log: validate.signet.dev/warn-0 = %s", got)
		// The API server logs an annotation key it cannot use; none must be.
		if b, _ := os.ReadFile(filepath.Join(stateDir, "kube-apiserver.log")); strings.Contains(string(b), "annotation key has invalid format") {
			t.Fatal("the API server dropped an audit annotation: invalid key")
		}
	})

	t.Run("a container another mutating webhook adds after Signet's is pinned on reinvocation, or refused", func(t *testing.T) {
		injector := startInjector(t)
		expect(t, "register the sidecar injector", c.apply(t, injectorConfig(injector)), 0)
		defer c.kubectl(t, "delete", "mutatingwebhookconfiguration", "zz-e2e-sidecar-injector")
		// Wait for the injector to be called (configurations take a moment).
		deadline := time.Now().Add(30 * time.Second)
		for {
			r := c.apply(t, injectedPod("inject-probe", f.signed, f.signed), "-n", "apps", "--dry-run=server", "-o", "jsonpath={.spec.containers[*].name}")
			if r.code == 0 && strings.Contains(r.out, "sidecar") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the sidecar injector was not called within 30s:\n%s", r)
			}
			time.Sleep(250 * time.Millisecond)
		}
		expect(t, "kubectl apply", c.apply(t, injectedPod("injected", f.signed, f.signed), "-n", "apps"), 0)
		got := c.jsonpath(t, "apps", "pod", "injected", "{.spec.containers[*].image}")
		if want := f.signed + "@" + f.digest + " " + f.signed + "@" + f.digest; got != want {
			t.Fatalf("stored images %q, want both pinned: %q", got, want)
		}
		r := c.apply(t, injectedPod("injected-unsigned", f.signed, f.unsigned), "-n", "apps")
		expect(t, "kubectl apply", r, 1, "image "+f.unsigned+" denied by signet rule", "no signatures found")
	})

	t.Run("a stalled registry is answered by the failure mode within the budget", func(t *testing.T) {
		// The examples' budget (8s) is under the webhook's timeoutSeconds
		// (10s): the user reads Signet's reason, not the API server's timeout.
		f.slow.Set(faultproxy.Rule{Kind: faultproxy.Stall, Path: regexp.MustCompile(`^/v2/kube/prod/app/`)})
		defer f.slow.Set()
		start := time.Now()
		r := c.apply(t, pod("stalled", f.slow.Host+"/kube/prod/app:v1"), "-n", "apps")
		expect(t, "kubectl apply", r, 1, `admission webhook "mutate.signet.dev" denied the request`, "did not finish within the 8s budget")
		t.Logf("registry stalled, answered after %s:\n%s", time.Since(start).Round(100*time.Millisecond), r.err)
	})

	// Last: it stops the webhook.
	t.Run("webhook down: failurePolicy Fail refuses, Ignore admits", func(t *testing.T) {
		f.w.stop()
		r := c.apply(t, pod("while-down", f.signed), "-n", "apps")
		expect(t, "kubectl apply with the webhook down", r, 1, "failed calling webhook")
		t.Logf("failurePolicy Fail, webhook down:\n%s", r.err)
		for _, kind := range []string{"mutatingwebhookconfiguration", "validatingwebhookconfiguration"} {
			expect(t, "kubectl patch", c.kubectl(t, "patch", kind, "signet", "--type=json",
				"-p", `[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Ignore"}]`), 0)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			r = c.apply(t, pod("while-down", f.unsigned), "-n", "apps")
			if r.code == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("failurePolicy Ignore did not admit within 30s:\n%s", r)
			}
			time.Sleep(250 * time.Millisecond)
		}
		if got := c.jsonpath(t, "apps", "pod", "while-down", "{.spec.containers[0].image}"); got != f.unsigned {
			t.Fatalf("stored %q", got)
		}
	})
}

// injector is a second mutating webhook, as a service mesh's sidecar
// injector is: it adds a container (image from the Pod's annotation) to
// Pods labelled inject=true, after Signet's webhook has run (configurations
// run in name order; its name sorts after "signet").
type injector struct {
	url string
	ca  []byte
}

func startInjector(t *testing.T) *injector {
	t.Helper()
	dir := filepath.Join(stateDir, "injector")
	os.MkdirAll(dir, 0o700)
	ca, certFile, keyFile, err := webhookCerts(dir)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Request    struct {
				UID    string `json:"uid"`
				Object struct {
					Metadata struct {
						Annotations map[string]string `json:"annotations"`
					} `json:"metadata"`
					Spec struct {
						Containers []struct {
							Name string `json:"name"`
						} `json:"containers"`
					} `json:"spec"`
				} `json:"object"`
			} `json:"request"`
		}
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		resp := map[string]any{"uid": review.Request.UID, "allowed": true}
		img := review.Request.Object.Metadata.Annotations["e2e.signet.dev/sidecar"]
		has := false
		for _, c := range review.Request.Object.Spec.Containers {
			has = has || c.Name == "sidecar"
		}
		if img != "" && !has {
			patch, _ := json.Marshal([]map[string]any{{"op": "add", "path": "/spec/containers/-", "value": map[string]string{"name": "sidecar", "image": img}}})
			resp["patchType"], resp["patch"] = "JSONPatch", base64.StdEncoding.EncodeToString(patch)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"apiVersion": review.APIVersion, "kind": review.Kind, "response": resp})
	}))
	srv.Listener.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &injector{url: srv.URL, ca: ca}
}

func injectorConfig(in *injector) string {
	return fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: zz-e2e-sidecar-injector}
webhooks:
  - name: inject.e2e.signet.dev
    clientConfig: {url: %q, caBundle: %s}
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Fail
    objectSelector: {matchLabels: {inject: "true"}}
    rules:
      - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}
`, in.url+"/inject", base64.StdEncoding.EncodeToString(in.ca))
}

func injectedPod(name, image, sidecar string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  labels: {inject: "true"}
  annotations: {e2e.signet.dev/sidecar: %q}
spec:
  containers:
    - {name: app, image: %q}
`, name, sidecar, image)
}
