package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/internal/sigstoretest"
	"github.com/signet-dev/signet/keys"
)

const ciDir = "../../examples/ci"

// The version the example workflow and pipeline pin, which they must install.
const ciSignetVersion = "v0.1.0"

// tokenEndpoint serves the GitHub Actions OIDC token request the way the
// runner does: only with the job's request token, for the audience asked.
func (s *ghScenario) tokenEndpoint(t *testing.T) (string, string) {
	const bearer = "runtime-request-token"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+bearer || r.URL.Query().Get("audience") != "sigstore" {
			http.Error(w, "wrong request token or audience", http.StatusForbidden)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"value": s.token()})
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/_apis/token?api-version=2.0", bearer
}

// releaseKey makes an encrypted key pair, the private half to be stored as
// a CI secret and the public half committed beside the policy.
func releaseKey(t *testing.T, pubDir string) (privatePEM string, privatePath string) {
	t.Helper()
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	keyPath, pubPath, err := keys.WriteKeyPair(filepath.Join(t.TempDir(), "release"), priv, []byte(ciKeyPassword), false)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pubDir, "release.pub"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), keyPath
}

const ciKeyPassword = "ci-secret-pw"

func installedVersions(t *testing.T, state string) string {
	b, _ := os.ReadFile(filepath.Join(state, "installs.log"))
	return string(b)
}

// githubCheckout is a repository that copied examples/ci/github into
// .github and pointed the policies at its registry.
func githubCheckout(t *testing.T, registry string) string {
	t.Helper()
	ws := t.TempDir()
	copyTree(t, filepath.Join(ciDir, "github"), filepath.Join(ws, ".github"))
	for _, p := range []string{"policy.yaml", "policy-key.yaml"} {
		replaceInFile(t, filepath.Join(ws, ".github/signet", p), "ghcr.io/", registry+"/")
	}
	return ws
}

// gitlabCheckout is a repository that copied examples/ci/gitlab as its
// README says and pointed the policies at its registry.
func gitlabCheckout(t *testing.T, registry string) string {
	t.Helper()
	ws := t.TempDir()
	copyTree(t, filepath.Join(ciDir, "gitlab", "signet"), filepath.Join(ws, ".gitlab", "signet"))
	for src, dst := range map[string]string{"gitlab-ci.yml": ".gitlab-ci.yml", "signet.gitlab-ci.yml": ".gitlab/signet.gitlab-ci.yml"} {
		b, err := os.ReadFile(filepath.Join(ciDir, "gitlab", src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ws, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"policy.yaml", "policy-key.yaml"} {
		replaceInFile(t, filepath.Join(ws, ".gitlab/signet", p), "registry.gitlab.com/", registry+"/")
	}
	return ws
}

// stoppedAtGate checks that a deploy job failed in its gate step with exit
// code (0: any), printed the denial and each reason, and did not deploy.
func stoppedAtGate(t *testing.T, failed error, log string, code int, reasons ...string) {
	t.Helper()
	want := "exit status"
	if code != 0 {
		want = fmt.Sprintf("exit status %d", code)
	}
	if failed == nil || !strings.Contains(failed.Error(), want) || strings.Contains(log, "Deploying") {
		t.Fatalf("deploy was not stopped by the gate (want %s, no deploy): %v\n%s", want, failed, log)
	}
	for _, r := range append([]string{"DENIED"}, reasons...) {
		if !strings.Contains(log, r) {
			t.Errorf("the gate's output lacks %q:\n%s", r, log)
		}
	}
}

// TestCIRecipeGitHubActions runs examples/ci/github's workflow and actions
// as GitHub would, against a local registry, log, Fulcio and TSA: keyless
// with the job's OIDC token, and with a key from secrets. The deploy runs
// only when the gate's policy allows the image.
func TestCIRecipeGitHubActions(t *testing.T) {
	t.Parallel()
	w := newCIWorld(t)
	reg := registrytest.New(t, true)
	// What a user running their own Sigstore sets in the workflow's env.
	env := map[string]string{"REGISTRY": reg.Host, "SIGNET_SIGNING_CONFIG": w.signingConfig, "SIGNET_TRUSTED_ROOT": w.trustedRoot}
	tokenFor := func(repo string) func() string {
		return func() string {
			return sigstoretest.GitHubToken("https://github.com/"+repo+"/.github/workflows/release.yml@refs/heads/main", map[string]string{
				"repository": repo, "ref": "refs/heads/main", "sha": ghSHA, "event_name": "push", "workflow": "release"})
		}
	}
	image := reg.Host + "/" + ghRepository + "@sha256:"

	t.Run("keyless with the job's OIDC token", func(t *testing.T) {
		t.Parallel()
		s := &ghScenario{world: w, ws: githubCheckout(t, reg.Host), env: env, token: tokenFor(ghRepository), state: t.TempDir()}
		res := s.runWorkflow(t, "")
		build, deploy := res["build"], res["deploy"]
		if build.failed != nil || deploy.failed != nil {
			t.Fatalf("build: %v\ndeploy: %v\n%s", build.failed, deploy.failed, build.log.String())
		}
		for _, want := range []string{"Signing keyless: identity token from GitHub Actions", "Signed " + image, "logged at index",
			"Attested " + image, "https://cyclonedx.org/bom", "vuln/v1", "https://slsa.dev/provenance/v1", "Provenance from github-actions"} {
			if !strings.Contains(build.log.String(), want) {
				t.Errorf("build log lacks %q:\n%s", want, build.log.String())
			}
		}
		if !strings.Contains(deploy.log.String(), "ALLOWED "+image) || !strings.Contains(deploy.log.String(), "Deploying "+image) {
			t.Errorf("the gate did not allow the image, or the deploy did not run:\n%s", deploy.log.String())
		}
		want := "go install " + signetModule + "@" + ciSignetVersion
		if got := installedVersions(t, s.state); strings.Count(got, want) != 2 {
			t.Errorf("want %q once per job, installs were:\n%s", want, got)
		}
	})

	t.Run("a fixable critical vulnerability stops the deploy", func(t *testing.T) {
		t.Parallel()
		s := &ghScenario{world: w, ws: githubCheckout(t, reg.Host), env: env, token: tokenFor(ghRepository), critical: true, state: t.TempDir()}
		res := s.runWorkflow(t, "")
		if res["build"].failed != nil {
			t.Fatalf("build: %v", res["build"].failed)
		}
		stoppedAtGate(t, res["deploy"].failed, res["deploy"].log.String(), 6, // denied by the policy
			"attestation scan [policy-denied]", "predicate.scanner.result.summary.fixable.critical == 0")
	})

	t.Run("another repository's workflow identity stops the deploy", func(t *testing.T) {
		t.Parallel()
		const other = "example/app-fork"
		s := &ghScenario{world: w, ws: githubCheckout(t, reg.Host), env: env, token: tokenFor(other), state: t.TempDir()}
		res := s.runWorkflow(t, "")
		if res["build"].failed != nil {
			t.Fatalf("build: %v", res["build"].failed)
		}
		stoppedAtGate(t, res["deploy"].failed, res["deploy"].log.String(), 0,
			"signatures [invalid]", "found subject https://github.com/"+other+"/.github/workflows/release.yml@refs/heads/main")
	})

	t.Run("an unsigned image stops the deploy", func(t *testing.T) {
		t.Parallel()
		unsigned := reg.PushImage(t, ghRepository+":unsigned")
		s := &ghScenario{world: w, ws: githubCheckout(t, reg.Host), env: env, state: t.TempDir(), image: unsigned.String()}
		d := s.runWorkflow(t, "deploy")["deploy"]
		// The exit code of "no signatures" under a policy is the exit-code table's to say; the denial and its class are asserted.
		stoppedAtGate(t, d.failed, d.log.String(), 0, "DENIED "+unsigned.String(), "signatures [not-found]")
	})

	t.Run("a build that reported no digest is not signed", func(t *testing.T) {
		t.Parallel()
		s := &ghScenario{world: w, ws: githubCheckout(t, reg.Host), env: env, token: tokenFor(ghRepository), noDigest: true, state: t.TempDir()}
		res := s.runWorkflow(t, "")
		b := res["build"]
		if b.failed == nil || strings.Contains(b.log.String(), "Signed") || !strings.Contains(b.log.String(), "give the digest the build pushed") {
			t.Fatalf("the release action signed without a digest, or did not say why: %v\n%s", b.failed, b.log.String())
		}
		if d := res["deploy"]; d.failed == nil || strings.Contains(d.log.String(), "Deploying") {
			t.Fatalf("deploy ran after a failed build: %v", d.failed)
		}
	})

	t.Run("a key from secrets", func(t *testing.T) {
		t.Parallel()
		ws := githubCheckout(t, reg.Host)
		pem, _ := releaseKey(t, filepath.Join(ws, ".github/signet"))
		keyEnv := map[string]string{"SIGNET_POLICY": ".github/signet/policy-key.yaml"}
		for k, v := range env {
			keyEnv[k] = v
		}
		s := &ghScenario{world: w, ws: ws, env: keyEnv, state: t.TempDir(),
			secrets: map[string]string{"SIGNET_KEY": pem, "SIGNET_PASSWORD": ciKeyPassword}}
		res := s.runWorkflow(t, "")
		build, deploy := res["build"], res["deploy"]
		if build.failed != nil || deploy.failed != nil {
			t.Fatalf("build: %v\ndeploy: %v", build.failed, deploy.failed)
		}
		if strings.Contains(build.log.String(), "keyless") || !strings.Contains(deploy.log.String(), "Deploying "+image) {
			t.Fatalf("want a key signature and a deploy:\n%s\n%s", build.log.String(), deploy.log.String())
		}
	})
}

// TestCIRecipeGitLab runs examples/ci/gitlab's pipeline and template as
// GitLab would: keyless with the job's id_tokens, and with a key from a
// CI/CD file variable.
func TestCIRecipeGitLab(t *testing.T) {
	t.Parallel()
	w := newCIWorld(t)
	reg := registrytest.New(t, false)
	const project = "example/app"
	predefined := func(ws string) map[string]string {
		return map[string]string{
			"GITLAB_CI": "true", "CI_SERVER_URL": "https://gitlab.com", "CI_PROJECT_PATH": project, "CI_PROJECT_DIR": ws,
			"CI_PROJECT_URL": "https://gitlab.com/" + project, "CI_COMMIT_SHA": ghSHA, "CI_COMMIT_REF_NAME": "main",
			"CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main", "CI_CONFIG_PATH": ".gitlab-ci.yml", "CI_PIPELINE_SOURCE": "push",
			"CI_PIPELINE_ID": "900", "CI_RUNNER_ID": "12", "CI_RUNNER_DESCRIPTION": "shared runner",
			"CI_REGISTRY": reg.Host, "CI_REGISTRY_IMAGE": reg.Host + "/" + project,
			"CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": "job-token",
		}
	}
	// What a user running their own Sigstore sets in the project's CI/CD variables.
	trust := map[string]string{"SIGNET_SIGNING_CONFIG": w.signingConfig, "SIGNET_TRUSTED_ROOT": w.trustedRoot}
	idToken := func(t *testing.T) func(string) string {
		return func(aud string) string {
			if aud != "sigstore" {
				t.Errorf("id_tokens audience %q, want sigstore", aud)
			}
			return sigstoretest.Token("https://gitlab.com/"+project+"//.gitlab-ci.yml@refs/heads/main", "https://gitlab.com")
		}
	}
	image := reg.Host + "/" + project + "@sha256:"
	scenario := func(t *testing.T, project map[string]string) *glScenario {
		ws := gitlabCheckout(t, reg.Host)
		return &glScenario{world: w, ws: ws, predefined: predefined(ws), project: project, idToken: idToken(t), state: t.TempDir()}
	}

	check := func(t *testing.T, res map[string]*glJobResult, keyless bool) {
		t.Helper()
		for _, job := range []string{"build", "scan", "sign", "deploy"} {
			if res[job] == nil || res[job].failed != nil {
				t.Fatalf("job %s did not succeed: %+v", job, res[job])
			}
		}
		sign := res["sign"].log
		for _, want := range []string{"Signed " + image, "Attested " + image, "https://cyclonedx.org/bom", "vuln/v1",
			"https://slsa.dev/provenance/v1", "Provenance from gitlab-ci"} {
			if !strings.Contains(sign, want) {
				t.Errorf("sign log lacks %q:\n%s", want, sign)
			}
		}
		if got := strings.Contains(sign, "Signing keyless: identity token from SIGSTORE_ID_TOKEN"); got != keyless {
			t.Errorf("keyless signing %v, want %v:\n%s", got, keyless, sign)
		}
		if !strings.Contains(res["deploy"].log, "ALLOWED "+image) || !strings.Contains(res["deploy"].log, "Deploying "+image) {
			t.Errorf("the gate did not allow the image, or the deploy did not run:\n%s", res["deploy"].log)
		}
	}

	t.Run("keyless with the job's id_tokens", func(t *testing.T) {
		t.Parallel()
		s := scenario(t, trust)
		check(t, s.run(t), true)
		want := "go install " + signetModule + "@" + ciSignetVersion
		if got := installedVersions(t, s.state); !strings.Contains(got, want) {
			t.Errorf("want %q, installs were:\n%s", want, got)
		}
	})

	t.Run("an unsigned image stops the deploy", func(t *testing.T) {
		t.Parallel()
		unsigned := reg.PushImage(t, project+":unsigned")
		s := scenario(t, trust)
		s.only, s.dotenv = "deploy", map[string]string{"SIGNET_IMAGE": unsigned.String()}
		d := s.run(t)["deploy"]
		if d == nil {
			t.Fatal("the deploy job did not run")
		}
		stoppedAtGate(t, d.failed, d.log, 0, "DENIED "+unsigned.String(), "signatures [not-found]")
	})

	t.Run("a tag is not signed", func(t *testing.T) {
		t.Parallel()
		s := scenario(t, trust)
		tag := reg.Host + "/" + project + ":v1"
		s.only, s.dotenv = "sign", map[string]string{"SIGNET_IMAGE": tag}
		r := s.run(t)["sign"]
		if r == nil || r.failed == nil || strings.Contains(r.log, "Signed") || !strings.Contains(r.log, "SIGNET_IMAGE is '"+tag+"': give the digest the build pushed") {
			t.Fatalf("the sign job signed a tag, or did not say why: %+v", r)
		}
	})

	t.Run("a key from a file variable", func(t *testing.T) {
		t.Parallel()
		s := scenario(t, nil)
		_, keyFile := releaseKey(t, filepath.Join(s.ws, ".gitlab/signet"))
		s.project = map[string]string{"SIGNET_KEY": keyFile, "SIGNET_PASSWORD": ciKeyPassword, "SIGNET_POLICY": ".gitlab/signet/policy-key.yaml"}
		for k, v := range trust {
			s.project[k] = v
		}
		check(t, s.run(t), false)
	})
}
