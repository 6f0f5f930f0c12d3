package migrate

import (
	"fmt"
	"strings"

	"github.com/signet-dev/signet/policy"
)

// refChars are the characters an image reference can have.
const refChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@/-"

// kyvernoPattern translates one of Kyverno's imageReferences. Kyverno
// matches the pattern against the image as the pod spells it, with
// docker.io/ put in front of a name without a registry (nginx is
// docker.io/nginx:latest); its * matches any run of characters, '/'
// included, and ? any one character. Signet matches the image's canonical
// name (docker.io/library/nginx:latest) and its * stops at '/': Kyverno's
// * is Signet's **. Kyverno lets images no rule matches through, so a
// pattern that matches more images than Kyverno's only makes the import
// stricter; where the spelling differs, the patterns written cover every
// image the original could match.
func kyvernoPattern(sc scope, field, p string) []pattern {
	if hasVariable(p) {
		// Kyverno fills the variable in at admission: which images it
		// names cannot be known here, so the requirements cover them all.
		sc.untranslated(field, p, "", "imageReferences %q holds a variable Kyverno fills in at admission; until you write the pattern by hand, this rule's requirements go into every rule", p)
		return []pattern{everyRule}
	}
	if bad := strings.Trim(p, refChars+"*?"); bad != "" || p == "" {
		sc.note(field, "imageReferences %q can never match an image (image names have no %q); it is left out, as it changed nothing", p, bad)
		return nil
	}
	toks := kyvernoTokens(p)
	head, _, hasSlash := strings.Cut(p, "/")
	switch {
	case startsWild(p, head, hasSlash, "*?"):
		if risky(p) || !spellingSafe(toks) {
			sc.untranslated(field, p, "",
				"the pattern %q starts with a wildcard and names parts that Kyverno and Signet spell differently (Kyverno sees nginx as docker.io/nginx:latest, Signet as docker.io/library/nginx:latest; Signet lower-cases registries and drops :443), so the images it covers may differ; it is imported as %s and, until you check it covers every image you mean, its requirements also go into every other rule",
				p, toks)
			// An image the original matched and toks misses would meet
			// only the other rules' requirements: cover every image.
			return []pattern{toks, everyRule}
		}
		return []pattern{toks}
	case !hasSlash || !isRegistry(head):
		sc.stricter(field, "imageReferences %q names no registry: Kyverno compares it with the image's full name (docker.io/...), so it matches only when Kyverno's default-registry mutation is off; Signet reads it as a Docker Hub name and checks those images", p)
		return hubVariants(toks)
	}
	reg, err := policy.NormalizeRegistry(head)
	if err != nil {
		sc.note(field, "imageReferences %q can never match an image: %v; it is left out, as it changed nothing", p, err)
		return nil
	}
	rest := toks[len(head)+1:]
	if reg == policy.DockerHub {
		return hubVariants(rest)
	}
	return []pattern{concat(lits(reg+"/"), rest)}
}

// kyvernoTokens reads a Kyverno wildcard pattern: * is any run of
// characters (a run of them is one), ? any one character.
func kyvernoTokens(p string) pattern {
	var out pattern
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '*':
			if len(out) == 0 || out[len(out)-1].kind != tStars {
				out = append(out, tok{kind: tStars})
			}
		case '?':
			out = append(out, tok{kind: tAny})
		default:
			out = append(out, tok{kind: tLit, c: p[i]})
		}
	}
	return out
}

// startsWild says whether a pattern's first part (its registry, or the
// whole name when it has no '/') starts with or holds a wildcard: it is
// then matched against whole names as written, registry and all.
func startsWild(p, head string, hasSlash bool, wild string) bool {
	return strings.ContainsAny(p[:1], wild) || hasSlash && strings.ContainsAny(head, wild)
}

// hubVariants writes the patterns for a Docker Hub path pattern (what
// follows docker.io/): with library/ for official images when the path can
// be a single name, and as written when it can have more segments.
func hubVariants(rest pattern) []pattern {
	if strings.HasPrefix(rest.String(), "library/") {
		return []pattern{concat(lits("docker.io/"), rest)}
	}
	var out []pattern
	if rest.wildcardBeforeSlash() {
		out = append(out, concat(lits("docker.io/library/"), rest))
	}
	if rest.slashInPath() {
		out = append(out, concat(lits("docker.io/"), rest))
	}
	return out
}

// isRegistry says whether the first part of a name is a registry, as
// references read it: localhost, or a host with a '.' or a port.
func isRegistry(head string) bool {
	return head == "localhost" || strings.ContainsAny(head, ".:")
}

// risky says whether a pattern that starts with a wildcard spells parts
// that differ between the original's view of an image and Signet's.
func risky(p string) bool {
	lower := strings.ToLower(p)
	return lower != p || strings.Contains(p, "docker") || strings.Contains(p, "library") || strings.Contains(p, "index") || strings.Contains(p, ":443")
}

// hubAliases are Docker Hub's names, which Signet spells docker.io.
var hubAliases = []string{"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}

// spellingSafe says whether a pattern that starts with a wildcard matches
// an image's canonical name whenever it matches another spelling of it.
// The spellings differ only in the registry (case, :443, a trailing dot,
// Docker Hub's aliases) and in library/ before an official image's name,
// so a leading ** that absorbs the registry keeps the match when the first
// text after it starts at a '/' (what follows is the end of every
// spelling) or cannot be part of a registry's changing text. Anything else
// is reported, not guessed.
func spellingSafe(p pattern) bool {
	i, stars := 0, false
	for ; i < len(p) && p[i].kind != tLit; i++ {
		stars = stars || p[i].kind == tStars
	}
	if i == len(p) {
		return true
	}
	if !stars {
		return false
	}
	j := i
	for j < len(p) && p[j].kind == tLit {
		j++
	}
	first := p[i:j].String()
	switch {
	case first[0] == '/' || first[0] == '@':
		return true
	case first[0] == ':':
		return !p[j:].hasLit("/")
	case strings.ContainsAny(first, "/:") || strings.HasSuffix(first, ".") || strings.Trim(first, "0123456789") == "":
		return false
	}
	for _, a := range hubAliases {
		if strings.Contains(a, first) {
			return false
		}
	}
	return true
}

// pcPattern translates one of policy-controller's images[].glob. Its * is
// any run of characters but '/' and ** any run at all, as Signet's;
// policy-controller matches the glob against the image's full name
// (index.docker.io/library/nginx:latest), and, when that fails, against
// the name as the pod spells it (nginx, myorg/app): a glob without a
// registry names Docker Hub images, as in Signet, and a glob without a tag
// matches only an image named without one (:latest). A glob of "*" or
// "*/*" is read as index.docker.io/library/* and index.docker.io/*/*.
// Signet matches every spelling of an image's registry
// (REGISTRY.EXAMPLE.COM:443 is registry.example.com), where
// policy-controller matches only the spelling in the glob.
func pcPattern(sc scope, field, g string) []pattern {
	switch g {
	case "*":
		g = "index.docker.io/library/*"
	case "*/*":
		g = "index.docker.io/*/*"
	}
	if bad := strings.Trim(g, refChars+"*"); bad != "" || g == "" {
		sc.untranslated(field, g, "", "glob %q has characters policy-controller refuses (it accepts letters, digits, - _ : / * . @), so this policy never applied; it is left out", g)
		return nil
	}
	toks := pcTokens(g)
	head, _, hasSlash := strings.Cut(g, "/")
	var out []pattern
	every := false
	switch {
	case startsWild(g, head, hasSlash, "*"):
		out = []pattern{toks}
		if risky(g) || !spellingSafe(toks) {
			every = true
			sc.untranslated(field, g, "",
				"the glob %q starts with a wildcard and names parts that policy-controller and Signet spell differently (index.docker.io/library/nginx:latest is docker.io/library/nginx:latest to Signet, which also lower-cases registries and drops :443), so the images it covers may differ; it is imported as %s and, until you check it covers every image you mean, its requirements also go into every other rule",
				g, toks)
		}
	case !hasSlash || !isRegistry(head):
		out = hubVariants(toks)
	default:
		reg, err := policy.NormalizeRegistry(head)
		if err != nil {
			sc.note(field, "glob %q can never match an image: %v; it is left out, as it changed nothing", g, err)
			return nil
		}
		rest := toks[len(head)+1:]
		if reg == policy.DockerHub {
			out = hubVariants(rest)
		} else {
			out = []pattern{concat(lits(reg+"/"), rest)}
		}
	}
	out = untagged(sc, field, g, out)
	if every {
		out = append(out, everyRule)
	}
	return out
}

// pcTokens reads a policy-controller glob: a run of two or more stars is
// **, a single star is *.
func pcTokens(g string) pattern {
	var out pattern
	for i := 0; i < len(g); i++ {
		if g[i] != '*' {
			out = append(out, tok{kind: tLit, c: g[i]})
			continue
		}
		j := i
		for j < len(g) && g[j] == '*' {
			j++
		}
		if j-i == 1 {
			out = append(out, tok{kind: tStar})
		} else {
			out = append(out, tok{kind: tStars})
		}
		i = j - 1
	}
	return out
}

// untagged adds :latest where a glob names no tag: policy-controller
// matches such a glob only with an image named without a tag, which is
// the :latest image; Signet always matches the name with its tag.
func untagged(sc scope, field, g string, in []pattern) []pattern {
	var out []pattern
	for _, p := range in {
		last := p.lastSegment()
		switch {
		case last.hasLit(":@"), len(last) > 0 && (last[len(last)-1].kind == tStar || last[len(last)-1].kind == tStars):
			out = append(out, p)
		case !last.hasWildcard():
			sc.note(field, "glob %q names no tag, so policy-controller matched it only with an image named without one (the :latest image): it is imported as %s", g, concat(p, lits(":latest")))
			out = append(out, concat(p, lits(":latest")))
		default:
			out = append(out, p, concat(p, lits(":latest")))
		}
	}
	return out
}

// checkPattern compiles a pattern alone to learn how Signet spells it: the
// importer writes patterns already spelled so, and its reasoning about
// overlaps holds only if Signet matches exactly what it wrote.
func checkPattern(p pattern) error {
	doc := fmt.Sprintf("apiVersion: %s\nkind: %s\nimages:\n  - pattern: %q\n", policy.APIVersion, policy.Kind, p.String())
	c, err := policy.Compile([]byte(doc), "", noKeys)
	if err != nil {
		return err
	}
	if got := c.Rules[0].Normalized; got != p.String() {
		return fmt.Errorf("signet matches the pattern %q as %q", p, got)
	}
	return nil
}
