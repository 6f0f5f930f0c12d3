package notary

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/notaryproject/notation-core-go/revocation"
	"github.com/notaryproject/notation-core-go/revocation/purpose"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrNotVerified reports a signature no principal accepts.
var ErrNotVerified = errors.New("the Notation signature is not verified")

// storeName names every principal's trust stores (each principal has its own).
const storeName = "signet"

// revocationTimeout bounds each OCSP or CRL request.
const revocationTimeout = 5 * time.Second

// Principal is one party whose Notation signatures count: a trust store of
// CA (or signing authority) certificates, and Notation trust-policy settings.
type Principal struct {
	Name             string
	Certificates     []*x509.Certificate // trust store: CA roots, or signing-authority certificates
	SigningAuthority bool                // the store is of type signingAuthority (scheme notary.x509.signingAuthority)
	Subject          string              // x509.subject trusted identity (a DN); empty: any certificate the store certifies
	TSA              []*x509.Certificate // RFC 3161 roots; none: no timestamp is checked, the chain must be valid now
	VerifyTimestamp  string              // "always" (default) or "afterCertExpiry"
	Revocation       string              // "enforce" (default), "log" or "skip"
}

// Verifier verifies Notation signatures for a set of principals.
type Verifier struct {
	principals    []Principal
	verifiers     []notation.Verifier
	tsaRevocation []revocation.Validator // per principal, for the timestamps Verify checks itself
}

// NewVerifier builds one notation-go verifier per principal, each with its
// own trust policy and in-memory trust store, and no plugins.
func NewVerifier(ps []Principal) (*Verifier, error) {
	return newVerifier(ps, nil)
}

// revocationValidators makes the code-signing and timestamping revocation
// validators of a principal (tests give fakes; nil: OCSP and CRL over HTTP).
type revocationValidators func() (codeSigning, timestamping revocation.Validator, err error)

func newVerifier(ps []Principal, rv revocationValidators) (*Verifier, error) {
	if rv == nil {
		rv = httpRevocation
	}
	v := &Verifier{principals: ps}
	for _, p := range ps {
		codeSigning, timestamping, err := rv()
		if err != nil {
			return nil, fmt.Errorf("notation principal %s: %w", p.Name, err)
		}
		nv, err := newPrincipalVerifier(p, codeSigning, timestamping)
		if err != nil {
			return nil, fmt.Errorf("notation principal %s: %w", p.Name, err)
		}
		v.verifiers = append(v.verifiers, nv)
		v.tsaRevocation = append(v.tsaRevocation, timestamping)
	}
	return v, nil
}

func newPrincipalVerifier(p Principal, codeSigning, timestamping revocation.Validator) (notation.Verifier, error) {
	if len(p.Certificates) == 0 {
		return nil, errors.New("no trust store certificates")
	}
	if err := storeCertificates(p); err != nil {
		return nil, err
	}
	doc, err := trustPolicy(p)
	if err != nil {
		return nil, err
	}
	nv, err := verifier.NewWithOptions(doc, newMemoryStore(p), nil, verifier.VerifierOptions{
		RevocationCodeSigningValidator:  codeSigning,
		RevocationTimestampingValidator: timestamping,
	})
	if err != nil {
		return nil, fmt.Errorf("building the Notation trust policy: %s", err.Error())
	}
	return nv, nil
}

// httpRevocation makes notation-go's OCSP (falling back to CRL) validators
// with bounded HTTP timeouts.
func httpRevocation() (codeSigning, timestamping revocation.Validator, err error) {
	newValidator := func(p purpose.Purpose) (revocation.Validator, error) {
		return revocation.NewWithOptions(revocation.Options{
			OCSPHTTPClient:   &http.Client{Timeout: revocationTimeout},
			CertChainPurpose: p,
		})
	}
	if codeSigning, err = newValidator(purpose.CodeSigning); err != nil {
		return nil, nil, err
	}
	if timestamping, err = newValidator(purpose.Timestamping); err != nil {
		return nil, nil, err
	}
	return codeSigning, timestamping, nil
}

// trustPolicy is the Notation trust policy document of one principal.
func trustPolicy(p Principal) (*trustpolicy.Document, error) {
	rev := trustpolicy.ActionEnforce
	switch p.Revocation {
	case "", "enforce":
	case "log":
		rev = trustpolicy.ActionLog
	case "skip":
		rev = trustpolicy.ActionSkip
	default:
		return nil, fmt.Errorf("revocation %q: use enforce, log or skip", p.Revocation)
	}
	ts := trustpolicy.OptionAlways
	switch p.VerifyTimestamp {
	case "", "always":
	case "afterCertExpiry":
		ts = trustpolicy.OptionAfterCertExpiry
	default:
		return nil, fmt.Errorf("verifyTimestamp %q: use always or afterCertExpiry", p.VerifyTimestamp)
	}
	stores := []string{"ca:" + storeName}
	if p.SigningAuthority {
		stores = []string{"signingAuthority:" + storeName}
	}
	if len(p.TSA) > 0 {
		stores = append(stores, "tsa:"+storeName)
	}
	identities := []string{"*"}
	if p.Subject != "" {
		identities = []string{"x509.subject: " + p.Subject}
	}
	return &trustpolicy.Document{
		Version: "1.0",
		TrustPolicies: []trustpolicy.TrustPolicy{{
			Name:           "signet",
			RegistryScopes: []string{"*"},
			SignatureVerification: trustpolicy.SignatureVerification{
				VerificationLevel: trustpolicy.LevelStrict.Name,
				Override:          map[trustpolicy.ValidationType]trustpolicy.ValidationAction{trustpolicy.TypeRevocation: rev},
				VerifyTimestamp:   ts,
			},
			TrustStores:       stores,
			TrustedIdentities: identities,
		}},
	}, nil
}

// storeCertificates refuses what Notation's own trust store refuses to
// load (the in-memory store stands in for it): a trust store certificate
// that is neither a CA certificate nor a self-signed signing certificate,
// and a TSA root that is not a root.
func storeCertificates(p Principal) error {
	if err := CheckTrustStore(p.Certificates); err != nil {
		return err
	}
	return CheckTSARoots(p.TSA)
}

// CheckTrustStore refuses a trust store certificate that is neither a CA
// certificate nor a self-signed signing certificate, as Notation's trust
// stores do.
func CheckTrustStore(certs []*x509.Certificate) error {
	for _, c := range certs {
		if truststore.ValidateCertificates([]*x509.Certificate{c}) != nil {
			return fmt.Errorf("trust store certificate %q is neither a CA certificate nor a self-signed signing certificate, which Notation's trust stores refuse: list the CA that issued it instead", c.Subject)
		}
	}
	return nil
}

// CheckTSARoots refuses a TSA root that is not a root (self-signed)
// certificate, as Notation's TSA trust stores do.
func CheckTSARoots(certs []*x509.Certificate) error {
	for _, c := range certs {
		if !bytes.Equal(c.RawSubject, c.RawIssuer) || c.CheckSignatureFrom(c) != nil {
			return fmt.Errorf("TSA root %q is not a root (self-signed) certificate, which Notation's TSA trust stores require: list the root it chains to instead", c.Subject)
		}
	}
	return nil
}

// memoryStore is a notation-go trust store holding one principal's
// certificates.
type memoryStore map[truststore.Type][]*x509.Certificate

func newMemoryStore(p Principal) memoryStore {
	s := memoryStore{truststore.TypeTSA: p.TSA}
	if p.SigningAuthority {
		s[truststore.TypeSigningAuthority] = p.Certificates
	} else {
		s[truststore.TypeCA] = p.Certificates
	}
	return s
}

// GetCertificates returns the certificates of one store type.
func (s memoryStore) GetCertificates(_ context.Context, t truststore.Type, name string) ([]*x509.Certificate, error) {
	if name != storeName {
		return nil, fmt.Errorf("no trust store %s:%s", t, name)
	}
	return s[t], nil
}

// Outcome is what Verify learned about a signature.
type Outcome struct {
	Principals    []string // every principal the signature verified for, in the order given
	Envelope      string   // "jws" or "cose"
	SigningScheme string
	Subject       string // leaf certificate subject DN
	Issuer        string // leaf certificate issuer DN
	SigningTime   time.Time
	// Timestamp is the latest time the RFC 3161 countersignature allows
	// (its time plus its accuracy), set only when the countersignature
	// verified against the TSA roots of every principal the signature
	// verified for (it may count for any of them, so the time must be
	// one each of them trusts); zero otherwise.
	Timestamp time.Time
	// Expires is when this verification stops holding and must be done
	// again (notation-go checks against the clock): the envelope's
	// expiry and, without a trusted Timestamp, the earliest end of the
	// signing chain's validity. Zero: never.
	Expires time.Time
	LeafKey crypto.PublicKey
}

// Verify verifies envelope, a Notation signature of the given media type,
// as a signature over target for each principal. The error, when no
// principal accepts it, has one line per principal saying why; the Outcome
// still describes the envelope when it parsed.
func (v *Verifier) Verify(ctx context.Context, target ocispec.Descriptor, artifactRef string, envelope []byte, mediaType string) (*Outcome, error) {
	content, err := parse(envelope, mediaType, false)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotVerified, err)
	}
	info, err := describeContent(content, mediaType)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotVerified, err)
	}
	out := &Outcome{
		Envelope: info.Envelope, SigningScheme: info.SigningScheme, Subject: info.Subject,
		Issuer: info.Issuer, SigningTime: info.SigningTime, LeafKey: content.SignerInfo.CertificateChain[0].PublicKey,
	}
	// Every principal's trust policy applies to every artifact ("*"); the
	// reference only has to be well formed.
	ref := "signet.invalid/artifact@" + target.Digest.String()
	var reasons []string
	timed := true // every accepting principal so far trusts the same time
	for i, nv := range v.verifiers {
		p := v.principals[i]
		if name := pluginRequired(content); name != "" {
			reasons = append(reasons, fmt.Sprintf("%s: the signature requires the Notation verification plugin %q, and Signet runs no plugins", p.Name, name))
			continue
		}
		res, err := nv.Verify(ctx, target, envelope, notation.VerifierVerifyOptions{ArtifactReference: ref, SignatureMediaType: mediaType})
		if err != nil {
			reasons = append(reasons, p.Name+": "+reason(p, info, target, res, err))
			continue
		}
		out.Principals = append(out.Principals, p.Name)
		if !timed {
			continue
		}
		// One principal's TSA roots vouch for a time only to that
		// principal: a time another accepting principal does not trust
		// is no trusted time for this signature.
		ts := verifiedTimestamp(ctx, p, v.tsaRevocation[i], content)
		if ts.IsZero() || (!out.Timestamp.IsZero() && !ts.Equal(out.Timestamp)) {
			out.Timestamp, timed = time.Time{}, false
			continue
		}
		out.Timestamp = ts
	}
	out.Expires = expires(info.Expiry, out.Timestamp, content.SignerInfo.CertificateChain)
	if len(out.Principals) == 0 {
		if len(reasons) == 0 {
			return out, fmt.Errorf("%w: no Notation principals to verify it for", ErrNotVerified)
		}
		return out, fmt.Errorf("%w (%s):\n%s", ErrNotVerified, describeRef(artifactRef, target), strings.Join(reasons, "\n"))
	}
	return out, nil
}

func describeRef(ref string, target ocispec.Descriptor) string {
	if ref != "" {
		return ref
	}
	return target.Digest.String()
}

// expires is when a verification made now stops holding: the envelope's
// expiry, and, with no trusted timestamp to check the chain at, the first
// certificate of the chain to expire.
func expires(expiry, timestamp time.Time, chain []*x509.Certificate) time.Time {
	out := expiry
	if !timestamp.IsZero() {
		return out
	}
	for _, c := range chain {
		if out.IsZero() || c.NotAfter.Before(out) {
			out = c.NotAfter
		}
	}
	return out
}
