// Package helm holds the tests of the Helm chart in signet/: helm lint
// --strict and helm template, with the Helm that e2e/kube-tools.sh builds
// (pinned, from its Go module), for the default values and several value
// sets, and what the rendered objects must say. The chart's webhook
// configurations, pod and cert-manager objects are compared with
// examples/kubernetes, so the two cannot drift apart; the arguments it
// passes to `signet admission serve` are kept in testdata/serve-args.json,
// which cmd/signet's TestHelmChartServeArgs parses with the real command.
package helm

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const (
	chartDir    = "signet"
	examplesDir = "../../examples/kubernetes"
	toolsScript = "../../e2e/kube-tools.sh"
)

// inCI says whether the CI variable is set, as GitHub Actions, GitLab CI
// and most others set it (CI=true).
func inCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

var helmOnce struct {
	sync.Once
	path string
	err  error
	took time.Duration
}

// helmBinary returns the pinned Helm, built by e2e/kube-tools.sh into its
// version-keyed cache on first use (about two minutes cold on 2 cores; the
// Go module proxy is needed then) and reused after. Without it the test
// skips, saying why — except in CI, where it fails.
func helmBinary(t *testing.T) string {
	t.Helper()
	helmOnce.Do(func() {
		start := time.Now()
		helmOnce.path, helmOnce.err = buildHelm()
		helmOnce.took = time.Since(start)
	})
	if helmOnce.err != nil {
		why := "Helm could not be built (the first build needs the Go module proxy), so the chart is not linted or rendered: " + helmOnce.err.Error()
		if inCI() {
			t.Fatal(why + " (CI is set, so this fails instead of skipping)")
		}
		t.Skip(why)
	}
	if helmOnce.took > 20*time.Second {
		t.Logf("e2e/kube-tools.sh helm took %s (a first build; reused after)", helmOnce.took.Round(time.Second))
	}
	return helmOnce.path
}

// buildHelm runs the tools script for helm and finds the binary by the
// version the script pins.
func buildHelm() (string, error) {
	script, err := os.ReadFile(toolsScript)
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^helm_version=(v[0-9][^\s#]*)`).FindSubmatch(script)
	if m == nil {
		return "", errors.New("e2e/kube-tools.sh has no helm_version= line to say which Helm it builds")
	}
	if out, err := exec.Command("bash", toolsScript, "helm").CombinedOutput(); err != nil {
		return "", errors.New("e2e/kube-tools.sh helm: " + err.Error() + "\n" + string(out))
	}
	dir, err := exec.Command("bash", toolsScript, "--print-dir").Output()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(strings.TrimSpace(string(dir)), "helm-"+string(m[1]), "helm")
	if _, err := os.Stat(bin); err != nil {
		return "", errors.New("e2e/kube-tools.sh helm ran but left no binary: " + err.Error())
	}
	return bin, nil
}

// release says where a render installs: name and namespace.
type release struct{ name, namespace string }

var defaultRelease = release{"signet", "signet-system"}

// writeValues writes values as a YAML file for helm's -f.
func writeValues(t *testing.T, values map[string]any) string {
	t.Helper()
	b, err := yaml.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir(): helm's -f splits its argument at commas, and a
	// subtest's name may have some.
	dir, err := os.MkdirTemp("", "signet-chart-values-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// helm runs the pinned helm, with no cluster; it returns stdout, and
// stderr as the error's text when it fails.
func helm(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	return helmWith(t, filepath.Join(t.TempDir(), "no-kubeconfig"), args...)
}

// helmWith runs the pinned helm with a kubeconfig.
func helmWith(t *testing.T, kubeconfig string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	// Keep helm's own state out of the user's directories.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home, "KUBECONFIG="+kubeconfig)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), errors.New(strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// lint runs helm lint --strict with values.
func lint(t *testing.T, values map[string]any) {
	t.Helper()
	if out, err := helm(t, "lint", "--strict", "-n", defaultRelease.namespace, "-f", writeValues(t, values), chartDir); err != nil {
		t.Fatalf("helm lint --strict: %v\n%s", err, out)
	}
}

// render runs helm template with values.
func render(t *testing.T, rel release, values map[string]any) (objects, error) {
	t.Helper()
	out, err := helm(t, "template", rel.name, chartDir, "-n", rel.namespace, "-f", writeValues(t, values))
	if err != nil {
		return nil, err
	}
	return parseObjects(t, out), nil
}

// object is one rendered manifest.
type object struct {
	Kind, Name, Namespace string
	JSON                  []byte
	Map                   map[string]any
}

// objects are a render's manifests, in order.
type objects []object

func parseObjects(t *testing.T, data []byte) objects {
	t.Helper()
	var out objects
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("helm template printed YAML that does not parse: %v\n%s", err, data)
		}
		if m == nil {
			continue
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var meta struct {
			Kind     string
			Metadata struct{ Name, Namespace string }
		}
		json.Unmarshal(b, &meta)
		out = append(out, object{Kind: meta.Kind, Name: meta.Metadata.Name, Namespace: meta.Metadata.Namespace, JSON: b, Map: m})
	}
}

// ofKind returns the objects of a kind.
func (o objects) ofKind(kind string) objects {
	var out objects
	for _, x := range o {
		if x.Kind == kind {
			out = append(out, x)
		}
	}
	return out
}

// kinds counts the objects by kind.
func (o objects) kinds() map[string]int {
	out := map[string]int{}
	for _, x := range o {
		out[x.Kind]++
	}
	return out
}

// one returns the only object of a kind, decoded strictly into v (a typo'd
// field in a template is an error, not a field Kubernetes drops).
func (o objects) one(t *testing.T, kind string, v any) object {
	t.Helper()
	of := o.ofKind(kind)
	if len(of) != 1 {
		t.Fatalf("want one %s, the chart rendered %d (kinds: %v)", kind, len(of), o.kinds())
	}
	if v != nil {
		strict(t, of[0].JSON, v)
	}
	return of[0]
}

// named returns the object of a kind and name.
func (o objects) named(t *testing.T, kind, name string, v any) object {
	t.Helper()
	for _, x := range o {
		if x.Kind == kind && x.Name == name {
			if v != nil {
				strict(t, x.JSON, v)
			}
			return x
		}
	}
	t.Fatalf("the chart rendered no %s %q (kinds: %v)", kind, name, o.kinds())
	return object{}
}

func strict(t *testing.T, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %s: %v", data[:min(len(data), 120)], err)
	}
}

// example reads examples/kubernetes/FILE's documents.
func example(t *testing.T, file string) objects {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(examplesDir, file))
	if err != nil {
		t.Fatal(err)
	}
	return parseObjects(t, data)
}

// jsonOf marshals v for comparisons and messages.
func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// jsonIndent marshals v for files people read and diff.
func jsonIndent(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b) + "\n"
}
