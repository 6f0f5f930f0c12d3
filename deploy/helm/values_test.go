package helm

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestChartRefuses: values that cannot work fail helm template, with a
// message that says what to change — by values.schema.json (typos, types,
// enums) or by the chart's own checks (combinations).
func TestChartRefuses(t *testing.T) {
	helmBinary(t)
	for _, c := range []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"a budget equal to the timeout", map[string]any{"admission": map[string]any{"budget": "10s"}},
			"admission.budget (10s) must be shorter than webhook.timeoutSeconds (10s): the API server stops waiting at timeoutSeconds"},
		{"a budget over the timeout", map[string]any{"admission": map[string]any{"budget": "1m30s"}},
			"admission.budget (1m30s) must be shorter than webhook.timeoutSeconds (10s)"},
		{"a budget over a raised timeout", map[string]any{"admission": map[string]any{"budget": "20500ms"}, "webhook": map[string]any{"timeoutSeconds": 20}},
			"admission.budget (20500ms) must be shorter than webhook.timeoutSeconds (20s)"},
		{"a zero budget", map[string]any{"admission": map[string]any{"budget": "0s"}},
			`admission.budget is "0s": it must be longer than zero`},
		{"a budget in units the chart cannot compare", map[string]any{"admission": map[string]any{"budget": "8"}},
			"at '/admission/budget'"},
		{"a typo", map[string]any{"webhook": map[string]any{"failurepolicy": "Ignore"}},
			"additional properties 'failurepolicy' not allowed"},
		{"a timeout over the API server's 30s", map[string]any{"webhook": map[string]any{"timeoutSeconds": 31}},
			"at '/webhook/timeoutSeconds'"},
		{"a timeout as text", map[string]any{"webhook": map[string]any{"timeoutSeconds": "10"}},
			"at '/webhook/timeoutSeconds': got string, want integer"},
		{"an unknown failure mode", map[string]any{"admission": map[string]any{"failureMode": "open"}},
			"at '/admission/failureMode'"},
		{"an unknown failure policy", map[string]any{"webhook": map[string]any{"failurePolicy": "fail"}},
			"at '/webhook/failurePolicy'"},
		{"an unknown policy source", map[string]any{"policySource": "configmap"},
			"at '/policySource'"},
		{"a webhook URL without TLS", map[string]any{"webhook": map[string]any{"url": "http://10.0.2.2:9443"}},
			"at '/webhook/url'"},
		{"a webhook URL and cert-manager", map[string]any{"webhook": map[string]any{"url": "https://10.0.2.2:9443"}, "certManager": map[string]any{"enabled": true}},
			"webhook.url is set, so the chart runs no webhook and issues no certificate"},
		{"an existing ConfigMap with policy resources", map[string]any{"policySource": "kubernetes", "policy": map[string]any{"existingConfigMap": "mine"}},
			"policy.existingConfigMap is read only with policySource file"},
		{"policy.yaml among the files", map[string]any{"policy": map[string]any{"files": map[string]any{"policy.yaml": "x"}}},
			"policy.files cannot hold policy.yaml"},
		{"renewal before the certificate is issued", map[string]any{"generatedCertificates": map[string]any{"renewBeforeDays": 365}},
			"generatedCertificates.renewBeforeDays (365) must be less than validityDays (365)"},
		{"a digest that is not one", map[string]any{"image": map[string]any{"digest": "latest"}},
			"at '/image/digest'"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := render(t, defaultRelease, c.values)
			if err == nil {
				t.Fatalf("helm template accepted %s", jsonOf(c.values))
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("helm template refused %s saying\n%v\nwant a message with %q", jsonOf(c.values), err, c.want)
			}
		})
	}
}

// TestChartRefusesDefaultNamespace: the release namespace is exempt from
// the webhooks (so a broken webhook can be fixed). Installed without -n,
// that is default, and every Pod there would run unchecked: the render
// must refuse instead.
func TestChartRefusesDefaultNamespace(t *testing.T) {
	helmBinary(t)
	_, err := render(t, release{"signet", "default"}, map[string]any{})
	if err == nil {
		t.Fatal("helm template into namespace default rendered webhooks that never judge the default namespace")
	}
	if want := "the release namespace is default"; !strings.Contains(err.Error(), want) {
		t.Errorf("helm template refused saying\n%v\nwant a message with %q", err, want)
	}
}

// opaque are the values passed through whole as Kubernetes objects.
var opaque = []string{"resources"}

// leaves returns the dotted paths of a values tree's settings: scalars,
// lists, empty maps and opaque values.
func leaves(prefix string, v any) []string {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 || slices.Contains(opaque, prefix) {
		return []string{prefix}
	}
	var out []string
	for k, x := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		out = append(out, leaves(p, x)...)
	}
	sort.Strings(out)
	return out
}

// schemaLeaves returns the dotted paths values.schema.json describes.
func schemaLeaves(prefix string, s map[string]any) []string {
	props, _ := s["properties"].(map[string]any)
	if len(props) == 0 || s["additionalProperties"] != false || slices.Contains(opaque, prefix) {
		return []string{prefix}
	}
	var out []string
	for k, x := range props {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		out = append(out, schemaLeaves(p, x.(map[string]any))...)
	}
	sort.Strings(out)
	return out
}

// TestChartValuesDocumented: values.yaml, values.schema.json and the
// README's table name the same settings, so none is undocumented,
// unchecked or dead.
func TestChartValuesDocumented(t *testing.T) {
	var values map[string]any
	var schema map[string]any
	data, err := os.ReadFile(chartDir + "/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &values); err != nil {
		t.Fatal(err)
	}
	if data, err = os.ReadFile(chartDir + "/values.schema.json"); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(chartDir + "/README.md")
	if err != nil {
		t.Fatal(err)
	}
	vl := leaves("", values)
	sl := slices.DeleteFunc(schemaLeaves("", schema), func(p string) bool { return p == "global" })
	if !slices.Equal(vl, sl) {
		t.Errorf("values.yaml and values.schema.json describe different settings:\n values: %v\n schema: %v", vl, sl)
	}
	row := regexp.MustCompile("(?m)^\\| `([^`]+)` \\|")
	var documented []string
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		documented = append(documented, m[1])
	}
	sort.Strings(documented)
	if !slices.Equal(vl, documented) {
		t.Errorf("the README's values table (rows | `key` |) and values.yaml differ:\n values: %v\n README: %v", vl, documented)
	}
}

// TestChartVersions: the chart is apiVersion v2 with a semver version, and
// its appVersion is a release tag — the tag of the image the example
// deployment runs (a release bumps both; README.md, "Versions").
func TestChartVersions(t *testing.T) {
	var chart struct {
		APIVersion string `yaml:"apiVersion"`
		Name       string `yaml:"name"`
		Version    string `yaml:"version"`
		AppVersion string `yaml:"appVersion"`
	}
	data, err := os.ReadFile(chartDir + "/Chart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &chart); err != nil {
		t.Fatal(err)
	}
	semver := regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)
	if chart.APIVersion != "v2" || chart.Name != "signet" || !semver.MatchString(chart.Version) || !semver.MatchString(strings.TrimPrefix(chart.AppVersion, "v")) || !strings.HasPrefix(chart.AppVersion, "v") {
		t.Errorf("Chart.yaml: apiVersion %q name %q version %q appVersion %q; want v2, signet, a semver version and a release tag vX.Y.Z", chart.APIVersion, chart.Name, chart.Version, chart.AppVersion)
	}
	ex := example(t, "deployment.yaml").ofKind("Deployment")[0].Map
	image := ex["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"].(string)
	if !strings.HasSuffix(image, ":"+chart.AppVersion) {
		t.Errorf("examples/kubernetes/deployment.yaml runs %s, the chart's appVersion is %s: bump them together", image, chart.AppVersion)
	}
}
