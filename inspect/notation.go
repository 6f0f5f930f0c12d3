package inspect

import (
	"fmt"
	"time"

	"github.com/signet-dev/signet/notary"
	"github.com/signet-dev/signet/oci"
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
	if n.Timestamped {
		s += ", RFC 3161 timestamp present"
	} else {
		s += ", no timestamp"
	}
	if n.Expiry != nil {
		s += ", expires " + n.Expiry.Format(time.RFC3339)
	}
	return s
}
