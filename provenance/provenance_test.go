package provenance_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/provenance"
)

func env(m map[string]string) provenance.LookupFunc {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestGitHubActions(t *testing.T) {
	t.Parallel()
	p, src, err := provenance.Generate(env(map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "example/app",
		"GITHUB_REF": "refs/tags/v1.4.0", "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
		"GITHUB_WORKFLOW_REF": "example/app/.github/workflows/release.yml@refs/tags/v1.4.0",
		"GITHUB_RUN_ID":       "9876", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_EVENT_NAME": "push", "RUNNER_ENVIRONMENT": "github-hosted",
	}), provenance.Options{})
	if err != nil || src != "github-actions" {
		t.Fatal(src, err)
	}
	if p.RunDetails.Builder.ID != "https://github.com/example/app/.github/workflows/release.yml@refs/tags/v1.4.0" ||
		p.BuildDefinition.BuildType != provenance.GitHubBuildType ||
		p.RunDetails.Metadata.InvocationID != "https://github.com/example/app/actions/runs/9876/attempts/2" {
		t.Fatalf("%+v", p)
	}
	wf := p.BuildDefinition.ExternalParameters["workflow"].(map[string]any)
	if wf["path"] != ".github/workflows/release.yml" || wf["repository"] != "https://github.com/example/app" {
		t.Fatalf("workflow %v", wf)
	}
	dep := p.BuildDefinition.ResolvedDependencies[0]
	if dep.URI != "git+https://github.com/example/app@refs/tags/v1.4.0" || dep.Digest["gitCommit"] != "0123456789abcdef0123456789abcdef01234567" {
		t.Fatalf("dependency %+v", dep)
	}
	// What it writes is accepted as SLSA v1 by the attest checks.
	b, _ := p.JSON()
	if _, err := attest.BuildPredicate("slsaprovenance1", b, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func TestGitLabCI(t *testing.T) {
	t.Parallel()
	p, src, err := provenance.Generate(env(map[string]string{
		"GITLAB_CI": "true", "CI_SERVER_URL": "https://gitlab.example.com", "CI_PROJECT_PATH": "group/app",
		"CI_RUNNER_ID": "42", "CI_COMMIT_SHA": "89abcdef0123456789abcdef0123456789abcdef", "CI_COMMIT_REF_NAME": "main",
		"CI_JOB_URL": "https://gitlab.example.com/group/app/-/jobs/7", "CI_PIPELINE_ID": "100", "CI_CONFIG_PATH": ".gitlab-ci.yml",
	}), provenance.Options{})
	if err != nil || src != "gitlab-ci" {
		t.Fatal(src, err)
	}
	if p.RunDetails.Builder.ID != "https://gitlab.example.com/group/app/-/runners/42" || p.RunDetails.Metadata.InvocationID != "https://gitlab.example.com/group/app/-/jobs/7" ||
		p.BuildDefinition.ResolvedDependencies[0].Digest["gitCommit"] != "89abcdef0123456789abcdef0123456789abcdef" {
		t.Fatalf("%+v", p)
	}
}

// Claims the environment cannot back are left out.
func TestNothingInvented(t *testing.T) {
	t.Parallel()
	p, _, err := provenance.Generate(env(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "example/app"}),
		provenance.Options{BuilderID: "https://ci.example.com/builder"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := p.JSON()
	for _, absent := range []string{"gitCommit", "invocationId", "resolvedDependencies"} {
		if strings.Contains(string(b), absent) {
			t.Errorf("%s claimed without backing:\n%s", absent, b)
		}
	}
	if _, _, err := provenance.Generate(env(nil), provenance.Options{}); !errors.Is(err, provenance.ErrNoBuilder) {
		t.Fatalf("no builder: %v", err)
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	p, src, err := provenance.Generate(env(nil), provenance.Options{BuilderID: "https://ci.example.com", SourceURI: "git+https://example.com/app",
		SourceDigest: "gitCommit:abc", Params: map[string]string{"target": "release"}})
	if err != nil || src != "flags" {
		t.Fatal(err)
	}
	if p.BuildDefinition.BuildType != provenance.GenericBuildType || p.BuildDefinition.ExternalParameters["target"] != "release" ||
		p.BuildDefinition.ResolvedDependencies[0].Digest["gitCommit"] != "abc" {
		t.Fatalf("%+v", p)
	}
}
