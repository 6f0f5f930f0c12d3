package policy_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/policy"
)

// newCert makes a self-signed certificate (a CA when ca), PEM-encoded.
func newCert(t *testing.T, cn string, ca bool) (string, *x509.Certificate) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Acme"}, Province: []string{"WA"}, Country: []string{"US"}},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: ca, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), cert
}

// issuedCert makes a signing certificate issued by a fresh CA (not
// self-signed), PEM-encoded.
func issuedCert(t *testing.T) string {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Issuing CA"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Issued", Organization: []string{"Acme"}, Province: []string{"WA"}, Country: []string{"US"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// newTrustedRoot makes a Sigstore trusted root JSON with one CA.
func newTrustedRoot(t *testing.T, cn string) string {
	t.Helper()
	_, cert := newCert(t, cn, true)
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{&root.FulcioCertificateAuthority{Root: cert, ValidityPeriodStart: cert.NotBefore, URI: "https://fulcio.example"}},
		nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// compileWith compiles doc in a directory holding files (and release.pub).
func compileWith(t *testing.T, dir string, files map[string]string, doc string) (*policy.Compiled, error) {
	t.Helper()
	files["release.pub"] = pubPEM
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return policy.Compile([]byte(doc), dir, keys.Loader{})
}

func indent(s, by string) string {
	return by + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+by)
}

// TestAllSignerKindsLoad: a rule with every kind of signer compiles, and
// each compiles to what the verifier needs.
func TestAllSignerKindsLoad(t *testing.T) {
	t.Parallel()
	caPEM, ca := newCert(t, "Acme CA", true)
	leafPEM, leaf := newCert(t, "Security", false)
	tsaPEM, tsa := newCert(t, "TSA", true)
	trJSON := newTrustedRoot(t, "GitHub Fulcio")
	files := map[string]string{"ca.pem": caPEM, "tsa.pem": tsaPEM, "gh-root.json": trJSON}
	doc := header + `images:
  - pattern: "registry.example.com/**"
    threshold: 2
    signers:
      - name: release
        key: release.pub
      - name: ci
        keyless:
          issuer: https://token.actions.githubusercontent.com
          subject: https://github.com/acme/app/.github/workflows/ci.yml@refs/heads/main
          trustedRoot: gh-root.json
          github:
            sourceRepositoryURI: https://github.com/acme/app
            runnerEnvironment: github-hosted
      - name: security
        notation:
          trustStore: ca.pem
          subject: "CN=Security,O=Acme,ST=WA,C=US"
          tsa: tsa.pem
      - name: leaf
        notation:
          signingAuthority: true
          verifyTimestamp: afterCertExpiry
          revocation: log
          certificates: |
` + indent(leafPEM, "            ") + `
      - name: build
        github:
          workflow: acme/app/.github/workflows/release.yml@refs/heads/main
          runnerEnvironment: github-hosted
          ref: refs/heads/main
          trustedRoot: gh-root.json
`
	c, err := compileWith(t, t.TempDir(), files, doc)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Rules[0].Signers
	if len(s) != 5 {
		t.Fatalf("got %d signers, want 5", len(s))
	}
	if s[0].PublicKey == nil {
		t.Error("release: no public key")
	}
	if s[1].TrustedRoot == nil || string(s[1].TrustedRootJSON) != trJSON {
		t.Error("ci: trusted root not loaded")
	}
	sec := s[2].Notation
	if sec == nil || len(sec.Certificates) != 1 || !sec.Certificates[0].Equal(ca) || len(sec.TSA) != 1 || !sec.TSA[0].Equal(tsa) {
		t.Fatalf("security: got %+v, want the CA and the TSA root", sec)
	}
	if sec.VerifyTimestamp != "always" || sec.Revocation != "enforce" || sec.SigningAuthority || sec.Subject != "CN=Security,O=Acme,ST=WA,C=US" {
		t.Errorf("security: got %+v, want defaults always/enforce, scheme ca and the subject", sec)
	}
	lf := s[3].Notation
	if lf == nil || len(lf.Certificates) != 1 || !lf.Certificates[0].Equal(leaf) || !lf.SigningAuthority || lf.VerifyTimestamp != "afterCertExpiry" || lf.Revocation != "log" || lf.TSA != nil {
		t.Errorf("leaf: got %+v", lf)
	}
	b := s[4]
	if b.GitHub == nil || b.Keyless == nil || b.PublicKey != nil || b.Notation != nil {
		t.Fatalf("build: got %+v, want a keyless identity with the workflow kept", b)
	}
	want := policy.Keyless{
		Issuer:        "https://token.actions.githubusercontent.com",
		SubjectRegExp: `^https://github\.com/acme/app/\.github/workflows/release\.yml@refs/heads/main$`,
		TrustedRoot:   "gh-root.json",
		GitHub: &policy.GitHubClaims{SourceRepositoryURI: "https://github.com/acme/app", SourceRepositoryRef: "refs/heads/main",
			RunnerEnvironment: "github-hosted"},
	}
	if got := *b.Keyless; got.Issuer != want.Issuer || got.SubjectRegExp != want.SubjectRegExp || got.TrustedRoot != want.TrustedRoot || *got.GitHub != *want.GitHub {
		t.Errorf("build: got %+v %+v, want %+v %+v", got, got.GitHub, want, want.GitHub)
	}
	if b.TrustedRoot == nil {
		t.Error("build: trusted root not loaded")
	}
}

// TestGitHubSubjectPattern: the subject pattern a workflow compiles to
// accepts that workflow's certificates only: not another repository's,
// another file's, another host's, another ref's, or one that merely
// starts or ends like it.
func TestGitHubSubjectPattern(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, github string
		match, not   []string
		issuer       string
		claims       policy.GitHubClaims
	}{
		{"pinned ref", "{workflow: acme/app/.github/workflows/release.yml@refs/heads/main}",
			[]string{"https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"},
			[]string{
				"https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main2",
				"https://github.com/acme/app/.github/workflows/release.yml@refs/heads/mainX",
				"https://github.com/acme/app/.github/workflows/releaseXyml@refs/heads/main",
				"https://github.com/acme/app/.github/workflows/release.yml@refs/heads/dev",
				"https://github.com/acme/app2/.github/workflows/release.yml@refs/heads/main",
				"https://github.com/evil/acme/app/.github/workflows/release.yml@refs/heads/main",
				"https://githubXcom/acme/app/.github/workflows/release.yml@refs/heads/main",
				"https://evil.example/https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
				"https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main\n",
			}, "https://token.actions.githubusercontent.com",
			policy.GitHubClaims{SourceRepositoryURI: "https://github.com/acme/app"}},
		{"any ref", "{workflow: acme/app/.github/workflows/release.yaml}",
			[]string{"https://github.com/acme/app/.github/workflows/release.yaml@refs/tags/v1.2.3",
				"https://github.com/acme/app/.github/workflows/release.yaml@refs/heads/feature/x"},
			[]string{"https://github.com/acme/app/.github/workflows/release.yaml",
				"https://github.com/acme/app/.github/workflows/release.yaml@",
				"https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
				"https://github.com/acme/app/.github/workflows/release.yaml@refs/heads/main https://x"},
			"https://token.actions.githubusercontent.com",
			policy.GitHubClaims{SourceRepositoryURI: "https://github.com/acme/app"}},
		{"reusable workflow, any repository of the owner", "{workflow: acme/shared/.github/workflows/build.yml@refs/tags/v2, owner: acme, runnerEnvironment: self-hosted}",
			[]string{"https://github.com/acme/shared/.github/workflows/build.yml@refs/tags/v2"},
			[]string{"https://github.com/acme/shared/.github/workflows/build.yml@refs/tags/v3"},
			"https://token.actions.githubusercontent.com",
			policy.GitHubClaims{SourceRepositoryOwnerURI: "https://github.com/acme", RunnerEnvironment: "self-hosted"}},
		{"other source repository", "{workflow: acme/shared/.github/workflows/build.yml, repository: acme/app, ref: refs/heads/main}",
			[]string{"https://github.com/acme/shared/.github/workflows/build.yml@refs/heads/main"}, nil,
			"https://token.actions.githubusercontent.com",
			policy.GitHubClaims{SourceRepositoryURI: "https://github.com/acme/app", SourceRepositoryRef: "refs/heads/main"}},
		{"GHE.com host", "{workflow: acme/app/.github/workflows/r.yml, host: acme.ghe.com}",
			[]string{"https://acme.ghe.com/acme/app/.github/workflows/r.yml@refs/heads/main"},
			[]string{"https://github.com/acme/app/.github/workflows/r.yml@refs/heads/main"},
			"https://token.actions.acme.ghe.com",
			policy.GitHubClaims{SourceRepositoryURI: "https://acme.ghe.com/acme/app"}},
		{"explicit issuer", "{workflow: acme/app/.github/workflows/r.yml, host: git.acme.example, issuer: https://git.acme.example/_services/token}",
			[]string{"https://git.acme.example/acme/app/.github/workflows/r.yml@refs/heads/main"}, nil,
			"https://git.acme.example/_services/token",
			policy.GitHubClaims{SourceRepositoryURI: "https://git.acme.example/acme/app"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := compile(t, header+"images:\n  - pattern: \"r.example/**\"\n    signers:\n      - name: b\n        github: "+tc.github+"\n")
			if err != nil {
				t.Fatal(err)
			}
			k := c.Rules[0].Signers[0].Keyless
			re := regexp.MustCompile(k.SubjectRegExp)
			for _, s := range tc.match {
				if !re.MatchString(s) {
					t.Errorf("%s does not match %q", k.SubjectRegExp, s)
				}
			}
			for _, s := range tc.not {
				if re.MatchString(s) {
					t.Errorf("%s matches %q", k.SubjectRegExp, s)
				}
			}
			if k.Issuer != tc.issuer || k.IssuerRegExp != "" || k.Subject != "" {
				t.Errorf("got issuer %q (regexp %q, subject %q), want %q alone", k.Issuer, k.IssuerRegExp, k.Subject, tc.issuer)
			}
			if *k.GitHub != tc.claims {
				t.Errorf("got claims %+v, want %+v", *k.GitHub, tc.claims)
			}
		})
	}
}

// TestSignerKindRefusals: each mistake in a notation or github signer is
// refused at its field, saying what to write instead.
func TestSignerKindRefusals(t *testing.T) {
	t.Parallel()
	caPEM, _ := newCert(t, "Acme CA", true)
	files := map[string]string{
		"ca.pem":     caPEM,
		"empty.pem":  "",
		"key.pem":    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		"bad.pem":    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		"junk.pem":   caPEM + "not pem\n",
		"root.json":  `{"mediaType": "nonsense"}`,
		"noca.json":  `{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`,
		"issued.pem": issuedCert(t),
	}
	const at = "images[0].signers[0]"
	cases := []struct{ name, signer, path, want string }{
		{"two kinds", "notation: {trustStore: ca.pem}\n        key: release.pub", at, "exactly one of key, publicKey, keyless, notation or github"},
		{"notation and github", "notation: {trustStore: ca.pem}\n        github: {workflow: a/b/.github/workflows/c.yml}", at, "exactly one of key, publicKey, keyless, notation or github"},
		{"no certificates", "notation: {subject: \"C=US,ST=WA,O=Acme\"}", at + ".notation", "exactly one of trustStore"},
		{"both trust store and inline", "notation: {trustStore: ca.pem, certificates: x}", at + ".notation", "exactly one of trustStore"},
		{"missing trust store", "notation: {trustStore: nope.pem}", at + ".notation.trustStore", "no such file"},
		{"empty trust store", "notation: {trustStore: empty.pem}", at + ".notation.trustStore", "empty.pem: holds no PEM certificate"},
		{"private key in the trust store", "notation: {trustStore: key.pem}", at + ".notation.trustStore", "PEM block 1 is a PRIVATE KEY, not a CERTIFICATE"},
		{"unparsable certificate", "notation: {trustStore: bad.pem}", at + ".notation.trustStore", "PEM block 1 is not a valid X.509 certificate"},
		{"text after the certificates", "notation: {trustStore: junk.pem}", at + ".notation.trustStore", "text after its last PEM certificate"},
		{"inline not PEM", "notation: {certificates: hello}", at + ".notation.certificates", "the inline PEM: holds no PEM certificate"},
		// What Notation's own trust stores refuse to load.
		{"CA-issued signing certificate", "notation: {trustStore: issued.pem}", at + ".notation.trustStore", `trust store certificate "CN=Issued,O=Acme,ST=WA,C=US" is neither a CA certificate nor a self-signed signing certificate`},
		{"CA-issued signing certificate, signing authority", "notation: {trustStore: issued.pem, signingAuthority: true}", at + ".notation.trustStore", "is neither a CA certificate"},
		{"TSA root not a root", "notation: {trustStore: ca.pem, tsa: issued.pem}", at + ".notation.tsa", `TSA root "CN=Issued,O=Acme,ST=WA,C=US" is not a root (self-signed) certificate`},
		{"empty TSA", "notation: {trustStore: ca.pem, tsa: empty.pem}", at + ".notation.tsa", "holds no PEM certificate"},
		{"both TSAs", "notation: {trustStore: ca.pem, tsa: ca.pem, tsaCertificates: x}", at + ".notation", "one of tsa"},
		{"verifyTimestamp", "notation: {trustStore: ca.pem, verifyTimestamp: never}", at + ".notation.verifyTimestamp", `must be always or afterCertExpiry, not "never"`},
		{"revocation", "notation: {trustStore: ca.pem, revocation: strict}", at + ".notation.revocation", `must be enforce, log or skip, not "strict"`},
		{"subject with no attribute", "notation: {trustStore: ca.pem, subject: \"Security\"}", at + ".notation.subject", `"Security" is not TYPE=VALUE`},
		{"subject without O", "notation: {trustStore: ca.pem, subject: \"CN=Security,ST=WA,C=US\"}", at + ".notation.subject", "has no O attribute"},
		{"subject multi-valued", "notation: {trustStore: ca.pem, subject: \"CN=a+OU=b,O=Acme,ST=WA,C=US\"}", at + ".notation.subject", "multi-valued"},
		{"subject twice", "notation: {trustStore: ca.pem, subject: \"O=a,O=b,ST=WA,C=US\"}", at + ".notation.subject", "names O twice"},
		{"subject empty value", "notation: {trustStore: ca.pem, subject: \"CN=,O=a,ST=WA,C=US\"}", at + ".notation.subject", "CN has no value"},
		{"subject hex", "notation: {trustStore: ca.pem, subject: \"CN=#0101,O=a,ST=WA,C=US\"}", at + ".notation.subject", "=#"},
		{"subject unclosed quote", "notation: {trustStore: ca.pem, subject: 'CN=\"a,O=a,ST=WA,C=US'}", at + ".notation.subject", "quoted value is not closed"},
		{"notation validUntil", "notation: {trustStore: ca.pem}\n        validUntil: 2026-01-01T00:00:00Z", at, "validFrom and validUntil bound a key"},
		{"github validFrom", "github: {workflow: a/b/.github/workflows/c.yml}\n        validFrom: 2026-01-01T00:00:00Z", at, "validFrom and validUntil bound a key"},
		{"workflow shape", "github: {workflow: acme/app/release.yml}", at + ".github.workflow", "write OWNER/REPO/.github/workflows/FILE.yml"},
		{"workflow URL", "github: {workflow: https://github.com/acme/app/.github/workflows/r.yml}", at + ".github.workflow", "write OWNER/REPO/.github/workflows/FILE.yml"},
		{"workflow empty", "github: {repository: acme/app}", at + ".github.workflow", "is not a workflow"},
		{"workflow subdirectory", "github: {workflow: acme/app/.github/workflows/x/r.yml}", at + ".github.workflow", "is not a workflow"},
		{"workflow short ref", "github: {workflow: acme/app/.github/workflows/r.yml@main}", at + ".github.workflow", `the ref "main" after @ is neither a full ref`},
		{"repository and owner", "github: {workflow: a/b/.github/workflows/c.yml, repository: a/b, owner: a}", at + ".github.owner", "not both"},
		{"repository shape", "github: {workflow: a/b/.github/workflows/c.yml, repository: b}", at + ".github.repository", "write OWNER/REPO"},
		{"owner shape", "github: {workflow: a/b/.github/workflows/c.yml, owner: a/b}", at + ".github.owner", "not a GitHub user or organisation"},
		{"short ref", "github: {workflow: a/b/.github/workflows/c.yml, ref: main}", at + ".github.ref", "write refs/heads/main"},
		{"runner", "github: {workflow: a/b/.github/workflows/c.yml, runnerEnvironment: hosted}", at + ".github.runnerEnvironment", "github-hosted or self-hosted"},
		{"host URL", "github: {workflow: a/b/.github/workflows/c.yml, host: https://github.com}", at + ".github.host", "no https://"},
		{"issuer", "github: {workflow: a/b/.github/workflows/c.yml, issuer: token.actions.githubusercontent.com}", at + ".github.issuer", "not an https:// URL"},
		{"trusted root missing", "github: {workflow: a/b/.github/workflows/c.yml, trustedRoot: nope.json}", at + ".github.trustedRoot", "reading the trusted root"},
		{"trusted root invalid", "github: {workflow: a/b/.github/workflows/c.yml, trustedRoot: root.json}", at + ".github.trustedRoot", "root.json is not a Sigstore trusted root"},
		{"trusted root without CA", "github: {workflow: a/b/.github/workflows/c.yml, trustedRoot: noca.json}", at + ".github.trustedRoot", "names no certificate authority"},
		{"keyless trusted root invalid", "keyless: {issuer: i, subject: s, trustedRoot: root.json}", at + ".keyless.trustedRoot", "not a Sigstore trusted root"},
		{"keyless runner", "keyless: {issuer: i, subject: s, github: {runnerEnvironment: cloud}}", at + ".keyless.github.runnerEnvironment", "github-hosted or self-hosted"},
		{"keyless source URI", "keyless: {issuer: i, subject: s, github: {sourceRepositoryURI: acme/app}}", at + ".keyless.github.sourceRepositoryURI", "is not a URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc := header + "images:\n  - pattern: \"r.example/**\"\n    signers:\n      - name: s\n        " + tc.signer + "\n"
			f := map[string]string{}
			for k, v := range files {
				f[k] = v
			}
			_, err := compileWith(t, t.TempDir(), f, doc)
			if err == nil {
				t.Fatal("compiled, want refused")
			}
			var es policy.Errors
			if !errors.As(err, &es) {
				t.Fatalf("got %v, want policy.Errors", err)
			}
			for _, e := range es {
				if e.Path == tc.path && strings.Contains(e.Msg, tc.want) {
					return
				}
			}
			t.Errorf("got %v, want at %s: ...%s...", err, tc.path, tc.want)
		})
	}
}

// TestOnePrincipalTwice: two signers that are one principal (the same
// key, the same Notation trust store, subject and scheme, the same keyless
// identity) are refused in a rule and among the gates: its signatures
// would count twice towards a threshold. Different subjects or schemes
// are different principals.
func TestOnePrincipalTwice(t *testing.T) {
	t.Parallel()
	caPEM, _ := newCert(t, "Acme CA", true)
	otherPEM, _ := newCert(t, "Other CA", true)
	files := map[string]string{"ca.pem": caPEM, "ca-copy.pem": caPEM, "other.pem": otherPEM, "root.json": newTrustedRoot(t, "r"),
		"both.pem": caPEM + otherPEM, "both-reversed.pem": otherPEM + caPEM + otherPEM}
	inline := "\n          certificates: |\n" + indent(caPEM, "            ")
	pub := "\n        publicKey: |\n" + indent(pubPEM, "          ")
	cases := []struct {
		name, a, b string
		refused    bool
	}{
		{"key file and inline key", "key: release.pub", strings.TrimPrefix(pub, "\n        "), true},
		{"same trust store in two files", "notation: {trustStore: ca.pem}", "notation: {trustStore: ca-copy.pem}", true},
		{"same trust store in another order", "notation: {trustStore: both.pem}", "notation: {trustStore: both-reversed.pem}", true},
		{"file and inline", "notation: {trustStore: ca.pem, subject: \"O=A,ST=WA,C=US\"}", "notation:\n          subject: \"O=A,ST=WA,C=US\"" + inline, true},
		{"same workflow twice", "github: {workflow: a/b/.github/workflows/c.yml}", "github: {workflow: a/b/.github/workflows/c.yml, host: github.com}", true},
		{"github as keyless", "github: {workflow: a/b/.github/workflows/c.yml@refs/heads/main}",
			`keyless: {issuer: "https://token.actions.githubusercontent.com", subjectRegExp: '^https://github\.com/a/b/\.github/workflows/c\.yml@refs/heads/main$', github: {sourceRepositoryURI: "https://github.com/a/b"}}`, true},
		// Notation matches a trusted identity's attributes, not its
		// spelling: the same DN in another order, spacing or attribute
		// case (S for ST) is the same identity.
		{"same subject written differently", "notation: {trustStore: ca.pem, subject: \"CN=Sec,O=A,ST=WA,C=US\"}", "notation: {trustStore: ca.pem, subject: \"c=US, S=WA, o=A, cn=Sec\"}", true},
		{"different subjects", "notation: {trustStore: ca.pem, subject: \"O=A,ST=WA,C=US\"}", "notation: {trustStore: ca.pem, subject: \"O=B,ST=WA,C=US\"}", false},
		{"different schemes", "notation: {trustStore: ca.pem}", "notation: {trustStore: ca.pem, signingAuthority: true}", false},
		{"different trust stores", "notation: {trustStore: ca.pem}", "notation: {trustStore: other.pem}", false},
		{"different trusted roots", "github: {workflow: a/b/.github/workflows/c.yml}", "github: {workflow: a/b/.github/workflows/c.yml, trustedRoot: root.json}", false},
		{"different refs", "github: {workflow: a/b/.github/workflows/c.yml, ref: refs/heads/main}", "github: {workflow: a/b/.github/workflows/c.yml}", false},
	}
	for _, tc := range cases {
		for _, where := range []string{"rule", "gates"} {
			t.Run(tc.name+" in "+where, func(t *testing.T) {
				t.Parallel()
				list := "      - name: first\n        " + tc.a + "\n      - name: second\n        " + tc.b + "\n"
				doc := header + "images:\n  - pattern: \"r.example/**\"\n    signers:\n" + list
				path := "images[0].signers[1]"
				if where == "gates" {
					doc = header + "images:\n  - pattern: \"r.example/**\"\nreceipts:\n    gates:\n" + list
					path = "receipts.gates[1]"
				}
				f := map[string]string{}
				for k, v := range files {
					f[k] = v
				}
				_, err := compileWith(t, t.TempDir(), f, doc)
				if !tc.refused {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					return
				}
				var es policy.Errors
				if !errors.As(err, &es) || len(es) != 1 {
					t.Fatalf("got %v, want one problem", err)
				}
				if es[0].Path != path || !strings.Contains(es[0].Msg, `signers "first" and "second" have the same`) || !strings.Contains(es[0].Msg, "one principal under two names would count twice") {
					t.Errorf("got %v, want at %s: one principal would count twice", es[0], path)
				}
			})
		}
	}
}

// TestDigestCoversCertificatesAndTrustedRoots: replacing a trust store,
// TSA root or trusted root file next to an unchanged policy changes the
// policy digest, as replacing a key file does.
func TestDigestCoversCertificatesAndTrustedRoots(t *testing.T) {
	t.Parallel()
	doc := header + `images:
  - pattern: "r.example/**"
    signers:
      - name: security
        notation: {trustStore: ca.pem, tsa: tsa.pem}
      - name: build
        github: {workflow: a/b/.github/workflows/c.yml, trustedRoot: gh.json}
      - name: ci
        keyless: {issuer: i, subject: s, trustedRoot: ci.json}
`
	fresh := func() map[string]string {
		ca, _ := newCert(t, "CA", true)
		tsa, _ := newCert(t, "TSA", true)
		return map[string]string{"ca.pem": ca, "tsa.pem": tsa, "gh.json": newTrustedRoot(t, "gh"), "ci.json": newTrustedRoot(t, "ci")}
	}
	dir := t.TempDir()
	files := fresh()
	base, err := compileWith(t, dir, files, doc)
	if err != nil {
		t.Fatal(err)
	}
	again, err := compileWith(t, dir, files, doc)
	if err != nil || again.Hash != base.Hash {
		t.Fatalf("the same files give digest %s, then %s (%v)", base.Hash, again.Hash, err)
	}
	other := fresh()
	for _, name := range []string{"ca.pem", "tsa.pem", "gh.json", "ci.json"} {
		t.Run(name, func(t *testing.T) {
			f := map[string]string{}
			for k, v := range files {
				f[k] = v
			}
			f[name] = other[name]
			c, err := compileWith(t, t.TempDir(), f, doc)
			if err != nil {
				t.Fatal(err)
			}
			if c.Hash == base.Hash {
				t.Errorf("replacing %s left the digest %s", name, c.Hash)
			}
		})
	}
}

// TestDescribeSigners: each kind of signer is described by what it trusts.
func TestDescribeSigners(t *testing.T) {
	t.Parallel()
	caPEM, _ := newCert(t, "Acme CA", true)
	files := map[string]string{"ca.pem": caPEM, "root.json": newTrustedRoot(t, "r")}
	doc := header + `images:
  - pattern: "r.example/**"
    signers:
      - {name: a, notation: {trustStore: ca.pem, signingAuthority: true, subject: "CN=S,O=Acme,ST=WA,C=US"}}
      - {name: b, github: {workflow: acme/shared/.github/workflows/b.yml, owner: acme, ref: refs/tags/v1, trustedRoot: root.json}}
      - {name: c, keyless: {issuer: https://i, subjectRegExp: '^x$', github: {runnerEnvironment: self-hosted}}}
`
	c, err := compileWith(t, t.TempDir(), files, doc)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{
		"Notation principal: notary.x509.signingAuthority, trust store [CN=Acme CA,O=Acme,ST=WA,C=US], signing certificate subject CN=S,O=Acme,ST=WA,C=US, no timestamp roots, revocation enforce",
		"GitHub workflow acme/shared/.github/workflows/b.yml (any ref), built from any repository of https://github.com/acme at refs/tags/v1, issuer https://token.actions.githubusercontent.com, certificates from its own trusted root only",
		`keyless identity: subject matching ^x$, issuer https://i, GitHub claims {"runnerEnvironment":"self-hosted"}`,
	} {
		if got := c.Rules[0].Signers[i].Describe(); got != want {
			t.Errorf("signer %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
