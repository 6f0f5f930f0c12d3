// Package provenance writes SLSA provenance v1 predicates
// (https://slsa.dev/provenance/v1) for a build, from what the CI
// environment can back: GitHub Actions' or GitLab CI's variables, or
// explicit values. A claim the environment does not support is left out,
// never invented.
package provenance

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// LookupFunc reads an environment variable; os.LookupEnv has this shape.
type LookupFunc func(string) (string, bool)

// Build types Signet writes.
const (
	GitHubBuildType  = "https://actions.github.io/buildtypes/workflow/v1"
	GitLabBuildType  = "https://gitlab.com/gitlab-org/gitlab-runner/-/blob/main/PROVENANCE.md"
	GenericBuildType = "https://signet.dev/buildtypes/generic/v1"
)

// Options are explicit claims, from flags. Empty fields are not claimed;
// explicit values override what the environment says.
type Options struct {
	BuilderID    string
	BuildType    string
	SourceURI    string
	SourceDigest string // "sha1:<hex>" or "gitCommit:<hex>" or "<alg>:<hex>"
	Params       map[string]string
	Materials    []Material
	StartedOn    time.Time
	FinishedOn   time.Time
}

// Material is a resolved dependency.
type Material struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest,omitempty"`
}

// Predicate is SLSA provenance v1.
type Predicate struct {
	BuildDefinition struct {
		BuildType            string         `json:"buildType"`
		ExternalParameters   map[string]any `json:"externalParameters"`
		InternalParameters   map[string]any `json:"internalParameters,omitempty"`
		ResolvedDependencies []Material     `json:"resolvedDependencies,omitempty"`
	} `json:"buildDefinition"`
	RunDetails struct {
		Builder struct {
			ID string `json:"id"`
		} `json:"builder"`
		Metadata *Metadata `json:"metadata,omitempty"`
	} `json:"runDetails"`
}

// Metadata is runDetails.metadata.
type Metadata struct {
	InvocationID string     `json:"invocationId,omitempty"`
	StartedOn    *time.Time `json:"startedOn,omitempty"`
	FinishedOn   *time.Time `json:"finishedOn,omitempty"`
}

// ErrNoBuilder means neither the environment nor the options name a builder.
var ErrNoBuilder = errors.New("no builder: not in GitHub Actions or GitLab CI, and no --builder-id given")

// Generate returns the provenance predicate for the environment and options.
// It reports which environment it recognised ("github-actions", "gitlab-ci" or "flags").
func Generate(env LookupFunc, o Options) (*Predicate, string, error) {
	get := func(k string) string { v, _ := env(k); return v }
	p := &Predicate{}
	p.BuildDefinition.ExternalParameters = map[string]any{}
	source := "flags"
	switch {
	case get("GITHUB_ACTIONS") == "true":
		source = "github-actions"
		fromGitHub(get, p)
	case get("GITLAB_CI") == "true":
		source = "gitlab-ci"
		fromGitLab(get, p)
	}
	applyOptions(p, o)
	if p.RunDetails.Builder.ID == "" {
		return nil, source, ErrNoBuilder
	}
	if p.BuildDefinition.BuildType == "" {
		p.BuildDefinition.BuildType = GenericBuildType
	}
	return p, source, nil
}

func fromGitHub(get func(string) string, p *Predicate) {
	server := strings.TrimSuffix(get("GITHUB_SERVER_URL"), "/")
	repo := get("GITHUB_REPOSITORY")
	p.BuildDefinition.BuildType = GitHubBuildType
	wf := map[string]any{}
	setIf(wf, "ref", get("GITHUB_REF"))
	if server != "" && repo != "" {
		wf["repository"] = server + "/" + repo
	}
	if ref := get("GITHUB_WORKFLOW_REF"); ref != "" {
		// owner/repo/.github/workflows/x.yml@refs/heads/main
		if path, _, ok := strings.Cut(strings.TrimPrefix(ref, repo+"/"), "@"); ok {
			wf["path"] = path
		}
		if server != "" {
			p.RunDetails.Builder.ID = server + "/" + ref
		}
	}
	if len(wf) > 0 {
		p.BuildDefinition.ExternalParameters["workflow"] = wf
	}
	internal := map[string]any{}
	gh := map[string]any{}
	for k, v := range map[string]string{"event_name": "GITHUB_EVENT_NAME", "repository_id": "GITHUB_REPOSITORY_ID",
		"repository_owner_id": "GITHUB_REPOSITORY_OWNER_ID", "runner_environment": "RUNNER_ENVIRONMENT", "runner_os": "RUNNER_OS", "runner_arch": "RUNNER_ARCH"} {
		setIf(gh, k, get(v))
	}
	if len(gh) > 0 {
		internal["github"] = gh
		p.BuildDefinition.InternalParameters = internal
	}
	if sha := get("GITHUB_SHA"); sha != "" && server != "" && repo != "" {
		uri := "git+" + server + "/" + repo
		if ref := get("GITHUB_REF"); ref != "" {
			uri += "@" + ref
		}
		p.BuildDefinition.ResolvedDependencies = append(p.BuildDefinition.ResolvedDependencies, Material{URI: uri, Digest: map[string]string{"gitCommit": sha}})
	}
	if id := get("GITHUB_RUN_ID"); id != "" && server != "" && repo != "" {
		inv := fmt.Sprintf("%s/%s/actions/runs/%s", server, repo, id)
		if a := get("GITHUB_RUN_ATTEMPT"); a != "" {
			inv += "/attempts/" + a
		}
		p.RunDetails.Metadata = &Metadata{InvocationID: inv}
	}
}

func fromGitLab(get func(string) string, p *Predicate) {
	server := strings.TrimSuffix(get("CI_SERVER_URL"), "/")
	project := get("CI_PROJECT_PATH")
	p.BuildDefinition.BuildType = GitLabBuildType
	if server != "" && project != "" && get("CI_RUNNER_ID") != "" {
		p.RunDetails.Builder.ID = fmt.Sprintf("%s/%s/-/runners/%s", server, project, get("CI_RUNNER_ID"))
	}
	ext := p.BuildDefinition.ExternalParameters
	setIf(ext, "source", server+"/"+project)
	if server == "" || project == "" {
		delete(ext, "source")
	}
	setIf(ext, "ref", get("CI_COMMIT_REF_NAME"))
	setIf(ext, "configPath", get("CI_CONFIG_PATH"))
	setIf(ext, "pipelineSource", get("CI_PIPELINE_SOURCE"))
	internal := map[string]any{}
	for k, v := range map[string]string{"pipelineId": "CI_PIPELINE_ID", "jobId": "CI_JOB_ID", "jobName": "CI_JOB_NAME", "runnerDescription": "CI_RUNNER_DESCRIPTION"} {
		setIf(internal, k, get(v))
	}
	if len(internal) > 0 {
		p.BuildDefinition.InternalParameters = internal
	}
	if sha := get("CI_COMMIT_SHA"); sha != "" && server != "" && project != "" {
		p.BuildDefinition.ResolvedDependencies = append(p.BuildDefinition.ResolvedDependencies,
			Material{URI: "git+" + server + "/" + project + "@" + get("CI_COMMIT_REF_NAME"), Digest: map[string]string{"gitCommit": sha}})
	}
	if u := get("CI_JOB_URL"); u != "" {
		p.RunDetails.Metadata = &Metadata{InvocationID: u}
	}
}

func applyOptions(p *Predicate, o Options) {
	if o.BuilderID != "" {
		p.RunDetails.Builder.ID = o.BuilderID
	}
	if o.BuildType != "" {
		p.BuildDefinition.BuildType = o.BuildType
	}
	if o.SourceURI != "" {
		m := Material{URI: o.SourceURI}
		if alg, hex, ok := strings.Cut(o.SourceDigest, ":"); ok {
			m.Digest = map[string]string{alg: hex}
		}
		p.BuildDefinition.ResolvedDependencies = append([]Material{m}, p.BuildDefinition.ResolvedDependencies...)
		p.BuildDefinition.ExternalParameters["source"] = o.SourceURI
	}
	keys := make([]string, 0, len(o.Params))
	for k := range o.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p.BuildDefinition.ExternalParameters[k] = o.Params[k]
	}
	p.BuildDefinition.ResolvedDependencies = append(p.BuildDefinition.ResolvedDependencies, o.Materials...)
	if !o.StartedOn.IsZero() || !o.FinishedOn.IsZero() {
		if p.RunDetails.Metadata == nil {
			p.RunDetails.Metadata = &Metadata{}
		}
		if !o.StartedOn.IsZero() {
			t := o.StartedOn.UTC()
			p.RunDetails.Metadata.StartedOn = &t
		}
		if !o.FinishedOn.IsZero() {
			t := o.FinishedOn.UTC()
			p.RunDetails.Metadata.FinishedOn = &t
		}
	}
}

func setIf(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// JSON returns the predicate as indented JSON.
func (p *Predicate) JSON() ([]byte, error) { return json.MarshalIndent(p, "", "  ") }
