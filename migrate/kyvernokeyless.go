package migrate

import (
	"fmt"
	"regexp"
	"sort"

	"github.com/signet-dev/signet/policy"
)

// Fulcio's GitHub certificate extensions, by Kyverno's names and by OID.
var githubExtensions = map[string]func(*policy.GitHubClaims) *string{
	"githubWorkflowTrigger":    func(g *policy.GitHubClaims) *string { return &g.WorkflowTrigger },
	"1.3.6.1.4.1.57264.1.2":    func(g *policy.GitHubClaims) *string { return &g.WorkflowTrigger },
	"githubWorkflowSha":        func(g *policy.GitHubClaims) *string { return &g.WorkflowSHA },
	"1.3.6.1.4.1.57264.1.3":    func(g *policy.GitHubClaims) *string { return &g.WorkflowSHA },
	"githubWorkflowName":       func(g *policy.GitHubClaims) *string { return &g.WorkflowName },
	"1.3.6.1.4.1.57264.1.4":    func(g *policy.GitHubClaims) *string { return &g.WorkflowName },
	"githubWorkflowRepository": func(g *policy.GitHubClaims) *string { return &g.WorkflowRepository },
	"1.3.6.1.4.1.57264.1.5":    func(g *policy.GitHubClaims) *string { return &g.WorkflowRepository },
	"githubWorkflowRef":        func(g *policy.GitHubClaims) *string { return &g.WorkflowRef },
	"1.3.6.1.4.1.57264.1.6":    func(g *policy.GitHubClaims) *string { return &g.WorkflowRef },
}

// keyless translates a keyless attestor. Kyverno's subject and issuer are
// wildcards (* any run, ? one character), written here as anchored
// regular expressions; subject and subjectRegExp together accept either,
// issuer and issuerRegExp together must both hold; an unset subject or
// issuer is not checked. An attestor Signet cannot say the same of is
// left out (reported), which only ever refuses more.
func (k *kyTranslator) keyless(field string, kl *kyKeyless) (signer, bool) {
	drop := func(why string, a ...any) (signer, bool) {
		k.sc.stricter(field, "attestor not translated: "+why+"; signatures it would accept do not count in Signet", a...)
		return signer{}, false
	}
	for _, v := range []string{kl.Subject, kl.SubjectRegExp, kl.Issuer, kl.IssuerRegExp, kl.Roots} {
		if hasVariable(v) {
			return drop("%q is a variable Kyverno fills in at admission; Signet needs the identity itself", v)
		}
	}
	if kl.Roots != "" {
		return drop("it trusts its own certificate roots; Signet checks keyless certificates against the certificate authorities of its trusted root (signet trust): add them there and write the identity by hand")
	}
	for _, re := range []string{kl.SubjectRegExp, kl.IssuerRegExp} {
		if _, err := regexp.Compile(re); err != nil {
			return drop("the regular expression %q does not compile, so Kyverno refused every signature for it", re)
		}
	}
	var id policy.Keyless
	if subjectOf(kl, &id) {
		k.sc.note(field, "the attestor names no subject, so any subject is accepted, as in Kyverno")
	}
	if why := issuerOf(kl, &id); why != "" {
		return drop("%s", why)
	}
	if kl.Issuer == "" && kl.IssuerRegExp == "" {
		k.sc.note(field, "the attestor names no issuer, so any issuer is accepted, as in Kyverno")
	}
	if !k.extensions(field, kl.AdditionalExtensions, &id) {
		return signer{}, false
	}
	return keylessSigner(k.rule+"-keyless", id), true
}

// subjectOf writes the attestor's subject into id; it reports whether
// none was given (any subject then passes).
func subjectOf(kl *kyKeyless, id *policy.Keyless) bool {
	switch {
	case kl.Subject != "" && kl.SubjectRegExp != "":
		id.SubjectRegExp = "(?:" + wildcardRegexp(kl.Subject) + ")|(?:" + kl.SubjectRegExp + ")"
	case kl.SubjectRegExp != "":
		id.SubjectRegExp = kl.SubjectRegExp
	case hasWildcard(kl.Subject):
		id.SubjectRegExp = wildcardRegexp(kl.Subject)
	case kl.Subject != "":
		id.Subject = kl.Subject
	default:
		id.SubjectRegExp = ".*"
		return true
	}
	return false
}

// issuerOf writes the attestor's issuer into id, or says why one Signet
// identity cannot say it.
func issuerOf(kl *kyKeyless, id *policy.Keyless) string {
	switch {
	case kl.Issuer != "" && kl.IssuerRegExp != "":
		if hasWildcard(kl.Issuer) {
			return fmt.Sprintf("issuer %q and issuerRegExp %q must both match, which one Signet identity cannot say", kl.Issuer, kl.IssuerRegExp)
		}
		if !regexp.MustCompile(kl.IssuerRegExp).MatchString(kl.Issuer) {
			return fmt.Sprintf("issuer %q does not match issuerRegExp %q, so Kyverno refused every signature for it", kl.Issuer, kl.IssuerRegExp)
		}
		id.Issuer = kl.Issuer
	case kl.IssuerRegExp != "":
		id.IssuerRegExp = kl.IssuerRegExp
	case hasWildcard(kl.Issuer):
		id.IssuerRegExp = wildcardRegexp(kl.Issuer)
	case kl.Issuer != "":
		id.Issuer = kl.Issuer
	default:
		id.IssuerRegExp = ".*"
	}
	return ""
}

// extensions translates additionalExtensions into GitHub claims, which
// Signet compares exactly; a wildcard value or another extension cannot be
// said, and leaves the attestor out.
func (k *kyTranslator) extensions(field string, ext map[string]string, id *policy.Keyless) bool {
	names := make([]string, 0, len(ext))
	for n := range ext {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := ext[n]
		set, ok := githubExtensions[n]
		switch {
		case !ok:
			k.sc.stricter(field+".additionalExtensions", "attestor not translated: the extension %s is not one Signet checks (it checks the GitHub workflow trigger, SHA, name, repository and ref); signatures it would accept do not count in Signet", n)
			return false
		case hasWildcard(v) || hasVariable(v):
			k.sc.stricter(field+".additionalExtensions", "attestor not translated: %s: %q is a pattern, and Signet compares extensions exactly; signatures it would accept do not count in Signet", n, v)
			return false
		}
		if id.GitHub == nil {
			id.GitHub = &policy.GitHubClaims{}
		}
		*set(id.GitHub) = v
	}
	return true
}
