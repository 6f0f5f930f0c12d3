// Package ci holds the CI recipes' static checks: actionlint over the GitHub
// Actions workflow and composite actions, the GitLab CI files' structure, and
// the example policies. cmd/signet's TestCIRecipeGitHubActions and
// TestCIRecipeGitLab run the recipes' shell steps.
package ci

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/policy"
)

// actionlint is pinned; it is built once per version into the user's cache
// directory (outside the clone), with `go install`, as e2e/tools.sh builds
// the e2e tools.
const (
	actionlintModule  = "github.com/rhysd/actionlint/cmd/actionlint"
	actionlintVersion = "v1.7.12"
)

// actionlintBinary returns the pinned actionlint, building it on first use
// (about 15 s cold on 2 cores with the module proxy; nothing after).
// SIGNET_TOOLS_CACHE overrides where it is kept.
func actionlintBinary(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("SIGNET_TOOLS_CACHE")
	if cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			t.Fatalf("no cache directory for actionlint (set SIGNET_TOOLS_CACHE): %v", err)
		}
		cache = filepath.Join(dir, "signet-tools")
	}
	dir := filepath.Join(cache, "actionlint-"+actionlintVersion)
	bin := filepath.Join(dir, "actionlint")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	tmp := dir + ".tmp-" + hex.EncodeToString(suffix)
	defer os.RemoveAll(tmp)
	start := time.Now()
	cmd := exec.Command("go", "install", actionlintModule+"@"+actionlintVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building actionlint %s (go install needs the Go module proxy the first time): %v\n%s", actionlintVersion, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(bin); statErr != nil {
			t.Fatal(err)
		}
	}
	t.Logf("built actionlint %s into %s in %s (once per version)", actionlintVersion, dir, time.Since(start).Round(time.Second))
	return bin
}

// composites are the composite actions, by directory.
func composites(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob("github/actions/*")
	if err != nil || len(dirs) < 2 {
		t.Fatalf("composite actions under github/actions: %v %v", dirs, err)
	}
	return dirs
}

// asReusableWorkflow wraps a composite action's steps in a workflow_call
// workflow with the same inputs, so actionlint checks the steps too (it
// checks workflows, and a workflow's use of a local action's inputs, but not
// the steps of an action.yml).
func asReusableWorkflow(t *testing.T, actionFile string) []byte {
	t.Helper()
	b, err := os.ReadFile(actionFile)
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Inputs map[string]struct {
			Required bool    `yaml:"required"`
			Default  *string `yaml:"default"`
		} `yaml:"inputs"`
		Runs struct {
			Steps yaml.Node `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatalf("%s: %v", actionFile, err)
	}
	inputs := map[string]any{}
	for k, in := range a.Inputs {
		spec := map[string]any{"type": "string", "required": in.Required}
		if in.Default != nil {
			spec["default"] = *in.Default
		}
		inputs[k] = spec
	}
	wf := map[string]any{
		"name":        "composite " + filepath.Base(filepath.Dir(actionFile)),
		"on":          map[string]any{"workflow_call": map[string]any{"inputs": inputs}},
		"permissions": map[string]any{},
		"jobs":        map[string]any{"composite": map[string]any{"runs-on": "ubuntu-24.04", "steps": &a.Runs.Steps}},
	}
	out, err := yaml.Marshal(wf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestActionlint lints the workflow, and each composite action's steps, as
// a repository that copied examples/ci/github into .github.
func TestActionlint(t *testing.T) {
	bin := actionlintBinary(t)
	repo := t.TempDir()
	copyDir(t, "github", filepath.Join(repo, ".github"))
	for _, dir := range composites(t) {
		wf := filepath.Join(repo, ".github/workflows", "composite-"+filepath.Base(dir)+".yml")
		if err := os.WriteFile(wf, asReusableWorkflow(t, filepath.Join(dir, "action.yml")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-no-color")
	cmd.Dir = repo
	// actionlint finds the repository by its .git directory.
	if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("actionlint %s found problems (%v):\n%s", actionlintVersion, err, out)
	}

	t.Run("it catches a mistake", func(t *testing.T) {
		// The control: an input the action does not have, in the workflow.
		bad := filepath.Join(repo, ".github/workflows/release.yml")
		b, _ := os.ReadFile(bad)
		b = bytes.Replace(b, []byte("          sbom: sbom.cdx.json\n"), []byte("          sbom: sbom.cdx.json\n          sbom-file: x\n"), 1)
		os.WriteFile(bad, b, 0o644)
		cmd := exec.Command(bin, "-no-color")
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !strings.Contains(string(out), `input "sbom-file" is not defined`) {
			t.Fatalf("actionlint accepted an undefined input (%v):\n%s", err, out)
		}
	})
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestGitHubRecipeRules checks what actionlint does not: the default path is
// keyless (the signing job may ask for an OIDC token, nothing else may),
// signet is installed pinned, and no ${{ }} lands inside a script.
func TestGitHubRecipeRules(t *testing.T) {
	var wf struct {
		Permissions map[string]string `yaml:"permissions"`
		Jobs        map[string]struct {
			Permissions map[string]string `yaml:"permissions"`
			Steps       []struct {
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	readYAML(t, "github/workflows/release.yml", &wf)
	if wf.Permissions == nil || len(wf.Permissions) != 0 {
		t.Errorf("the workflow's default permissions are %v, want {} (each job asks for what it needs)", wf.Permissions)
	}
	expr := regexp.MustCompile(`\$\{\{`)
	signers := 0
	for name, job := range wf.Jobs {
		for _, st := range job.Steps {
			if expr.MatchString(st.Run) {
				t.Errorf("job %s: ${{ }} inside run: (a script injection risk; pass values through env:)", name)
			}
			if st.Uses != "" && !strings.HasPrefix(st.Uses, "./") && !strings.Contains(st.Uses, "@") {
				t.Errorf("job %s: %s is not pinned to a version", name, st.Uses)
			}
			if strings.HasSuffix(st.Uses, "/signet-release") {
				signers++
				if job.Permissions["id-token"] != "write" {
					t.Errorf("job %s signs keyless but lacks permissions: id-token: write", name)
				}
			}
		}
		if job.Permissions["id-token"] == "write" && !slices.ContainsFunc(job.Steps, func(s struct {
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
		}) bool {
			return strings.HasSuffix(s.Uses, "/signet-release")
		}) {
			t.Errorf("job %s may mint OIDC tokens but does not sign", name)
		}
	}
	if signers != 1 {
		t.Errorf("%d jobs sign, want 1", signers)
	}
	for _, dir := range composites(t) {
		var a struct {
			Inputs map[string]struct {
				Required bool    `yaml:"required"`
				Default  *string `yaml:"default"`
			} `yaml:"inputs"`
			Runs struct {
				Using string `yaml:"using"`
				Steps []struct {
					Run   string `yaml:"run"`
					Shell string `yaml:"shell"`
				} `yaml:"steps"`
			} `yaml:"runs"`
		}
		readYAML(t, filepath.Join(dir, "action.yml"), &a)
		if v := a.Inputs["signet-version"]; !v.Required || v.Default != nil {
			t.Errorf("%s: signet-version must be required with no default (each user pins one)", dir)
		}
		installs := 0
		for i, st := range a.Runs.Steps {
			if st.Run == "" {
				continue
			}
			if st.Shell != "bash" || expr.MatchString(st.Run) {
				t.Errorf("%s step %d: shell %q (want bash), ${{ }} in run: %v", dir, i+1, st.Shell, expr.MatchString(st.Run))
			}
			if strings.Contains(st.Run, `go install "github.com/signet-dev/signet/cmd/signet@$SIGNET_VERSION"`) {
				installs++
			}
		}
		if a.Runs.Using != "composite" || installs != 1 {
			t.Errorf("%s: runs.using %q, %d pinned installs of signet (want composite, 1)", dir, a.Runs.Using, installs)
		}
	}
}

// TestGitLabRecipeStructure checks the GitLab files as GitLab would parse
// them: the template's hidden jobs, the keyless token's audience, and every
// job of the pipeline with a stage it lists and a script.
func TestGitLabRecipeStructure(t *testing.T) {
	var tmpl map[string]map[string]any
	readYAML(t, "gitlab/signet.gitlab-ci.yml", &tmpl)
	for _, hidden := range []string{".signet", ".signet-release", ".signet-verify"} {
		if tmpl[hidden] == nil {
			t.Fatalf("the template has no %s", hidden)
		}
	}
	ids, _ := tmpl[".signet-release"]["id_tokens"].(map[string]any)
	tok, _ := ids["SIGSTORE_ID_TOKEN"].(map[string]any)
	if tok["aud"] != "sigstore" {
		t.Errorf(".signet-release id_tokens = %v, want SIGSTORE_ID_TOKEN with aud sigstore", ids)
	}
	for name, job := range tmpl {
		if _, ok := job["id_tokens"]; ok && name != ".signet-release" {
			t.Errorf("%s has id_tokens; only the signing job may mint OIDC tokens", name)
		}
	}

	var n yaml.Node
	b, err := os.ReadFile("gitlab/gitlab-ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &n); err != nil {
		t.Fatal(err)
	}
	var pipeline struct {
		Include   []map[string]string `yaml:"include"`
		Stages    []string            `yaml:"stages"`
		Variables map[string]string   `yaml:"variables"`
	}
	if err := n.Decode(&pipeline); err != nil {
		t.Fatal(err)
	}
	if len(pipeline.Include) != 1 || pipeline.Include[0]["local"] != ".gitlab/signet.gitlab-ci.yml" {
		t.Errorf("include = %v, want the template at .gitlab/signet.gitlab-ci.yml", pipeline.Include)
	}
	if v := pipeline.Variables["SIGNET_VERSION"]; !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(v) {
		t.Errorf("SIGNET_VERSION = %q, want a pinned release", v)
	}
	top := n.Content[0].Content
	jobs := 0
	for i := 0; i < len(top); i += 2 {
		name := top[i].Value
		if slices.Contains([]string{"include", "stages", "variables"}, name) {
			continue
		}
		jobs++
		var job struct {
			Stage   string    `yaml:"stage"`
			Extends string    `yaml:"extends"`
			Script  yaml.Node `yaml:"script"`
		}
		if err := top[i+1].Decode(&job); err != nil {
			t.Fatalf("job %s: %v", name, err)
		}
		if !slices.Contains(pipeline.Stages, job.Stage) {
			t.Errorf("job %s: stage %q not in stages %v", name, job.Stage, pipeline.Stages)
		}
		if job.Script.Kind == 0 && tmpl[job.Extends]["script"] == nil {
			t.Errorf("job %s has no script, nor extends a job with one", name)
		}
	}
	if jobs != 4 {
		t.Errorf("%d jobs, want build, scan, sign, deploy", jobs)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestPolicies loads every example policy as the gate would, with a
// generated release.pub beside the key-based ones.
func TestPolicies(t *testing.T) {
	files, _ := filepath.Glob("*/signet/*.yaml")
	if len(files) != 4 {
		t.Fatalf("policies: %v", files)
	}
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	_, pubFile, err := keys.WriteKeyPair(filepath.Join(t.TempDir(), "release"), priv, []byte("pw"), false)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, filepath.Dir(f), dir)
			if err := os.WriteFile(filepath.Join(dir, "release.pub"), pub, 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := policy.Load(filepath.Join(dir, filepath.Base(f)), keys.Loader{})
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Rules) != 1 || c.DefaultAllow {
				t.Fatalf("want one rule and default deny, got %d rules, default allow %v", len(c.Rules), c.DefaultAllow)
			}
		})
	}
}

// TestGitLabScriptsShellcheck runs shellcheck (POSIX sh, as GitLab's images
// may only have that) over the template's jobs, before_script and script
// together as the runner joins them. actionlint does the same for the
// GitHub steps when shellcheck is on PATH.
func TestGitLabScriptsShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck is not on PATH (apt-get install shellcheck); actionlint leaves out its shellcheck rule then too")
	}
	var tmpl map[string]struct {
		BeforeScript []string `yaml:"before_script"`
		Script       []string `yaml:"script"`
	}
	readYAML(t, "gitlab/signet.gitlab-ci.yml", &tmpl)
	for _, job := range []string{".signet-release", ".signet-verify"} {
		t.Run(job, func(t *testing.T) {
			script := "#!/bin/sh\n" + strings.Join(append(tmpl[".signet"].BeforeScript, tmpl[job].Script...), "\n")
			f := filepath.Join(t.TempDir(), "job.sh")
			if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(sc, "-s", "sh", f).CombinedOutput(); err != nil {
				t.Fatalf("shellcheck on %s (before_script + script): %v\n%s", job, err, out)
			}
		})
	}
}
