package inspect

import (
	"fmt"
	"strings"
	"time"

	"github.com/signet-dev/signet/notary"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/verify"
)

// Notation is what a Notation signature says of itself. Nothing here is
// verified: only a Verdict (with --policy) says which principal it counts for.
type Notation struct {
	// Envelope is jws or cose.
	Envelope string `json:"envelope"`
	// SigningScheme is notary.x509 or notary.x509.signingAuthority.
	SigningScheme string `json:"signingScheme"`
	// Subject and Issuer are the signing certificate's subject and issuer DNs.
	Subject string `json:"subject"`
	Issuer  string `json:"issuer"`
	// SigningTime is the time the signer claims.
	SigningTime time.Time `json:"signingTime"`
	// Expiry is when the signature stops being valid, if it expires.
	Expiry *time.Time `json:"expiry,omitempty"`
	// Timestamped says an RFC 3161 countersignature is present (not checked here).
	Timestamped bool `json:"timestamped"`
	// Timestamp and TimestampAuthority are what the countersignature says
	// (its time, the TSA certificate's subject); not checked here.
	Timestamp          *time.Time `json:"timestamp,omitempty"`
	TimestampAuthority string     `json:"timestampAuthority,omitempty"`
}

// notation reads a Notation signature envelope.
func (r *reader) notation(out *Artifact, a oci.Artifact) {
	out.Kind = KindSignature
	info, err := notary.Describe(a.Content, a.MediaType)
	if err != nil {
		out.Unreadable = err.Error()
		return
	}
	n := &Notation{Envelope: info.Envelope, SigningScheme: info.SigningScheme, Subject: info.Subject, Issuer: info.Issuer,
		SigningTime: info.SigningTime.UTC(), Timestamped: info.HasTimestamp}
	if !info.Timestamp.IsZero() {
		ts := info.Timestamp
		n.Timestamp, n.TimestampAuthority = &ts, info.TimestampAuthority
	}
	if !info.Expiry.IsZero() {
		e := info.Expiry.UTC()
		n.Expiry = &e
	}
	out.Notation = n
	out.Signer = &Signer{Description: fmt.Sprintf("certificate %q issued by %q (Notation; verify with a policy to attribute it)", info.Subject, info.Issuer)}
	out.Summary = fmt.Sprintf("signs %s %s (%d bytes)", info.Target.MediaType, info.Target.Digest, info.Target.Size)
	out.Created = created(out, a.Annotations)
	if out.Created == nil {
		out.Created = &n.SigningTime
	}
}

// notationText is the one-line description of a Notation signature.
func notationText(n *Notation) string {
	s := n.Envelope + " envelope, " + n.SigningScheme + ", signed " + n.SigningTime.Format(time.RFC3339) + " (claimed)"
	switch {
	case n.Timestamp != nil && n.TimestampAuthority != "":
		s += ", RFC 3161 timestamp " + n.Timestamp.Format(time.RFC3339) + " by " + n.TimestampAuthority + " (verify with a policy to trust it)"
	case n.Timestamp != nil:
		s += ", RFC 3161 timestamp " + n.Timestamp.Format(time.RFC3339) + " (verify with a policy to trust it)"
	case n.Timestamped:
		s += ", RFC 3161 timestamp present (unreadable)"
	default:
		s += ", no timestamp"
	}
	if n.Expiry != nil {
		s += ", expires " + n.Expiry.Format(time.RFC3339)
	}
	return s
}

// attestationArtifact reads an attestation document stored as an OCI
// artifact (an in-toto statement, or a raw SPDX or CycloneDX document) and
// names the Notation signatures found on it; none makes it count for no
// policy.
func (r *reader) attestationArtifact(out *Artifact, a oci.Artifact) {
	out.Kind = KindAttestation
	if pt, ok := verify.DocumentPredicateType(a.MediaType); ok {
		out.PredicateType = pt
		summarize(out, pt, a.Content, r.now)
	} else {
		r.statementPayload(out, a.Content)
	}
	out.Created = created(out, a.Annotations)
	var who []string
	for _, sig := range a.Signatures {
		if sig.Err != nil {
			who = append(who, "an unreadable signature ("+sig.Err.Error()+")")
			continue
		}
		info, err := notary.Describe(sig.Content, sig.MediaType)
		if err != nil {
			who = append(who, "an unreadable signature ("+err.Error()+")")
			continue
		}
		who = append(who, fmt.Sprintf("certificate %q issued by %q", info.Subject, info.Issuer))
	}
	switch {
	case !a.SignaturesRead:
	case len(who) == 0:
		out.Signer = &Signer{Description: "no Notation signature: unsigned, it counts for no policy"}
	default:
		out.Signer = &Signer{Description: "Notation: " + strings.Join(who, "; ") + " (verify with a policy to attribute it)"}
	}
	if a.Unread != "" && out.Signer != nil {
		out.Signer.Description += "; " + a.Unread
	}
}
