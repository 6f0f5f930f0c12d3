package notary

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/notaryproject/notation-core-go/revocation"
	"github.com/notaryproject/notation-core-go/revocation/result"
	"github.com/notaryproject/notation-core-go/signature"
	nx509 "github.com/notaryproject/notation-core-go/x509"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/tspclient-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// pluginAttribute is the extended attribute naming a verification plugin.
const pluginAttribute = "io.cncf.notary.verificationPlugin"

// pluginRequired returns the verification plugin the signature names, if any.
// Signet runs no plugins, so such a signature is refused (notation-go would
// refuse it too without a plugin manager; this says so plainly).
func pluginRequired(content *signature.EnvelopeContent) string {
	for _, a := range content.SignerInfo.SignedAttributes.ExtendedAttributes {
		if k, ok := a.Key.(string); ok && k == pluginAttribute {
			if name, ok := a.Value.(string); ok && name != "" {
				return name
			}
			return "(unnamed)"
		}
	}
	return ""
}

// reason turns a notation-go refusal into one sentence for people.
func reason(p Principal, info *Info, target ocispec.Descriptor, res *notation.VerificationOutcome, err error) string {
	failed := failedResult(res)
	if failed == nil {
		if err.Error() == "content descriptor mismatch" {
			return fmt.Sprintf("the signature is for another artifact: it signs %s %s (%d bytes), not %s %s (%d bytes)",
				info.Target.MediaType, info.Target.Digest, info.Target.Size, target.MediaType, target.Digest, target.Size)
		}
		return oneLine(err.Error())
	}
	msg := oneLine(failed.Error.Error())
	switch failed.Type {
	case trustpolicy.TypeIntegrity:
		return "integrity: the envelope's signature does not match its content (tampered or corrupt)"
	case trustpolicy.TypeAuthenticity:
		return authenticityReason(p, info, res)
	case trustpolicy.TypeExpiry:
		return fmt.Sprintf("expiry: the signature expired at %s", info.Expiry.UTC().Format(time.RFC3339))
	case trustpolicy.TypeAuthenticTimestamp:
		return timestampReason(p, msg)
	case trustpolicy.TypeRevocation:
		return "revocation: " + msg + " (the principal's revocation setting is enforce; log or skip relax it)"
	}
	return msg
}

func failedResult(res *notation.VerificationOutcome) *notation.ValidationResult {
	if res == nil {
		return nil
	}
	for _, r := range res.VerificationResults {
		if r.Error != nil && r.Action == trustpolicy.ActionEnforce {
			return r
		}
	}
	return nil
}

func authenticityReason(p Principal, info *Info, res *notation.VerificationOutcome) string {
	wantScheme := string(signature.SigningSchemeX509)
	store := "certificate authority (ca)"
	if p.SigningAuthority {
		wantScheme, store = string(signature.SigningSchemeX509SigningAuthority), "signing authority"
	}
	if info.SigningScheme != wantScheme {
		return fmt.Sprintf("authenticity: the signature uses signing scheme %s, but the principal's trust store is a %s store, which takes %s (see signingAuthority)", info.SigningScheme, store, wantScheme)
	}
	if res != nil && res.EnvelopeContent != nil && chainMeetsStore(res.EnvelopeContent.SignerInfo.CertificateChain, p.Certificates) {
		return fmt.Sprintf("identity: the signing certificate's subject %q is not the trusted identity %q", info.Subject, p.Subject)
	}
	return fmt.Sprintf("authenticity: the certificate chain does not lead to a certificate in its trust store (found leaf %q, issuer %q)", info.Subject, info.Issuer)
}

func chainMeetsStore(chain, store []*x509.Certificate) bool {
	for _, c := range chain {
		for _, s := range store {
			if c.Equal(s) {
				return true
			}
		}
	}
	return false
}

func timestampReason(p Principal, msg string) string {
	switch {
	case len(p.TSA) == 0:
		return "certificate validity: " + msg + " (the principal has no TSA roots, so no timestamp can vouch for a signing time)"
	case strings.Contains(msg, "no timestamp countersignature"):
		return "timestamp: the principal requires an RFC 3161 timestamp (verifyTimestamp " + timestampMode(p) + ") and the signature has none"
	case strings.Contains(msg, "failed to verify the timestamp countersignature"):
		return "timestamp: the RFC 3161 timestamp does not verify against the principal's TSA roots: " + msg
	}
	return "timestamp: " + msg
}

func timestampMode(p Principal) string {
	if p.VerifyTimestamp == "" {
		return "always"
	}
	return p.VerifyTimestamp
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// verifiedTimestamp returns the upper bound of the envelope's RFC 3161 time
// when its countersignature verifies against p's TSA roots and falls within
// the signing chain's validity, else zero. It checks even when notation-go
// did not (afterCertExpiry with an unexpired chain), revocation of the TSA's
// chain included, as notation-go does.
func verifiedTimestamp(ctx context.Context, p Principal, rv revocation.Validator, content *signature.EnvelopeContent) time.Time {
	si := content.SignerInfo
	if len(p.TSA) == 0 || len(si.UnsignedAttributes.TimestampSignature) == 0 || si.SignedAttributes.SigningScheme != signature.SigningSchemeX509 {
		return time.Time{}
	}
	token, err := tspclient.ParseSignedToken(si.UnsignedAttributes.TimestampSignature)
	if err != nil {
		return time.Time{}
	}
	tst, err := token.Info()
	if err != nil {
		return time.Time{}
	}
	ts, err := tst.Validate(si.Signature)
	if err != nil {
		return time.Time{}
	}
	roots := x509.NewCertPool()
	for _, c := range p.TSA {
		roots.AddCert(c)
	}
	chain, err := token.Verify(ctx, x509.VerifyOptions{CurrentTime: ts.Value, Roots: roots})
	if err != nil || nx509.ValidateTimestampingCertChain(chain) != nil {
		return time.Time{}
	}
	for _, c := range si.CertificateChain {
		if !ts.BoundedAfter(c.NotBefore) || !ts.BoundedBefore(c.NotAfter) {
			return time.Time{}
		}
	}
	if !notRevoked(ctx, rv, chain) {
		return time.Time{}
	}
	return ts.Value.Add(ts.Accuracy)
}

// notRevoked reports whether every certificate of chain is known good (or
// has no revocation service to ask).
func notRevoked(ctx context.Context, rv revocation.Validator, chain []*x509.Certificate) bool {
	results, err := rv.ValidateContext(ctx, revocation.ValidateContextOptions{CertChain: chain})
	if err != nil || len(results) != len(chain) {
		return false
	}
	for _, r := range results {
		if r.Result != result.ResultOK && r.Result != result.ResultNonRevokable {
			return false
		}
	}
	return true
}
