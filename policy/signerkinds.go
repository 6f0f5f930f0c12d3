package policy

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/signet-dev/signet/internal/lazyre"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/notary"
)

// GitHubActionsIssuer is the OIDC issuer of GitHub Actions on github.com.
const GitHubActionsIssuer = "https://token.actions.githubusercontent.com"

// readFile reads a file the policy names, relative to its directory.
func (c *compiler) readFile(file string) ([]byte, error) {
	if !filepath.IsAbs(file) {
		file = filepath.Join(c.baseDir, file)
	}
	return os.ReadFile(file)
}

// notation compiles a Notation principal.
func (c *compiler) notation(path []any, n *NotationSigner) *CompiledNotation {
	at := func(rest ...any) []any { return append(append([]any{}, path...), rest...) }
	out := &CompiledNotation{SigningAuthority: n.SigningAuthority, Subject: n.Subject,
		VerifyTimestamp: n.VerifyTimestamp, Revocation: n.Revocation}
	ok := true
	switch {
	case (n.TrustStore == "") == (n.Certificates == ""):
		c.fail(path, "give exactly one of trustStore (a PEM file of the CA certificates, or of the signing certificate) or certificates (the same, inline)")
		ok = false
	case n.TrustStore != "":
		out.Certificates, ok = c.certificates(at("trustStore"), n.TrustStore, true)
		ok = ok && c.notationCheck(at("trustStore"), notary.CheckTrustStore(out.Certificates))
	default:
		out.Certificates, ok = c.certificates(at("certificates"), n.Certificates, false)
		ok = ok && c.notationCheck(at("certificates"), notary.CheckTrustStore(out.Certificates))
	}
	switch {
	case n.TSA != "" && n.TSACertificates != "":
		c.fail(path, "give one of tsa (a PEM file of timestamp authority roots) or tsaCertificates (the same, inline), not both")
		ok = false
	case n.TSA != "":
		var tok bool
		out.TSA, tok = c.certificates(at("tsa"), n.TSA, true)
		ok = ok && tok && c.notationCheck(at("tsa"), notary.CheckTSARoots(out.TSA))
	case n.TSACertificates != "":
		var tok bool
		out.TSA, tok = c.certificates(at("tsaCertificates"), n.TSACertificates, false)
		ok = ok && tok && c.notationCheck(at("tsaCertificates"), notary.CheckTSARoots(out.TSA))
	}
	if out.VerifyTimestamp == "" {
		out.VerifyTimestamp = "always"
	}
	if !oneOf(out.VerifyTimestamp, "always", "afterCertExpiry") {
		c.fail(at("verifyTimestamp"), "must be always or afterCertExpiry, not %q", n.VerifyTimestamp)
		ok = false
	}
	if out.Revocation == "" {
		out.Revocation = "enforce"
	}
	if !oneOf(out.Revocation, "enforce", "log", "skip") {
		c.fail(at("revocation"), "must be enforce, log or skip, not %q", n.Revocation)
		ok = false
	}
	if n.Subject != "" {
		if err := checkDN(n.Subject); err != nil {
			c.fail(at("subject"), "%v", err)
			ok = false
		}
	}
	if !ok {
		return nil
	}
	return out
}

// notationCheck records err, a certificate Notation's trust stores would
// refuse, at path; it reports whether there was none.
func (c *compiler) notationCheck(path []any, err error) bool {
	if err != nil {
		c.fail(path, "%v", err)
		return false
	}
	return true
}

// certificates parses PEM certificates from a file (relative to the
// policy) or inline. Every block must be a certificate, and there must be
// at least one.
func (c *compiler) certificates(path []any, v string, file bool) ([]*x509.Certificate, bool) {
	data, where := []byte(v), "the inline PEM"
	if file {
		var err error
		if data, err = c.readFile(v); err != nil {
			c.fail(path, "reading the certificates: %v", err)
			return nil, false
		}
		where = v
	}
	certs, err := parseCertificates(data)
	if err != nil {
		c.fail(path, "%s: %v", where, err)
		return nil, false
	}
	return certs, true
}

// parseCertificates reads every PEM block of data as an X.509 certificate.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for i := 1; ; i++ {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is a %s, not a CERTIFICATE: list only certificates", i, b.Type)
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d is not a valid X.509 certificate: %v", i, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
	}
	if len(bytes.TrimSpace(data)) > 0 {
		return nil, fmt.Errorf("has text after its last PEM certificate that is not PEM: list only certificates")
	}
	return certs, nil
}

var (
	dnAttrType = lazyre.New(`^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)$`)
)

// checkDN checks a trusted identity's distinguished name the way
// Notation's trust policy does: RFC 4514 attributes, one per RDN, none
// twice, and at least C, ST (or S) and O.
func checkDN(dn string) error {
	const want = `write it as RFC 4514 attributes like "CN=Security,O=Acme,ST=WA,C=US"`
	if strings.Contains(dn, "=#") {
		return fmt.Errorf("%q has a hex-encoded (=#) value, which Notation does not support: %s", dn, want)
	}
	rdns, err := splitDN(dn)
	if err != nil {
		return fmt.Errorf("%q is not a distinguished name: %v; %s", dn, err, want)
	}
	seen := map[string]bool{}
	for _, rdn := range rdns {
		typ, val, found := strings.Cut(rdn, "=")
		typ = strings.TrimSpace(typ)
		switch {
		case !found || !dnAttrType.MatchString(typ):
			return fmt.Errorf("%q is not a distinguished name: %q is not TYPE=VALUE; %s", dn, strings.TrimSpace(rdn), want)
		case strings.TrimSpace(val) == "":
			return fmt.Errorf("%q is not a distinguished name: %s has no value; %s", dn, typ, want)
		}
		u := strings.ToUpper(typ)
		if u == "S" {
			u = "ST"
		}
		if seen[u] {
			return fmt.Errorf("%q names %s twice: a DN may name each attribute once", dn, u)
		}
		seen[u] = true
	}
	for _, m := range []string{"C", "ST", "O"} {
		if !seen[m] {
			return fmt.Errorf("%q has no %s attribute: Notation's trusted identities need at least C, ST and O; %s", dn, m, want)
		}
	}
	return nil
}

// canonicalDN is a trusted identity as Notation matches it: its
// attributes, whatever their order, spacing or type case (S is ST).
// A DN that does not parse is returned as written.
func canonicalDN(dn string) string {
	rdns, err := splitDN(dn)
	if err != nil || dn == "" {
		return dn
	}
	var attrs []string
	for _, rdn := range rdns {
		typ, val, _ := strings.Cut(rdn, "=")
		typ = strings.ToUpper(strings.TrimSpace(typ))
		if typ == "S" {
			typ = "ST"
		}
		attrs = append(attrs, typ+"="+strings.TrimSpace(val))
	}
	slices.Sort(attrs)
	return strings.Join(attrs, ",")
}

// splitDN splits a DN at its unescaped commas (or semicolons), refusing
// multi-valued RDNs (an unescaped +), unbalanced quotes and a dangling
// escape.
func splitDN(dn string) ([]string, error) {
	if strings.TrimSpace(dn) == "" {
		return nil, fmt.Errorf("it is empty")
	}
	var (
		parts  []string
		cur    strings.Builder
		quoted bool
	)
	for i := 0; i < len(dn); i++ {
		ch := dn[i]
		switch {
		case ch == '\\':
			if i+1 >= len(dn) {
				return nil, fmt.Errorf("it ends in an escape (\\)")
			}
			cur.WriteByte(ch)
			cur.WriteByte(dn[i+1])
			i++
			continue
		case ch == '"':
			quoted = !quoted
		case quoted:
		case ch == ',' || ch == ';':
			parts = append(parts, cur.String())
			cur.Reset()
			continue
		case ch == '+':
			return nil, fmt.Errorf("it has a multi-valued attribute (+), which Notation does not support")
		}
		cur.WriteByte(ch)
	}
	if quoted {
		return nil, fmt.Errorf("a quoted value is not closed")
	}
	return append(parts, cur.String()), nil
}

var (
	ghOwner    = `[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?`
	ghRepo     = `[A-Za-z0-9._-]+`
	ghWorkflow = lazyre.New(`^(` + ghOwner + `)/(` + ghRepo + `)/(\.github/workflows/[^/@\s]+\.ya?ml)(?:@(\S+))?$`)
	ghOwnerRe  = lazyre.New(`^` + ghOwner + `$`)
	ghRepoRe   = lazyre.New(`^(` + ghOwner + `)/(` + ghRepo + `)$`)
	hostRe     = lazyre.New(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]+)?$`)
)

// github compiles a GitHub workflow identity to the keyless identity it
// stands for.
func (c *compiler) github(path []any, g *GitHubWorkflow) *Keyless {
	at := func(rest ...any) []any { return append(append([]any{}, path...), rest...) }
	ok := true
	bad := func(field, format string, a ...any) {
		c.fail(at(field), format, a...)
		ok = false
	}
	host := g.Host
	if host == "" {
		host = "github.com"
	}
	if !hostRe.MatchString(host) {
		bad("host", "%q is not a host name: write the GitHub host alone, like github.com or acme.ghe.com (no https://, no path)", g.Host)
	}
	m := ghWorkflow.FindStringSubmatch(g.Workflow)
	if m == nil {
		bad("workflow", "%q is not a workflow: write OWNER/REPO/.github/workflows/FILE.yml, optionally with @REF (like acme/app/.github/workflows/release.yml@refs/heads/main); without @REF any ref counts", g.Workflow)
		return nil
	}
	owner, repo, file, ref := m[1], m[2], m[3], m[4]
	if ref != "" && !strings.HasPrefix(ref, "refs/") && !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(ref) {
		bad("workflow", "the ref %q after @ is neither a full ref (refs/heads/main, refs/tags/v1) nor a commit SHA", ref)
	}
	base := "https://" + host + "/"
	subject := "^" + regexp.QuoteMeta(base+owner+"/"+repo+"/"+file+"@")
	if ref == "" {
		subject += `\S+$`
	} else {
		subject += regexp.QuoteMeta(ref) + "$"
	}
	issuer := g.Issuer
	if issuer == "" {
		issuer = GitHubActionsIssuer
		if sub, found := strings.CutSuffix(host, ".ghe.com"); found {
			issuer = "https://token.actions." + sub + ".ghe.com"
		}
	} else if !strings.HasPrefix(issuer, "https://") {
		bad("issuer", "%q is not an https:// URL (GitHub Actions': %s)", g.Issuer, GitHubActionsIssuer)
	}
	claims := &GitHubClaims{SourceRepositoryRef: g.Ref, RunnerEnvironment: g.RunnerEnvironment}
	switch {
	case g.Repository != "" && g.Owner != "":
		bad("owner", "give repository (one source repository) or owner (any repository of the owner), not both")
	case g.Owner != "":
		if !ghOwnerRe.MatchString(g.Owner) {
			bad("owner", "%q is not a GitHub user or organisation name", g.Owner)
		}
		claims.SourceRepositoryOwnerURI = base + g.Owner
	case g.Repository != "":
		if !ghRepoRe.MatchString(g.Repository) {
			bad("repository", "%q is not a repository: write OWNER/REPO, like acme/app", g.Repository)
		}
		claims.SourceRepositoryURI = base + g.Repository
	default:
		claims.SourceRepositoryURI = base + owner + "/" + repo
	}
	if g.Ref != "" && !strings.HasPrefix(g.Ref, "refs/") {
		bad("ref", "%q is not a full ref: write refs/heads/%s or refs/tags/%s", g.Ref, g.Ref, g.Ref)
	}
	if g.RunnerEnvironment != "" && !oneOf(g.RunnerEnvironment, "github-hosted", "self-hosted") {
		bad("runnerEnvironment", "must be github-hosted or self-hosted, not %q", g.RunnerEnvironment)
	}
	if !ok {
		return nil
	}
	return &Keyless{Issuer: issuer, SubjectRegExp: subject, GitHub: claims, TrustedRoot: g.TrustedRoot}
}

// checkGitHubClaims checks the enumerated claims of a keyless identity.
func (c *compiler) checkGitHubClaims(path []any, g *GitHubClaims) {
	if g == nil {
		return
	}
	at := func(rest ...any) []any { return append(append([]any{}, path...), rest...) }
	if g.RunnerEnvironment != "" && !oneOf(g.RunnerEnvironment, "github-hosted", "self-hosted") {
		c.fail(at("runnerEnvironment"), "must be github-hosted or self-hosted, not %q", g.RunnerEnvironment)
	}
	for field, v := range map[string]string{"sourceRepositoryURI": g.SourceRepositoryURI, "sourceRepositoryOwnerURI": g.SourceRepositoryOwnerURI} {
		if v != "" && !strings.HasPrefix(v, "https://") {
			c.fail(at(field), "%q is not a URL: write it as the certificate records it, like https://github.com/acme", v)
		}
	}
}

// trustedRoot loads a Sigstore trusted root file into out.
func (c *compiler) trustedRoot(path []any, file string, out *CompiledSigner) {
	if file == "" {
		return
	}
	data, err := c.readFile(file)
	if err != nil {
		c.fail(path, "reading the trusted root: %v", err)
		return
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		c.fail(path, "%s is not a Sigstore trusted root (JSON like gh attestation trusted-root or signet trusted-root print): %v", file, err)
		return
	}
	if len(tr.FulcioCertificateAuthorities()) == 0 {
		c.fail(path, "%s names no certificate authority, so no certificate could chain to it", file)
		return
	}
	out.TrustedRoot, out.TrustedRootJSON = tr, data
}

// principal is what makes two signers one principal: the same key, the
// same Notation trust store, identity and scheme, or the same keyless
// identity under the same root. Empty when it cannot be told.
func principal(s *CompiledSigner) string {
	switch {
	case s.PublicKey != nil:
		der, err := x509.MarshalPKIXPublicKey(s.PublicKey)
		if err != nil {
			return ""
		}
		return "key " + string(der)
	case s.Notation != nil:
		// The same certificates in another order, or listed twice, are
		// the same trust store.
		var raw []string
		for _, cert := range s.Notation.Certificates {
			raw = append(raw, fmt.Sprintf("%d:%s", len(cert.Raw), cert.Raw))
		}
		slices.Sort(raw)
		raw = slices.Compact(raw)
		return fmt.Sprintf("notation %t %q %s", s.Notation.SigningAuthority, canonicalDN(s.Notation.Subject), strings.Join(raw, " "))
	case s.Keyless != nil:
		k := *s.Keyless
		k.TrustedRoot = ""
		j, err := json.Marshal(k)
		if err != nil {
			return ""
		}
		return fmt.Sprintf("keyless %s %d:%s", j, len(s.TrustedRootJSON), s.TrustedRootJSON)
	}
	return ""
}

// distinct refuses two signers (at path[i]) that are one principal: its
// signatures would count twice towards a threshold.
func (c *compiler) distinct(path func(i int) []any, ss []*CompiledSigner, idx []int) {
	first := map[string]int{}
	for n, s := range ss {
		p := principal(s)
		if p == "" {
			continue
		}
		if m, ok := first[p]; ok {
			what := "key"
			switch {
			case s.Notation != nil:
				what = "Notation trust store, subject and scheme"
			case s.Keyless != nil:
				what = "certificate identity"
			}
			c.fail(path(idx[n]), "signers %q and %q have the same %s: one principal under two names would count twice towards the threshold; name it once", ss[m].Name, s.Name, what)
			continue
		}
		first[p] = n
	}
}

// Describe says in a line what the signer trusts, for people (signet
// policy explain).
func (s *CompiledSigner) Describe() string {
	var d string
	switch {
	case s.PublicKey != nil:
		id, err := keys.ID(s.PublicKey)
		if err != nil {
			id = "(unreadable)"
		}
		d = "key " + id
	case s.Notation != nil:
		d = s.Notation.describe()
	case s.GitHub != nil && s.Keyless != nil:
		g, k := s.GitHub, s.Keyless
		d = "GitHub workflow " + g.Workflow
		if !strings.Contains(g.Workflow, "@") {
			d += " (any ref)"
		}
		if host := g.Host; host != "" && host != "github.com" {
			d += " on " + host
		}
		if gh := k.GitHub; gh != nil {
			switch {
			case gh.SourceRepositoryOwnerURI != "":
				d += ", built from any repository of " + gh.SourceRepositoryOwnerURI
			case gh.SourceRepositoryURI != "":
				d += ", built from " + gh.SourceRepositoryURI
			}
			if gh.SourceRepositoryRef != "" {
				d += " at " + gh.SourceRepositoryRef
			}
			if gh.RunnerEnvironment != "" {
				d += " on a " + gh.RunnerEnvironment + " runner"
			}
		}
		d += ", issuer " + k.Issuer
	case s.Keyless != nil:
		k := s.Keyless
		d = "keyless identity: subject " + orRegExp(k.Subject, k.SubjectRegExp) + ", issuer " + orRegExp(k.Issuer, k.IssuerRegExp)
		if gh := k.GitHub; gh != nil {
			j, _ := json.Marshal(gh)
			if string(j) != "{}" {
				d += ", GitHub claims " + string(j)
			}
		}
	default:
		return "nothing"
	}
	if s.TrustedRoot != nil {
		d += ", certificates from its own trusted root only"
	}
	if !s.ValidFrom.IsZero() || !s.ValidUntil.IsZero() {
		d += fmt.Sprintf(", counting signatures timed from %s until %s", timeOr(s.ValidFrom, "any time"), timeOr(s.ValidUntil, "any time"))
	}
	return d
}

func orRegExp(exact, re string) string {
	if exact != "" {
		return exact
	}
	return "matching " + re
}

func timeOr(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.Format(time.RFC3339)
}

func (n *CompiledNotation) describe() string {
	scheme := "notary.x509"
	if n.SigningAuthority {
		scheme = "notary.x509.signingAuthority"
	}
	var names []string
	for _, c := range n.Certificates {
		names = append(names, c.Subject.String())
	}
	d := fmt.Sprintf("Notation principal: %s, trust store [%s]", scheme, strings.Join(names, "; "))
	if n.Subject != "" {
		d += ", signing certificate subject " + n.Subject
	} else {
		d += ", any signing certificate it certifies"
	}
	if len(n.TSA) > 0 {
		d += fmt.Sprintf(", %d timestamp root(s), verifyTimestamp %s", len(n.TSA), n.VerifyTimestamp)
	} else {
		d += ", no timestamp roots"
	}
	return d + ", revocation " + n.Revocation
}
