package verify

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// Keyless verification errors.
var (
	// ErrIdentityMismatch means a certificate chains to a trusted CA but names
	// another identity than any trusted one.
	ErrIdentityMismatch = errors.New("certificate identity does not match")
	// ErrNoTrustedTime means a certificate-signed bundle carries no trusted
	// time (RFC 3161 timestamp or log entry time) to check the short-lived
	// certificate against.
	ErrNoTrustedTime = errors.New("no trusted signing time")
)

// Identity is a trusted keyless signer: an OIDC identity in a Fulcio
// certificate, matched exactly or by regular expression, and optionally the
// CI claims Fulcio records (GitHub workflow repository, ref, trigger, SHA, name).
type Identity struct {
	// Name is how results refer to the signer.
	Name          string
	Issuer        string
	IssuerRegExp  string
	Subject       string
	SubjectRegExp string
	// GitHubWorkflowRepository etc. pin Fulcio's GitHub extensions when set.
	GitHubWorkflowRepository string
	GitHubWorkflowRef        string
	GitHubWorkflowTrigger    string
	GitHubWorkflowSHA        string
	GitHubWorkflowName       string
	// SourceRepositoryURI, SourceRepositoryOwnerURI, SourceRepositoryRef
	// and RunnerEnvironment pin Fulcio's (v2) build extensions when set,
	// matched exactly: https://github.com/OWNER/REPO, https://github.com/OWNER,
	// refs/heads/main, github-hosted or self-hosted.
	SourceRepositoryURI      string
	SourceRepositoryOwnerURI string
	SourceRepositoryRef      string
	RunnerEnvironment        string
	// Root, when set, is the only trusted material this identity's
	// certificates are checked against (its certificate authorities,
	// timestamp authorities, CT and transparency logs): GitHub's own
	// Sigstore instance rather than the public-good one, say. Default: the
	// verifier's trusted root (WithTrustedRoot).
	Root root.TrustedMaterial
}

func (id Identity) String() string {
	subj := id.Subject
	if subj == "" {
		subj = "~" + id.SubjectRegExp
	}
	iss := id.Issuer
	if iss == "" {
		iss = "~" + id.IssuerRegExp
	}
	out := fmt.Sprintf("subject %s, issuer %s", subj, iss)
	for _, f := range []struct{ name, v string }{
		{"workflow repository", id.GitHubWorkflowRepository}, {"workflow ref", id.GitHubWorkflowRef},
		{"trigger", id.GitHubWorkflowTrigger}, {"workflow sha", id.GitHubWorkflowSHA}, {"workflow name", id.GitHubWorkflowName},
		{"source repository", id.SourceRepositoryURI}, {"source repository owner", id.SourceRepositoryOwnerURI},
		{"source ref", id.SourceRepositoryRef}, {"runner", id.RunnerEnvironment},
	} {
		if f.v != "" {
			out += fmt.Sprintf(", %s %s", f.name, f.v)
		}
	}
	return out
}

func (id Identity) policy() (sgverify.CertificateIdentity, error) {
	san, err := sgverify.NewSANMatcher(id.Subject, id.SubjectRegExp)
	if err != nil {
		return sgverify.CertificateIdentity{}, err
	}
	iss, err := sgverify.NewIssuerMatcher(id.Issuer, id.IssuerRegExp)
	if err != nil {
		return sgverify.CertificateIdentity{}, err
	}
	return sgverify.NewCertificateIdentity(san, iss, certificate.Extensions{
		GithubWorkflowRepository: id.GitHubWorkflowRepository, GithubWorkflowRef: id.GitHubWorkflowRef,
		GithubWorkflowTrigger: id.GitHubWorkflowTrigger, GithubWorkflowSHA: id.GitHubWorkflowSHA, GithubWorkflowName: id.GitHubWorkflowName,
		SourceRepositoryURI: id.SourceRepositoryURI, SourceRepositoryOwnerURI: id.SourceRepositoryOwnerURI,
		SourceRepositoryRef: id.SourceRepositoryRef, RunnerEnvironment: id.RunnerEnvironment,
	})
}

// WithIdentities trusts keyless signers. Their certificates must chain to a
// certificate authority of the trusted root (WithTrustedRoot).
func WithIdentities(ids ...Identity) Option {
	return func(v *Verifier) { v.identities = append(v.identities, ids...) }
}

// identityVerifier verifies a certificate-signed bundle against the trusted
// identities, recording the signer on sig. The certificate, its identity
// and the signature are checked before the log entry, except where the
// log entry's signed time is the only time to check the certificate at.
func (v *Verifier) identityVerifier(b *bundle.Bundle, sig *Signature) verifyFunc {
	found := describeCertificate(b)
	sig.Identity = found
	return func(alg string, digest []byte, useTlog bool) (string, error) {
		if len(v.identities) == 0 {
			return "", fmt.Errorf("%w: signed keylessly (%s), and no keyless identities are trusted here", ErrBadSignature, found)
		}
		if !v.trustsCertificateAuthority() {
			return "", fmt.Errorf("%w: signed keylessly, and the trusted root lists no certificate authority", ErrBadSignature)
		}
		var timeOpt sgverify.VerifierOption
		logTime := false
		ts, _ := b.Timestamps()
		switch {
		case len(ts) > 0:
			timeOpt = sgverify.WithSignedTimestamps(1)
		case b.HasInclusionPromise():
			timeOpt, logTime = sgverify.WithIntegratedTimestamps(1), true
		default:
			return "", fmt.Errorf("%w: the bundle has neither an RFC 3161 timestamp nor a log entry with a signed time", ErrNoTrustedTime)
		}
		if logTime && !useTlog {
			return "", fmt.Errorf("%w: the certificate can be checked only at the time the bundle's log entry records, "+
				"and that entry is not checked here (the transparency log is skipped, or not in the trusted root)", ErrBadSignature)
		}
		who, tm, err := v.matchIdentity(b, sig, found, alg, digest, timeOpt, logTime)
		if err != nil || !useTlog || logTime {
			return who, err
		}
		sv, err := keylessVerifier(tm, timeOpt, true)
		if err != nil {
			return "", err
		}
		if _, err := sv.Verify(b, sgverify.NewPolicy(sgverify.WithArtifactDigest(alg, digest), sgverify.WithoutIdentitiesUnsafe())); err != nil {
			return who, logFailure(err)
		}
		return who, nil
	}
}

// rootFor is the trusted material an identity's certificates are checked
// against: its own root when pinned, else the verifier's.
func (v *Verifier) rootFor(id Identity) root.TrustedMaterial {
	if id.Root != nil {
		return id.Root
	}
	return v.root
}

// trustsCertificateAuthority says whether some identity's root lists a
// certificate authority.
func (v *Verifier) trustsCertificateAuthority() bool {
	for _, id := range v.identities {
		if tm := v.rootFor(id); tm != nil && len(tm.FulcioCertificateAuthorities()) > 0 {
			return true
		}
	}
	return false
}

// logRoots is every trusted material a bundle's log entries may come from:
// the verifier's root and the identities' pinned roots.
func (v *Verifier) logRoots() []root.TrustedMaterial {
	var out []root.TrustedMaterial
	if v.root != nil {
		out = append(out, v.root)
	}
	for _, id := range v.identities {
		if id.Root != nil {
			out = append(out, id.Root)
		}
	}
	return out
}

// verifyLogEntry checks the bundle's log entry against the roots that
// may hold its log: nil when one vouches for it.
func (v *Verifier) verifyLogEntry(b *bundle.Bundle) error {
	err := errors.New("no trusted root lists a transparency log")
	for _, tm := range v.logRoots() {
		if _, err = sgverify.VerifyTlogEntry(b, tm, 1, true); err == nil {
			return nil
		}
	}
	return err
}

// keylessVerifier is sigstore-go's verifier for certificate-signed bundles:
// the trusted material, the time option, SCTs when it lists CT logs (a
// root without CT logs, like GitHub's own instance, has certificates
// without SCTs), and with withLog a log entry.
func keylessVerifier(tm root.TrustedMaterial, timeOpt sgverify.VerifierOption, withLog bool) (*sgverify.Verifier, error) {
	opts := []sgverify.VerifierOption{timeOpt}
	if withLog {
		opts = append(opts, sgverify.WithTransparencyLog(1))
	}
	if len(tm.CTLogs()) > 0 {
		opts = append(opts, sgverify.WithSignedCertificateTimestamps(1))
	}
	return sgverify.NewVerifier(tm, opts...)
}

// matchIdentity verifies the bundle against each trusted identity, under
// that identity's root, and returns who signed and the root that vouched;
// when none matches, it tells an untrusted or broken signature
// (ErrBadSignature, or ErrTransparencyLog when the log entry that gives the
// time fails) from a good one by someone else (ErrIdentityMismatch).
func (v *Verifier) matchIdentity(b *bundle.Bundle, sig *Signature, found, alg string, digest []byte, timeOpt sgverify.VerifierOption, withLog bool) (string, root.TrustedMaterial, error) {
	var expected, wrongRoot, names []string
	var matched root.TrustedMaterial
	var firstErr error
	chained := false
	summary, _ := certificateSummary(b)
	for _, id := range v.identities {
		ci, err := id.policy()
		if err != nil {
			return "", nil, err
		}
		tm := v.rootFor(id)
		if tm == nil || len(tm.FulcioCertificateAuthorities()) == 0 {
			expected = append(expected, id.String()+" (no certificate authority trusted for it)")
			continue
		}
		sv, err := keylessVerifier(tm, timeOpt, withLog)
		if err != nil {
			return "", nil, err
		}
		if _, err := sv.Verify(b, sgverify.NewPolicy(sgverify.WithArtifactDigest(alg, digest), sgverify.WithCertificateIdentity(ci))); err == nil {
			// Every identity it matches; the first one's root vouches.
			names = append(names, id.Name)
			if matched == nil {
				matched = tm
			}
			continue
		}
		expected = append(expected, id.String())
		if len(names) > 0 {
			continue // it verified: why others refuse it does not matter
		}
		_, uerr := sv.Verify(b, sgverify.NewPolicy(sgverify.WithArtifactDigest(alg, digest), sgverify.WithoutIdentitiesUnsafe()))
		switch {
		case uerr == nil:
			chained = true
		case summary != nil && ci.Verify(*summary) == nil:
			// The certificate names this identity, and does not verify
			// under the root pinned for it.
			wrongRoot = append(wrongRoot, fmt.Sprintf("as %s, %s", id.Name, certificateProblem(uerr)))
		case firstErr == nil:
			firstErr = uerr
		}
	}
	if len(names) > 0 {
		sig.Key, sig.Principals, sig.signerID = names[0], names, keylessSignerID(b)
		sig.certBound = true
		sig.signedAt = timeSource(b, matched)
		return fmt.Sprintf("verified as %s (%s)", strings.Join(names, " and as "), found), matched, nil
	}
	switch {
	case len(wrongRoot) > 0:
		return "", nil, fmt.Errorf("%w: signed keylessly (%s), the identity trusted here, and refused %s", ErrBadSignature, found, strings.Join(wrongRoot, "; "))
	case chained:
		return "", nil, fmt.Errorf("%w: expected %s; found %s", ErrIdentityMismatch, strings.Join(expected, " or "), found)
	case withLog:
		if lerr := v.verifyLogEntry(b); lerr != nil {
			return "", nil, logFailure(lerr)
		}
	}
	if firstErr == nil {
		firstErr = errors.New("no certificate authority is trusted for any identity")
	}
	return "", nil, fmt.Errorf("%w: signed keylessly (%s), and %s", ErrBadSignature, found, certificateProblem(firstErr))
}

// certificateSummary reads the Fulcio extensions of a bundle's certificate.
func certificateSummary(b *bundle.Bundle) (*certificate.Summary, error) {
	vc, err := b.VerificationContent()
	if err != nil || vc.Certificate() == nil {
		return nil, errors.New("no certificate")
	}
	s, err := certificate.SummarizeCertificate(vc.Certificate())
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// keylessSignerID names the identity a keyless certificate was issued to
// (issuer and subject alternative name): two certificates for one identity
// are one signer.
func keylessSignerID(b *bundle.Bundle) string {
	s, err := certificateSummary(b)
	if err != nil {
		return ""
	}
	// Case and a trailing slash do not make another identity: an email
	// address or a GitHub owner/repository is one whatever its case, and
	// a policy regexp may match either spelling.
	norm := func(v string) string { return strings.ToLower(strings.TrimSuffix(v, "/")) }
	return "keyless:" + norm(s.Extensions.Issuer) + "|" + norm(s.SubjectAlternativeName)
}

// describeCertificate names the identity in a bundle's signing certificate.
func describeCertificate(b *bundle.Bundle) string {
	vc, err := b.VerificationContent()
	if err != nil || vc.Certificate() == nil {
		return "no certificate"
	}
	return describeCert(vc.Certificate())
}

func describeCert(c *x509.Certificate) string {
	s, err := certificate.SummarizeCertificate(c)
	if err != nil {
		return "unreadable certificate"
	}
	out := fmt.Sprintf("subject %s, issuer %s", s.SubjectAlternativeName, s.Extensions.Issuer)
	if s.Extensions.GithubWorkflowRepository != "" {
		out += fmt.Sprintf(", workflow repository %s ref %s", s.Extensions.GithubWorkflowRepository, s.Extensions.GithubWorkflowRef)
	}
	if s.Extensions.SourceRepositoryURI != "" {
		out += ", source repository " + s.Extensions.SourceRepositoryURI
	}
	if s.Extensions.SourceRepositoryRef != "" {
		out += ", source ref " + s.Extensions.SourceRepositoryRef
	}
	if s.Extensions.RunnerEnvironment != "" {
		out += ", runner " + s.Extensions.RunnerEnvironment
	}
	return out
}
