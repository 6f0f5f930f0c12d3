package migrate

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/gobwas/glob"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/policy"
)

func TestOverlaps(t *testing.T) {
	t.Parallel()
	p := func(s string) pattern { return pcTokens(s) }
	for _, tc := range []struct {
		a, b pattern
		want bool
	}{
		{p("**"), p("ghcr.io/org/app:*"), true},
		{p("ghcr.io/org/*"), p("ghcr.io/org/app:v1"), true},
		{p("ghcr.io/org/*"), p("ghcr.io/org/team/app:v1"), false}, // * stops at '/'
		{p("ghcr.io/org/**"), p("ghcr.io/org/team/app:v1"), true},
		{p("ghcr.io/**"), p("quay.io/**"), false},
		{p("**demo**"), p("registry.local:5000/policy-controller/demo*"), true},
		{p("*/app:*"), p("ghcr.io/x/app:*"), false},
		{p("a*c"), p("ab*"), true},
		{concat(lits("a"), pattern{{kind: tAny}}, lits("b")), lits("a/b"), true},
		{concat(lits("a"), pattern{{kind: tStar}}, lits("b")), lits("a/b"), false},
		{p("docker.io/library/*"), p("docker.io/*/*"), true},
		{p("docker.io/library/*"), p("docker.io/*/*/*"), false},
		{p("docker.io/library/*"), p("docker.io/**"), true},
	} {
		t.Run(tc.a.String()+" & "+tc.b.String(), func(t *testing.T) {
			if got := overlaps(tc.a, tc.b); got != tc.want {
				t.Errorf("overlaps(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
			if got := overlaps(tc.b, tc.a); got != tc.want {
				t.Errorf("overlaps(%s, %s) = %v, want %v (the other way round)", tc.b, tc.a, got, tc.want)
			}
		})
	}
}

// TestPatternMatchesAsSignet holds the importer's own reading of its
// patterns to Signet's matcher (gobwas/glob with '/' as separator): the
// overlap reasoning is only as good as this agreement.
func TestPatternMatchesAsSignet(t *testing.T) {
	t.Parallel()
	pats := []pattern{
		pcTokens("ghcr.io/org/*"), pcTokens("**"), pcTokens("**demo**"), pcTokens("docker.io/library/*"),
		kyvernoTokens("ghcr.io/kyverno/test-verify-image*"), kyvernoTokens("registry.io/org/app:v?"),
		kyvernoTokens("*/app:*"), kyvernoTokens("a?b*c"),
	}
	refs := []string{
		"ghcr.io/org/app:v1", "ghcr.io/org/team/app:v1", "docker.io/library/nginx:latest", "registry.local:5000/policy-controller/demo:1",
		"ghcr.io/kyverno/test-verify-image:signed", "ghcr.io/kyverno/test-verify-image-x/y@sha256:ab", "registry.io/org/app:v1",
		"registry.io/org/app:v/", "a/b/c", "axbc", "ab", "x/app:1", "x/y/app:1",
	}
	for _, p := range pats {
		g := glob.MustCompile(p.String(), '/')
		for _, r := range refs {
			if got, want := p.matches(r), g.Match(r); got != want {
				t.Errorf("%s on %s: the importer says %v, Signet's matcher %v", p, r, got, want)
			}
		}
	}
}

// kyvernoView is how Kyverno spells an image when it matches
// imageReferences (pkg/utils/image.GetImageInfo and ImageInfo.String):
// docker.io/ in front of a name without a registry, the path as written,
// :latest without a tag, and the digest alone when there is one.
func kyvernoView(ref string) string {
	if i := strings.IndexByte(ref, '/'); i < 0 || !strings.ContainsAny(ref[:i], ".:") && ref[:i] != "localhost" {
		ref = "docker.io/" + ref
	}
	repo, digest, hasDigest := strings.Cut(ref, "@")
	tag := "latest"
	if j := strings.LastIndexByte(repo, ':'); j > strings.LastIndexByte(repo, '/') {
		repo, tag = repo[:j], repo[j+1:]
	}
	if hasDigest {
		return repo + "@" + digest
	}
	return repo + ":" + tag
}

// kyvernoMatch is Kyverno's wildcard match (go-wildcard v1.0.3): * any run
// of characters, ? exactly one.
func kyvernoMatch(p, s string) bool {
	if p == "" {
		return s == ""
	}
	switch p[0] {
	case '*':
		return kyvernoMatch(p[1:], s) || s != "" && kyvernoMatch(p, s[1:])
	case '?':
		return s != "" && kyvernoMatch(p[1:], s[1:])
	}
	return s != "" && s[0] == p[0] && kyvernoMatch(p[1:], s[1:])
}

// spellings are images as pods may name them, each image under several
// spellings.
var spellings = [][]string{
	{"nginx", "nginx:latest", "docker.io/nginx", "library/nginx", "docker.io/library/nginx:latest", "index.docker.io/library/nginx", "index.docker.io/nginx:latest"},
	{"nginx:1.25", "docker.io/library/nginx:1.25", "index.docker.io/nginx:1.25"},
	{"nginx@sha256:" + strings.Repeat("a", 64), "nginx:1.25@sha256:" + strings.Repeat("a", 64), "docker.io/library/nginx@sha256:" + strings.Repeat("a", 64), "index.docker.io/nginx@sha256:" + strings.Repeat("a", 64)},
	{"myorg/app:v1", "docker.io/myorg/app:v1", "index.docker.io/myorg/app:v1"},
	{"nginxinc/nginx-unprivileged:1", "docker.io/nginxinc/nginx-unprivileged:1"},
	{"ghcr.io/kyverno/test-verify-image:signed", "GHCR.IO/kyverno/test-verify-image:signed", "ghcr.io:443/kyverno/test-verify-image:signed"},
	{"ghcr.io/kyverno/test-verify-image", "ghcr.io/kyverno/test-verify-image:latest"},
	{"ghcr.io/kyverno/test-verify-image-other/sub:1"},
	{"ghcr.io/org/app:v1"}, {"ghcr.io/org/team/app:v1"}, {"ghcr.io/trusted/x:1"},
	{"registry.io/org/app:v1"}, {"registry.io/org/app-x:v1"}, {"quay.io/org/app:v1"},
	{"registry.local:5000/policy-controller/demo:1"}, {"registry.local:5000/policy-controller/demo"},
	{"registry.local:5000/policy-controller/demo-x/y:1"},
	{"localhost/app:1", "localhost:443/app:1"},
	{"gcr.io/vaikas/x/y:1"}, {"gcr.io/projectsigstore/policy-webhook@sha256:" + strings.Repeat("d", 64)},
	{"busybox", "busybox:latest"},
	{"quay.io/jetstack/cert-manager-acmesolver:v1.0"},
}

// signetMatch compiles the patterns as a Signet policy and reports
// whether any matches ref.
func signetMatch(t *testing.T, pats []pattern, ref string) bool {
	t.Helper()
	if len(pats) == 0 {
		return false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: %s\nkind: %s\nimages:\n", policy.APIVersion, policy.Kind)
	for _, p := range pats {
		if err := checkPattern(p); err != nil {
			t.Fatalf("pattern %s: %v", p, err)
		}
		fmt.Fprintf(&b, "  - pattern: %q\n", p)
	}
	c, err := policy.Compile([]byte(b.String()), "", noKeys)
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	r, err := c.Match(ref)
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	return r != nil
}

func discard() scope { return scope{out: new([]Finding)} }

// TestKyvernoPatternsCoverKyverno: an image Kyverno matches, under any
// spelling, is matched by the patterns written for Signet. (Signet may
// match more: Kyverno admits what it does not match, so that only refuses
// more.) Where the two agree on every spelling, the translation is exact.
func TestKyvernoPatternsCoverKyverno(t *testing.T) {
	t.Parallel()
	for _, kp := range []string{
		"ghcr.io/kyverno/test-verify-image*", "ghcr.io/kyverno/test-verify-image:*", "ghcr.io/*",
		"ghcr.io/org/app:v?", "*", "docker.io/nginx*", "docker.io/nginx:*", "nginx:*", "docker.io/*",
		"docker.io/library/nginx:*", "index.docker.io/*", "registry.io/org/app*", "*:latest", "*/app:*",
		"ghcr.io/kyverno/test-verify-image:signed-keyless", "localhost/*", "GHCR.IO/kyverno/*", "*prod*", "*/nginx:*",
	} {
		pats := kyvernoPattern(discard(), "", kp)
		for _, group := range spellings {
			canon, err := policy.NormalizeReference(group[0])
			if err != nil {
				t.Fatal(err)
			}
			kyverno := false
			for _, s := range group {
				kyverno = kyverno || kyvernoMatch(kp, kyvernoView(s))
			}
			if kyverno && !signetMatch(t, pats, canon) {
				t.Errorf("Kyverno's %q matches %s (as %s) but the imported %v does not", kp, group[0], kyvernoView(group[0]), pats)
			}
		}
	}
}

// pcMatch is policy-controller's glob match (pkg/apis/glob): the glob as
// a regular expression (* is [^/]*, ** is .*), tried on the image's full
// name and then on the name as written.
func pcMatch(t *testing.T, g, image string) bool {
	t.Helper()
	switch g {
	case "*/*":
		g = "index.docker.io/*/*"
	case "*":
		g = "index.docker.io/library/*"
	}
	g = strings.ReplaceAll(g, ".", `\.`)
	g = strings.ReplaceAll(g, "**", "#")
	g = strings.ReplaceAll(g, "*", "[^/]*")
	g = strings.ReplaceAll(g, "#", ".*")
	re := regexp.MustCompile("^" + g + "$")
	ref, err := name.ParseReference(image, name.WeakValidation)
	if err != nil {
		t.Fatal(err)
	}
	return re.MatchString(ref.Name()) || ref.Name() != image && re.MatchString(image)
}

// TestPolicyControllerPatternsAreExact: the patterns written for a glob
// match an image exactly when policy-controller matches one of its
// spellings. (policy-controller denies what no policy matches, so a
// pattern matching more would admit more.)
func TestPolicyControllerPatternsAreExact(t *testing.T) {
	t.Parallel()
	for _, g := range []string{
		"**", "*", "*/*", "**demo**", "registry.local:5000/policy-controller/demo*", "ghcr.io/org/*",
		"ghcr.io/**", "gcr.io/vaikas/**", "index.docker.io/library/*", "nginx", "nginx*", "myorg/*",
		"busybox", "ghcr.io/kyverno/test-verify-image", "quay.io/jetstack/cert-manager-acmesolver:*",
		"gcr.io/projectsigstore/policy-webhook@sha256:" + strings.Repeat("d", 64), "index.docker.io/nginx**",
		"localhost/*", "ghcr.io/*/app:*",
	} {
		pats := pcPattern(discard(), "", g)
		for _, group := range spellings {
			canon, err := policy.NormalizeReference(group[0])
			if err != nil {
				t.Fatal(err)
			}
			pc := false
			for _, s := range group {
				pc = pc || pcMatch(t, g, s)
			}
			if got := signetMatch(t, pats, canon); got != pc {
				t.Errorf("glob %q on %v: policy-controller %v, the imported %v %v", g, group, pc, pats, got)
			}
		}
	}
}

func TestPatternFindings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kyverno bool
		in      string
		want    []string // the patterns written
		finding Severity // "" for none
	}{
		{true, "ghcr.io/org/*", []string{"ghcr.io/org/**"}, ""},
		{true, "docker.io/nginx:*", []string{"docker.io/library/nginx:**"}, ""},
		{true, "docker.io/nginx*", []string{"docker.io/library/nginx**", "docker.io/nginx**"}, ""},
		{true, "nginx:*", []string{"docker.io/library/nginx:**"}, Stricter},
		{true, "*docker.io/*", []string{"**docker.io/**", "(every rule)"}, Untranslated},
		{true, "ghcr.io/org/[x]", nil, Note},
		{true, "ghcr.io/a?c:1", []string{"ghcr.io/a{?,/}c:1"}, ""},
		{false, "ghcr.io/org/app", []string{"ghcr.io/org/app:latest"}, Note},
		{false, "ghcr.io/*/app", []string{"ghcr.io/*/app:latest"}, Note},
		{false, "ghcr.io/org/*-app", []string{"ghcr.io/org/*-app", "ghcr.io/org/*-app:latest"}, ""},
		{false, "nginx*", []string{"docker.io/library/nginx*"}, ""},
		{true, "*", []string{"**"}, ""},
		{false, "*", []string{"docker.io/library/*"}, ""},
		{false, "ghcr.io/org/?", nil, Untranslated},
		{false, "**index**", []string{"**index**", "(every rule)"}, Untranslated},
		{false, "**demo**", []string{"**demo**"}, ""},
		{false, "*/demo*", []string{"*/demo*", "(every rule)"}, Untranslated},
		{true, "*io/nginx:*", []string{"**io/nginx:**", "(every rule)"}, Untranslated},
		{true, "*/app:*", []string{"**/app:**"}, ""},
		{true, "*:latest", []string{"**:latest"}, ""},
		{true, "*443/*", []string{"**443/**", "(every rule)"}, Untranslated},
		{true, "*.dkr.ecr.*.amazonaws.com/*", []string{"**.dkr.ecr.**.amazonaws.com/**", "(every rule)"}, Untranslated},
		{true, "*-prod/*", []string{"**-prod/**", "(every rule)"}, Untranslated},
		{true, "*prod*", []string{"**prod**"}, ""},
		{true, "{{ request.object.metadata.annotations.image }}", []string{"(every rule)"}, Untranslated},
		{true, "ghcr.io/{{ request.namespace }}/*", []string{"(every rule)"}, Untranslated},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var found []Finding
			sc := scope{out: &found}
			var pats []pattern
			if tc.kyverno {
				pats = kyvernoPattern(sc, "f", tc.in)
			} else {
				pats = pcPattern(sc, "f", tc.in)
			}
			var got []string
			for _, p := range pats {
				got = append(got, p.String())
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("patterns %q, want %q", got, tc.want)
			}
			switch {
			case tc.finding == "" && len(found) > 0:
				t.Errorf("unexpected finding %+v", found)
			case tc.finding != "" && (len(found) == 0 || found[0].Severity != tc.finding):
				t.Errorf("findings %+v, want one %s", found, tc.finding)
			}
		})
	}
}
