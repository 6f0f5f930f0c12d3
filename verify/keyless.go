package verify

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
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
	return fmt.Sprintf("subject %s, issuer %s", subj, iss)
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
		if v.root == nil || len(v.root.FulcioCertificateAuthorities()) == 0 {
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
		who, err := v.matchIdentity(b, sig, found, alg, digest, timeOpt, logTime)
		if err != nil || !useTlog || logTime {
			return who, err
		}
		sv, err := v.keylessVerifier(timeOpt, true)
		if err != nil {
			return "", err
		}
		if _, err := sv.Verify(b, sgverify.NewPolicy(sgverify.WithArtifactDigest(alg, digest), sgverify.WithoutIdentitiesUnsafe())); err != nil {
			return who, logFailure(err)
		}
		return who, nil
	}
}

// keylessVerifier is sigstore-go's verifier for certificate-signed bundles:
// the trusted root, the time option, SCTs when the root lists CT logs, and
// with withLog a log entry.
func (v *Verifier) keylessVerifier(timeOpt sgverify.VerifierOption, withLog bool) (*sgverify.Verifier, error) {
	opts := []sgverify.VerifierOption{timeOpt}
	if withLog {
		opts = append(opts, sgverify.WithTransparencyLog(1))
	}
	if len(v.root.CTLogs()) > 0 {
		opts = append(opts, sgverify.WithSignedCertificateTimestamps(1))
	}
	return sgverify.NewVerifier(v.root, opts...)
}

// matchIdentity verifies the bundle against each trusted identity and
// returns who signed; when none matches, it tells an untrusted or broken
// signature (ErrBadSignature, or ErrTransparencyLog when the log entry that
// gives the time fails) from a good one by someone else (ErrIdentityMismatch).
func (v *Verifier) matchIdentity(b *bundle.Bundle, sig *Signature, found, alg string, digest []byte, timeOpt sgverify.VerifierOption, withLog bool) (string, error) {
	sv, err := v.keylessVerifier(timeOpt, withLog)
	if err != nil {
		return "", err
	}
	var expected, names []string
	for _, id := range v.identities {
		ci, err := id.policy()
		if err != nil {
			return "", err
		}
		if _, err := sv.Verify(b, sgverify.NewPolicy(sgverify.WithArtifactDigest(alg, digest), sgverify.WithCertificateIdentity(ci))); err == nil {
			// Every identity it matches: a threshold counts it for one.
			names = append(names, id.Name)
			continue
		}
		expected = append(expected, id.String())
	}
	if len(names) > 0 {
		sig.Key, sig.Principals, sig.signerID = names[0], names, keylessSignerID(b)
		sig.signedAt = timeSource(b, v.root)
		return fmt.Sprintf("verified as %s (%s)", strings.Join(names, " and as "), found), nil
	}
	if _, err := sv.Verify(b, sgverify.NewPolicy(sgverify.WithArtifactDigest(alg, digest), sgverify.WithoutIdentitiesUnsafe())); err != nil {
		if withLog {
			if _, lerr := sgverify.VerifyTlogEntry(b, v.root, 1, true); lerr != nil {
				return "", logFailure(lerr)
			}
		}
		return "", fmt.Errorf("%w: signed keylessly (%s), and %s", ErrBadSignature, found, certificateProblem(err))
	}
	return "", fmt.Errorf("%w: expected %s; found %s", ErrIdentityMismatch, strings.Join(expected, " or "), found)
}

// keylessSignerID names the identity a keyless certificate was issued to
// (issuer and subject alternative name): two certificates for one identity
// are one signer.
func keylessSignerID(b *bundle.Bundle) string {
	vc, err := b.VerificationContent()
	if err != nil || vc.Certificate() == nil {
		return ""
	}
	s, err := certificate.SummarizeCertificate(vc.Certificate())
	if err != nil {
		return ""
	}
	return "keyless:" + s.Extensions.Issuer + "|" + s.SubjectAlternativeName
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
	return out
}
