package migrate

import (
	"regexp"
	"testing"
)

// TestKeylessIdentity compares the identity written for a Kyverno keyless
// attestor with Kyverno's check of a certificate's subject and issuer
// (pkg/image/verifiers/cpol/cosign: subject by wildcard or subjectRegExp,
// either; issuer by wildcard and issuerRegExp, both; unset: not checked),
// over sample subjects and issuers: Signet (exact values, or a regular
// expression matched anywhere, as sigstore-go does) must agree.
func TestKeylessIdentity(t *testing.T) {
	t.Parallel()
	subjects := []string{"alice@nirmata.com", "bob@example.com", "https://github.com/org/app/.github/workflows/release.yaml@refs/tags/v1", "x@nirmata.com.evil", ""}
	issuers := []string{"https://accounts.google.com", "https://token.actions.githubusercontent.com", "https://evil.example"}
	for _, kl := range []kyKeyless{
		{Subject: "*@nirmata.com", Issuer: "https://accounts.google.com"},
		{Subject: "bob@example.com", Issuer: "https://accounts.google.com"},
		{SubjectRegExp: `https://github\.com/.+`, IssuerRegExp: `https://token\.actions\.githubusercontent.+`},
		{Subject: "bob@example.com", SubjectRegExp: `^alice@`, Issuer: "https://accounts.google.com"},
		{Subject: "*@nirmata.com"},
		{Issuer: "https://accounts.google.com", IssuerRegExp: `google`},
		{Issuer: "https://token.actions.githubusercontent.com", Subject: "https://github.com/org/app/.github/workflows/release.yaml@refs/tags/v?"},
	} {
		k := &kyTranslator{sc: discard(), req: &requirement{}, rule: "r"}
		s, ok := k.keyless("f", &kl)
		if !ok {
			t.Fatalf("%+v not translated", kl)
		}
		id := s.s.Keyless
		for _, sub := range subjects {
			for _, iss := range issuers {
				kyverno := kyvernoSubject(kl, sub) && kyvernoIssuer(kl, iss)
				signet := match(id.Subject, id.SubjectRegExp, sub) && match(id.Issuer, id.IssuerRegExp, iss)
				if kyverno != signet {
					t.Errorf("%+v as %+v, on %q from %q: Kyverno %v, Signet %v", kl, *id, sub, iss, kyverno, signet)
				}
			}
		}
	}
}

func kyvernoSubject(kl kyKeyless, s string) bool {
	if kl.Subject == "" && kl.SubjectRegExp == "" {
		return true
	}
	return kl.Subject != "" && kyvernoMatch(kl.Subject, s) || kl.SubjectRegExp != "" && regexp.MustCompile(kl.SubjectRegExp).MatchString(s)
}

func kyvernoIssuer(kl kyKeyless, s string) bool {
	return (kl.Issuer == "" || kyvernoMatch(kl.Issuer, s)) && (kl.IssuerRegExp == "" || regexp.MustCompile(kl.IssuerRegExp).MatchString(s))
}

func match(exact, re, s string) bool {
	if exact != "" {
		return exact == s
	}
	return regexp.MustCompile(re).MatchString(s)
}

// TestKeylessDropped: an attestor Signet cannot say the same of is left
// out (only ever refusing more), with the reason.
func TestKeylessDropped(t *testing.T) {
	t.Parallel()
	for name, kl := range map[string]kyKeyless{
		"custom roots":          {Subject: "a", Issuer: "b", Roots: "-----BEGIN CERTIFICATE-----"},
		"a variable":            {Subject: "{{ request.object.metadata.name }}", Issuer: "b"},
		"a wildcard extension":  {Subject: "a", Issuer: "b", AdditionalExtensions: map[string]string{"githubWorkflowRef": "refs/tags/*"}},
		"an unknown extension":  {Subject: "a", Issuer: "b", AdditionalExtensions: map[string]string{"buildSignerURI": "x"}},
		"issuer pattern and re": {Subject: "a", Issuer: "https://*", IssuerRegExp: "x"},
		"a bad regexp":          {SubjectRegExp: "(", Issuer: "b"},
	} {
		var found []Finding
		k := &kyTranslator{sc: scope{out: &found}, req: &requirement{}, rule: "r"}
		if _, ok := k.keyless("f", &kl); ok || len(found) == 0 || found[0].Severity != Stricter {
			t.Errorf("%s: translated %v, findings %+v; want left out, said so", name, ok, found)
		}
	}
}
