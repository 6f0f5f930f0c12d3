package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const importFixtures = "../../migrate/testdata/"

// TestPolicyImport runs the command on the importer's fixtures: a complete
// import writes the policy, which validates; an incomplete one writes
// nothing and exits 1 unless --allow-partial is given; -o json carries the
// report (and the policy); --report writes the report to a file.
func TestPolicyImport(t *testing.T) {
	dir := t.TempDir()
	complete := importFixtures + "kyverno/key.yaml"
	partial := importFixtures + "kyverno/attestation-conditions.yaml"

	t.Run("complete", func(t *testing.T) {
		out, stderr, code := signet(t, "policy", "import", complete)
		if code != exitOK || !strings.HasPrefix(out, "# Imported by signet policy import") || !strings.Contains(stderr, "1 rule; 0 untranslated, 1 stricter") {
			t.Fatalf("exit %d\n%s%s", code, out, stderr)
		}
		p := filepath.Join(dir, "p.yaml")
		if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, stderr, code := signet(t, "policy", "validate", p); code != exitOK {
			t.Fatalf("the imported policy does not validate: exit %d\n%s%s", code, out, stderr)
		}
	})
	t.Run("incomplete writes nothing", func(t *testing.T) {
		file := filepath.Join(dir, "never.yaml")
		out, stderr, code := signet(t, "policy", "import", partial, "--output-file", file)
		if code != exitError || out != "" {
			t.Fatalf("exit %d, stdout %q; want 1 and nothing", code, out)
		}
		for _, want := range []string{
			"✗ UNTRANSLATED ClusterPolicy attest-code-review rule attest, verifyImages[0].attestations[0].conditions",
			"conditions (JMESPath) not translated; left out, the rule would be MORE permissive than the original",
			"operator: AnyIn",
			"the import is incomplete: 1 part is UNTRANSLATED (listed above); nothing was written",
			"--allow-partial",
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr does not say %q:\n%s", want, stderr)
			}
		}
		if _, err := os.Stat(file); !os.IsNotExist(err) {
			t.Errorf("%s was written: %v", file, err)
		}
	})
	t.Run("allow-partial writes the placeholders", func(t *testing.T) {
		file := filepath.Join(dir, "partial.yaml")
		_, stderr, code := signet(t, "policy", "import", partial, "--allow-partial", "--output-file", file)
		if code != exitOK || !strings.Contains(stderr, "wrote "+file) {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		b, err := os.ReadFile(file)
		if err != nil || !strings.Contains(string(b), `condition: "false"`) || !strings.Contains(string(b), "# UNTRANSLATED Kyverno conditions") {
			t.Fatalf("the policy has no placeholder: %v\n%s", err, b)
		}
		if out, stderr, code := signet(t, "policy", "validate", file); code != exitOK {
			t.Fatalf("the partial policy does not validate: exit %d\n%s%s", code, out, stderr)
		}
	})
	t.Run("json", func(t *testing.T) {
		report := filepath.Join(dir, "report.json")
		out, stderr, code := signet(t, "policy", "import", partial, "-o", "json", "--report", report)
		if code != exitError || !strings.Contains(stderr, "the import is incomplete") {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		var got importOutput
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("stdout is not the JSON report: %v\n%s", err, out)
		}
		if got.Complete || got.Policy != nil || got.Counts["untranslated"] != 1 || len(got.Findings) == 0 || got.Findings[0].Original == "" {
			t.Errorf("report %+v: want incomplete, no policy, one untranslated finding with its original", got)
		}
		b, err := os.ReadFile(report)
		if err != nil || !bytes.Contains(b, []byte(`"severity": "untranslated"`)) {
			t.Errorf("--report: %v\n%s", err, b)
		}
		out, _, code = signet(t, "policy", "import", complete, "-o", "json")
		if err := json.Unmarshal([]byte(out), &got); err != nil || code != exitOK || got.Policy == nil || len(got.Policy.Images) != 1 {
			t.Errorf("exit %d, %v: want the policy in the JSON\n%s", code, err, out)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		b, err := os.ReadFile(complete)
		if err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"policy", "import", "-"}, bytes.NewReader(b), &out, &errOut)
		if code != exitOK || !strings.Contains(out.String(), "ghcr.io/kyverno/test-verify-image**") || !strings.Contains(out.String(), "(-)") {
			t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
		}
	})
	t.Run("nothing to import", func(t *testing.T) {
		p := filepath.Join(dir, "cm.yaml")
		if err := os.WriteFile(p, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := signet(t, "policy", "import", p)
		if code != exitError || !strings.Contains(stderr, "no image verification policy found") || !strings.Contains(stderr, "v1 ConfigMap is not an image verification policy") {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
	})
}
