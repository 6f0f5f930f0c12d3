package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// A small GitLab CI runner for the recipes in examples/ci/gitlab: it reads
// .gitlab-ci.yml with its local includes, resolves extends and !reference,
// checks every job keyword against GitLab's list, evaluates rules, and runs
// the jobs of each stage in order with sh -e, passing dotenv reports to the
// jobs that need them. All jobs share one checkout, standing in for
// artifacts; images and services are not run (the tools are on PATH).

// glJobKeywords are GitLab CI's job keywords.
var glJobKeywords = []string{"after_script", "allow_failure", "artifacts", "before_script", "cache", "coverage",
	"dast_configuration", "dependencies", "environment", "extends", "hooks", "identity", "id_tokens", "image",
	"inherit", "interruptible", "manual_confirmation", "needs", "pages", "parallel", "release", "resource_group",
	"retry", "rules", "run", "script", "secrets", "services", "stage", "tags", "timeout", "trigger", "variables", "when"}

// glTopLevel are the global keywords; every other top-level key is a job.
var glTopLevel = []string{"default", "include", "stages", "variables", "workflow"}

// glRef is a !reference [job, keyword, ...] tag.
type glRef []string

// glPipeline is a .gitlab-ci.yml with its includes merged.
type glPipeline struct {
	order []string       // top-level keys in file order (included files first)
	doc   map[string]any // map[string]any, []any, string, nil or glRef below
}

func glDecode(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		return glDecode(n.Content[0])
	case yaml.AliasNode:
		return glDecode(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i < len(n.Content); i += 2 {
			v, err := glDecode(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		if n.Tag == "!reference" {
			var r []string
			if err := n.Decode(&r); err != nil {
				return nil, fmt.Errorf("line %d: !reference: %w", n.Line, err)
			}
			return glRef(r), nil
		}
		var l []any
		for _, c := range n.Content {
			v, err := glDecode(c)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	}
	if n.Tag == "!!null" {
		return nil, nil
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return nil, fmt.Errorf("line %d: tag %s is not one GitLab knows", n.Line, n.Tag)
	}
	return n.Value, nil
}

// loadGitLab reads file (relative to the checkout ws) and its local includes.
func loadGitLab(ws, file string) (*glPipeline, error) {
	b, err := os.ReadFile(filepath.Join(ws, file))
	if err != nil {
		return nil, err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	v, err := glDecode(&n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not a mapping", file)
	}
	p := &glPipeline{doc: map[string]any{}}
	incs, _ := doc["include"].([]any)
	for _, inc := range incs {
		m, _ := inc.(map[string]any)
		local, _ := m["local"].(string)
		if local == "" || len(m) != 1 {
			return nil, fmt.Errorf("%s: include %v: this runner reads only local includes", file, inc)
		}
		sub, err := loadGitLab(ws, strings.TrimPrefix(local, "/"))
		if err != nil {
			return nil, fmt.Errorf("%s: include %s: %w", file, local, err)
		}
		for _, k := range sub.order {
			p.set(k, sub.doc[k])
		}
	}
	for i := 0; i < len(n.Content[0].Content); i += 2 {
		k := n.Content[0].Content[i].Value
		if k != "include" {
			p.set(k, doc[k])
		}
	}
	return p, nil
}

func (p *glPipeline) set(k string, v any) {
	if _, ok := p.doc[k]; !ok {
		p.order = append(p.order, k)
	}
	p.doc[k] = v
}

// job returns the job (or hidden job) with extends resolved and its
// keywords checked.
func (p *glPipeline) job(name string, depth int) (map[string]any, error) {
	raw, ok := p.doc[name].(map[string]any)
	if !ok || depth > 10 {
		return nil, fmt.Errorf("no job %q (or extends nest too deep)", name)
	}
	for k := range raw {
		if !slices.Contains(glJobKeywords, k) {
			return nil, fmt.Errorf("job %s: %q is not a GitLab CI job keyword", name, k)
		}
	}
	var parents []string
	switch e := raw["extends"].(type) {
	case string:
		parents = []string{e}
	case []any:
		for _, x := range e {
			parents = append(parents, fmt.Sprint(x))
		}
	}
	out := map[string]any{}
	for _, parent := range parents {
		base, err := p.job(parent, depth+1)
		if err != nil {
			return nil, fmt.Errorf("job %s extends %s: %w", name, parent, err)
		}
		out = glMerge(out, base)
	}
	out = glMerge(out, raw)
	delete(out, "extends")
	return out, nil
}

// glMerge merges over onto base as extends does: mappings deeply, anything
// else replaced.
func glMerge(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = glMerge(bm, om)
		} else {
			out[k] = v
		}
	}
	return out
}

// script flattens a script keyword, following !reference tags.
func (p *glPipeline) script(v any, depth int) ([]string, error) {
	if depth > 10 {
		return nil, fmt.Errorf("script nests too deep")
	}
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		var out []string
		for _, x := range v {
			s, err := p.script(x, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, s...)
		}
		return out, nil
	case glRef:
		if len(v) != 2 {
			return nil, fmt.Errorf("!reference %v: this runner follows [job, keyword] only", []string(v))
		}
		j, err := p.job(v[0], 0)
		if err != nil {
			return nil, fmt.Errorf("!reference %v: %w", []string(v), err)
		}
		if j[v[1]] == nil {
			return nil, fmt.Errorf("!reference %v: %s has no %s", []string(v), v[0], v[1])
		}
		return p.script(j[v[1]], depth+1)
	}
	return nil, fmt.Errorf("script item %v is neither a string nor a list", v)
}

var glCondition = regexp.MustCompile(`^\$(\w+)\s*(==|!=|=~)\s*(\$\w+|"[^"]*"|/.*/)$`)

// glRulesMatch evaluates rules as GitLab does: the first rule whose if
// holds decides; none holding leaves the job out.
func glRulesMatch(rules any, env map[string]string) (bool, error) {
	if rules == nil {
		return true, nil
	}
	list, ok := rules.([]any)
	if !ok {
		return false, fmt.Errorf("rules is not a list")
	}
	for _, r := range list {
		m, _ := r.(map[string]any)
		cond, _ := m["if"].(string)
		when, _ := m["when"].(string)
		if cond == "" || len(m) > 2 || (len(m) == 2 && when == "") {
			return false, fmt.Errorf("rule %v: this runner evaluates rules of if (and when) only", r)
		}
		c := glCondition.FindStringSubmatch(cond)
		if c == nil {
			return false, fmt.Errorf("rule if %q: this runner evaluates $VAR ==|!=|=~ $VAR|\"string\"|/regexp/ only", cond)
		}
		left, right := env[c[1]], c[3]
		var holds bool
		switch {
		case c[2] == "=~":
			re, err := regexp.Compile(strings.Trim(right, "/"))
			if err != nil {
				return false, err
			}
			holds = re.MatchString(left)
		case strings.HasPrefix(right, "$"):
			holds = left == env[right[1:]]
		default:
			holds = left == strings.Trim(right, `"`)
		}
		if c[2] == "!=" {
			holds = !holds
		}
		if holds {
			return when != "never", nil
		}
	}
	return false, nil
}

// glScenario is one pipeline run.
type glScenario struct {
	world      *ciWorld
	ws         string
	predefined map[string]string // CI_* variables
	project    map[string]string // CI/CD settings variables (they win over the file's)
	idToken    func(aud string) string
	critical   bool
	state      string // the fake tools' memory (pushed images, installs)
	// only, when set, is the one job to run, with dotenv standing in for
	// what the jobs it needs would have passed on.
	only   string
	dotenv map[string]string
}

// glJobResult is what a job left.
type glJobResult struct {
	log    string
	dotenv map[string]string
	failed error
}

func (s *glScenario) run(t *testing.T) map[string]*glJobResult {
	t.Helper()
	p, err := loadGitLab(s.ws, ".gitlab-ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range p.order {
		if _, ok := p.doc[k].(map[string]any); !ok && !slices.Contains(glTopLevel, k) {
			t.Fatalf("top-level %q is neither a global keyword nor a job", k)
		}
	}
	var stages []string
	for _, st := range p.doc["stages"].([]any) {
		stages = append(stages, st.(string))
	}
	global, _ := p.doc["variables"].(map[string]any)
	results := map[string]*glJobResult{}
	var ran []string
	for _, stage := range stages {
		for _, name := range p.order {
			if slices.Contains(glTopLevel, name) || strings.HasPrefix(name, ".") {
				continue
			}
			job, err := p.job(name, 0)
			if err != nil {
				t.Fatal(err)
			}
			js, _ := job["stage"].(string)
			if !slices.Contains(stages, js) {
				t.Fatalf("job %s: stage %q is not in stages %v", name, js, stages)
			}
			if js != stage {
				continue
			}
			if s.only != "" && name != s.only {
				results[name] = &glJobResult{dotenv: s.dotenv}
				ran = append(ran, name)
				continue
			}
			if r := s.runJob(t, p, name, job, global, results, ran); r != nil {
				results[name] = r
				ran = append(ran, name)
			}
		}
	}
	return results
}

func (s *glScenario) runJob(t *testing.T, p *glPipeline, name string, job, global map[string]any, results map[string]*glJobResult, ran []string) *glJobResult {
	t.Helper()
	env := s.world.runnerEnv(t, t.TempDir(), s.state)
	for k, v := range s.predefined {
		env[k] = v
	}
	env["CI_JOB_NAME"], env["CI_JOB_ID"] = name, fmt.Sprint(7000+len(ran))
	env["CI_JOB_URL"] = env["CI_PROJECT_URL"] + "/-/jobs/" + env["CI_JOB_ID"]
	jobVars, _ := job["variables"].(map[string]any)
	for _, vars := range []map[string]any{global, jobVars} {
		for k, v := range vars {
			sv, ok := v.(string)
			if !ok {
				t.Fatalf("job %s: variable %s is not a string", name, k)
			}
			env[k] = os.Expand(sv, func(n string) string { return env[n] })
		}
	}
	ok, err := glRulesMatch(job["rules"], env)
	if err != nil {
		t.Fatalf("job %s: %v", name, err)
	}
	if !ok {
		return nil
	}
	res := &glJobResult{dotenv: map[string]string{}}
	needs := ran
	if n, given := job["needs"].([]any); given {
		needs = nil
		for _, x := range n {
			needs = append(needs, x.(string))
		}
	}
	for _, n := range needs {
		r, ok := results[n]
		if !ok || r.failed != nil {
			res.failed = fmt.Errorf("skipped: needed job %s did not succeed", n)
			return res
		}
		for k, v := range r.dotenv {
			env[k] = v
		}
	}
	for k, v := range s.project {
		env[k] = v
	}
	if ids, _ := job["id_tokens"].(map[string]any); ids != nil {
		for k, v := range ids {
			aud, _ := v.(map[string]any)["aud"].(string)
			env[k] = s.idToken(aud)
		}
	}
	before, err := p.script(job["before_script"], 0)
	if err != nil {
		t.Fatalf("job %s before_script: %v", name, err)
	}
	script, err := p.script(job["script"], 0)
	if err != nil || len(script) == 0 {
		t.Fatalf("job %s script: %v (a job needs a script)", name, err)
	}
	if s.critical {
		env["SIGNET_FAKE_CRITICAL"] = "1"
	}
	out, runErr := runScript([]string{"sh", "-e"}, strings.Join(append(before, script...), "\n"), s.ws, env)
	res.log = out
	if runErr != nil {
		res.failed = fmt.Errorf("job %s: %w\n%s", name, runErr, out)
		return res
	}
	if arts, _ := job["artifacts"].(map[string]any); arts != nil {
		if reports, _ := arts["reports"].(map[string]any); reports != nil {
			if f, _ := reports["dotenv"].(string); f != "" {
				if res.dotenv, err = readKeyValues(filepath.Join(s.ws, f)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return res
}
