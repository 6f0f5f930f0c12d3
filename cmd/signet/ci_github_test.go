package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// A small GitHub Actions runner for the recipes in examples/ci/github: it
// runs a workflow's jobs in order of needs, each step's run script with
// bash as GitHub does, local composite actions step by step, and stands in
// for the third-party actions the workflow uses. Expressions are limited to
// context lookups (${{ steps.x.outputs.y }}); anything else, an unknown key,
// a step output nobody set or an undeclared input fails the test, so the
// recipes stay within what this runner checks.

type ghWorkflow struct {
	Name        string            `yaml:"name"`
	On          yaml.Node         `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Env         map[string]string `yaml:"env"`
	Jobs        map[string]ghJob  `yaml:"jobs"`
}

type ghJob struct {
	Needs       stringList        `yaml:"needs"`
	RunsOn      string            `yaml:"runs-on"`
	Environment string            `yaml:"environment"`
	Permissions map[string]string `yaml:"permissions"`
	Outputs     map[string]string `yaml:"outputs"`
	Env         map[string]string `yaml:"env"`
	Steps       []ghStep          `yaml:"steps"`
}

// stringList is a YAML string or list of strings (needs: build, needs: [a, b]).
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = stringList{n.Value}
		return nil
	}
	return n.Decode((*[]string)(l))
}

type ghStep struct {
	ID    string            `yaml:"id"`
	Name  string            `yaml:"name"`
	If    string            `yaml:"if"`
	Uses  string            `yaml:"uses"`
	Run   string            `yaml:"run"`
	Shell string            `yaml:"shell"`
	With  map[string]string `yaml:"with"`
	Env   map[string]string `yaml:"env"`
}

type ghAction struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Inputs      map[string]struct {
		Description string  `yaml:"description"`
		Required    bool    `yaml:"required"`
		Default     *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
		Value       string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string   `yaml:"using"`
		Steps []ghStep `yaml:"steps"`
	} `yaml:"runs"`
}

// decodeStrict reads YAML into v, refusing keys v does not name.
func decodeStrict(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ghScenario is one run of the workflow.
type ghScenario struct {
	world    *ciWorld
	ws       string            // the repository checkout
	env      map[string]string // workflow env the user set (overrides the file's)
	secrets  map[string]string
	token    func() string // the Actions OIDC token endpoint's answer; nil: none
	critical bool          // the scanner finds a fixable critical vulnerability
	noDigest bool          // the build reports no digest (it did not push)
	state    string        // the fake tools' memory (installs)
	// image, when set, is needs.build.outputs.image for a deploy run alone.
	image string
}

// ghJobResult is what a job left.
type ghJobResult struct {
	log     strings.Builder
	outputs map[string]string
	failed  error
}

// ghContext is what ${{ }} expressions see.
type ghContext struct {
	contexts map[string]map[string]string // env, github, runner, secrets, inputs
	steps    map[string]map[string]string // step id -> outputs
	needs    map[string]map[string]string // job -> outputs
}

var ghExpr = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)
var ghPath = regexp.MustCompile(`^[a-z]+(\.[A-Za-z0-9_-]+)+$`)

// eval replaces each ${{ path }} in s.
func (c *ghContext) eval(s string) (string, error) {
	var firstErr error
	out := ghExpr.ReplaceAllStringFunc(s, func(m string) string {
		v, err := c.lookup(ghExpr.FindStringSubmatch(m)[1])
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	})
	return out, firstErr
}

func (c *ghContext) lookup(expr string) (string, error) {
	if !ghPath.MatchString(expr) {
		return "", fmt.Errorf("expression %q: this test's runner understands only context lookups", expr)
	}
	p := strings.Split(expr, ".")
	switch {
	case (p[0] == "steps" || p[0] == "needs") && len(p) == 4 && p[2] == "outputs":
		src := c.steps
		if p[0] == "needs" {
			src = c.needs
		}
		outs, ok := src[p[1]]
		if !ok {
			return "", fmt.Errorf("expression %q: no %s %q ran before", expr, strings.TrimSuffix(p[0], "s"), p[1])
		}
		v, ok := outs[p[3]]
		if !ok {
			return "", fmt.Errorf("expression %q: %s has no output %q (it set %v)", expr, p[1], p[3], keysOf(outs))
		}
		return v, nil
	case len(p) == 2:
		ctx, ok := c.contexts[p[0]]
		if !ok {
			return "", fmt.Errorf("expression %q: no context %q here", expr, p[0])
		}
		v, ok := ctx[p[1]]
		if !ok && p[0] != "secrets" && p[0] != "env" {
			return "", fmt.Errorf("expression %q: %s has no %q", expr, p[0], p[1])
		}
		return v, nil
	}
	return "", fmt.Errorf("expression %q: not a lookup this runner knows", expr)
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func (c *ghContext) evalMap(m map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(m))
	for k, v := range m {
		e, err := c.eval(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = e
	}
	return out, nil
}

const (
	ghRepository = "example/app"
	ghSHA        = "0123456789abcdef0123456789abcdef01234567"
	ghWorkflowID = ghRepository + "/.github/workflows/release.yml@refs/heads/main"
)

// githubContext is the github context of a push to main.
func githubContext(job string) map[string]string {
	return map[string]string{
		"repository": ghRepository, "repository_owner": "example", "repository_id": "1001", "repository_owner_id": "1000",
		"sha": ghSHA, "ref": "refs/heads/main", "ref_name": "main", "ref_type": "branch",
		"server_url": "https://github.com", "workflow": "release", "workflow_ref": ghWorkflowID,
		"run_id": "4242", "run_attempt": "1", "event_name": "push", "actor": "octocat", "job": job,
	}
}

// runWorkflow runs the workflow's jobs in order of needs; only is the job
// to run alone, if set.
func (s *ghScenario) runWorkflow(t *testing.T, only string) map[string]*ghJobResult {
	t.Helper()
	var wf ghWorkflow
	if err := decodeStrict(filepath.Join(s.ws, ".github/workflows/release.yml"), &wf); err != nil {
		t.Fatal(err)
	}
	for k, v := range s.env {
		if _, ok := wf.Env[k]; !ok {
			t.Fatalf("the workflow has no env %s to set", k)
		}
		wf.Env[k] = v
	}
	results := map[string]*ghJobResult{}
	done := map[string]bool{}
	for len(done) < len(wf.Jobs) {
		progress := false
		for name, job := range wf.Jobs {
			if done[name] || !allDone(done, job.Needs) {
				continue
			}
			done[name], progress = true, true
			if only != "" && name != only {
				continue
			}
			results[name] = s.runJob(t, wf, name, job, results)
		}
		if !progress {
			t.Fatalf("jobs with needs that never run: %v", wf.Jobs)
		}
	}
	return results
}

func allDone(done map[string]bool, needs []string) bool {
	for _, n := range needs {
		if !done[n] {
			return false
		}
	}
	return true
}

func (s *ghScenario) runJob(t *testing.T, wf ghWorkflow, name string, job ghJob, results map[string]*ghJobResult) *ghJobResult {
	t.Helper()
	res := &ghJobResult{outputs: map[string]string{}}
	needs := map[string]map[string]string{}
	for _, n := range job.Needs {
		switch r := results[n]; {
		case s.image != "" && r == nil:
			needs[n] = map[string]string{"image": s.image}
		case r == nil || r.failed != nil:
			res.failed = fmt.Errorf("skipped: needed job %s did not succeed", n)
			return res
		default:
			needs[n] = r.outputs
		}
	}
	home, temp := t.TempDir(), t.TempDir()
	env := s.world.runnerEnv(t, home, s.state)
	gh := githubContext(name)
	for k, v := range gh {
		env["GITHUB_"+strings.ToUpper(k)] = v
	}
	runner := map[string]string{"os": "Linux", "arch": "X64", "temp": temp, "environment": "github-hosted"}
	for k, v := range runner {
		env["RUNNER_"+strings.ToUpper(k)] = v
	}
	env["GITHUB_ACTIONS"], env["GITHUB_WORKSPACE"] = "true", s.ws
	if job.Permissions["id-token"] == "write" && s.token != nil {
		env["ACTIONS_ID_TOKEN_REQUEST_URL"], env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = s.tokenEndpoint(t)
	}
	ctx := &ghContext{contexts: map[string]map[string]string{"github": gh, "runner": runner, "secrets": s.secrets, "env": map[string]string{}},
		steps: map[string]map[string]string{}, needs: needs}
	for _, m := range []map[string]string{wf.Env, job.Env} {
		vals, err := ctx.evalMap(m)
		if err != nil {
			t.Fatalf("job %s env: %v", name, err)
		}
		for k, v := range vals {
			env[k], ctx.contexts["env"][k] = v, v
		}
	}
	j := &ghJobRun{s: s, res: res, env: env}
	for i, st := range job.Steps {
		if err := j.step(t, ctx, st, ""); err != nil {
			res.failed = fmt.Errorf("job %s step %d (%s): %w", name, i+1, stepName(st), err)
			return res
		}
	}
	outs, err := ctx.evalMap(job.Outputs)
	if err != nil {
		t.Fatalf("job %s outputs: %v", name, err)
	}
	res.outputs = outs
	return res
}

func stepName(st ghStep) string {
	if st.Name != "" {
		return st.Name
	}
	if st.Uses != "" {
		return st.Uses
	}
	return st.ID
}

// ghJobRun is a job in progress: its environment grows through GITHUB_ENV
// and GITHUB_PATH.
type ghJobRun struct {
	s   *ghScenario
	res *ghJobResult
	env map[string]string
}

// step runs one step; actionPath is set inside a composite action.
func (j *ghJobRun) step(t *testing.T, ctx *ghContext, st ghStep, actionPath string) error {
	t.Helper()
	if st.If != "" {
		t.Fatalf("step %s: if: is not supported by this test's runner; decide in the script", stepName(st))
	}
	var outputs map[string]string
	var err error
	switch {
	case st.Run != "" && st.Uses != "":
		t.Fatalf("step %s has both run and uses", stepName(st))
	case st.Run != "":
		outputs, err = j.run(t, ctx, st, actionPath)
	case strings.HasPrefix(st.Uses, "./"):
		outputs, err = j.composite(t, ctx, st)
	case st.Uses != "":
		outputs, err = j.fake(t, ctx, st)
	default:
		t.Fatalf("step %s has neither run nor uses", stepName(st))
	}
	if st.ID != "" {
		ctx.steps[st.ID] = outputs
	}
	return err
}

// run runs a step's script as GitHub's `shell: bash` does.
func (j *ghJobRun) run(t *testing.T, ctx *ghContext, st ghStep, actionPath string) (map[string]string, error) {
	t.Helper()
	if ghExpr.MatchString(st.Run) {
		t.Fatalf("step %s: ${{ }} inside run: is a script injection risk; pass values through env:", stepName(st))
	}
	if actionPath != "" && st.Shell != "bash" {
		t.Fatalf("composite step %s: shell must be bash, is %q", stepName(st), st.Shell)
	}
	stepEnv, err := ctx.evalMap(st.Env)
	if err != nil {
		t.Fatalf("step %s env: %v", stepName(st), err)
	}
	env := map[string]string{}
	for k, v := range j.env {
		env[k] = v
	}
	for k, v := range stepEnv {
		env[k] = v
	}
	files := t.TempDir()
	for _, f := range []string{"OUTPUT", "ENV", "PATH"} {
		env["GITHUB_"+f] = filepath.Join(files, f)
	}
	if actionPath != "" {
		env["GITHUB_ACTION_PATH"] = actionPath
	}
	out, runErr := runScript([]string{"bash", "--noprofile", "--norc", "-eo", "pipefail"}, st.Run, j.s.ws, env)
	fmt.Fprintf(&j.res.log, "## %s\n%s", stepName(st), out)
	outputs, err := readKeyValues(env["GITHUB_OUTPUT"])
	if err != nil {
		t.Fatal(err)
	}
	added, err := readKeyValues(env["GITHUB_ENV"])
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range added {
		j.env[k] = v
	}
	if b, err := os.ReadFile(env["GITHUB_PATH"]); err == nil {
		for _, dir := range strings.Fields(string(b)) {
			j.env["PATH"] = dir + ":" + j.env["PATH"]
		}
	}
	if runErr != nil {
		return outputs, fmt.Errorf("%w\n%s", runErr, out)
	}
	return outputs, nil
}

// composite runs a local composite action with its inputs.
func (j *ghJobRun) composite(t *testing.T, ctx *ghContext, st ghStep) (map[string]string, error) {
	t.Helper()
	dir := filepath.Join(j.s.ws, st.Uses)
	var a ghAction
	if err := decodeStrict(filepath.Join(dir, "action.yml"), &a); err != nil {
		t.Fatal(err)
	}
	if a.Runs.Using != "composite" {
		t.Fatalf("%s: runs.using is %q, want composite", st.Uses, a.Runs.Using)
	}
	with, err := ctx.evalMap(st.With)
	if err != nil {
		t.Fatalf("step %s with: %v", stepName(st), err)
	}
	inputs := map[string]string{}
	for k, in := range a.Inputs {
		v, given := with[k]
		switch {
		case !given && in.Required:
			t.Fatalf("%s: required input %s not given", st.Uses, k)
		case !given && in.Default != nil:
			v = *in.Default
		}
		inputs[k] = v
	}
	for k := range with {
		if _, ok := a.Inputs[k]; !ok {
			t.Fatalf("%s has no input %q", st.Uses, k)
		}
	}
	gh := map[string]string{"action_path": dir}
	for k, v := range ctx.contexts["github"] {
		gh[k] = v
	}
	inner := &ghContext{contexts: map[string]map[string]string{"github": gh, "runner": ctx.contexts["runner"], "env": ctx.contexts["env"], "inputs": inputs},
		steps: map[string]map[string]string{}}
	for i, s := range a.Runs.Steps {
		if err := j.step(t, inner, s, dir); err != nil {
			return nil, fmt.Errorf("%s step %d (%s): %w", st.Uses, i+1, stepName(s), err)
		}
	}
	outputs := map[string]string{}
	for k, o := range a.Outputs {
		if outputs[k], err = inner.eval(o.Value); err != nil {
			t.Fatalf("%s output %s: %v", st.Uses, k, err)
		}
	}
	return outputs, nil
}

func (j *ghJobRun) fake(t *testing.T, ctx *ghContext, st ghStep) (map[string]string, error) {
	t.Helper()
	action, ref, ok := strings.Cut(st.Uses, "@")
	if !ok || ref == "" {
		t.Fatalf("step %s: uses %q pins no version", stepName(st), st.Uses)
	}
	f, ok := ghFakes[action]
	if !ok {
		t.Fatalf("step %s: no stand-in for %s in this test; add one to ghFakes", stepName(st), action)
	}
	with, err := ctx.evalMap(st.With)
	if err != nil {
		t.Fatalf("step %s with: %v", stepName(st), err)
	}
	fmt.Fprintf(&j.res.log, "## %s (stand-in)\n", st.Uses)
	return f(j, with)
}
