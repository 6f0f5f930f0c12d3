package notary

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/notaryproject/tspclient-go"
	"time"

	"github.com/notaryproject/notation-core-go/signature"
	_ "github.com/notaryproject/notation-core-go/signature/cose" // registers the COSE envelope
	_ "github.com/notaryproject/notation-core-go/signature/jws"  // registers the JWS envelope
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/veraison/go-cose"
)

// maxEnvelope caps the size of an envelope Signet parses.
const maxEnvelope = 4 << 20

// ErrEnvelope reports an envelope that cannot be parsed.
var ErrEnvelope = errors.New("not a Notation signature envelope")

// Info describes a Notation envelope without verifying it.
type Info struct {
	Envelope      string // "jws" or "cose"
	SigningScheme string // notary.x509 or notary.x509.signingAuthority
	Subject       string // leaf certificate subject DN
	Issuer        string // leaf certificate issuer DN
	SigningTime   time.Time
	Expiry        time.Time // zero when the signature does not expire
	HasTimestamp  bool      // an RFC 3161 countersignature is present (not verified)
	// Timestamp and TimestampAuthority are what the countersignature
	// says (its time and the TSA certificate's subject), unverified; zero
	// and "" when there is none or it does not parse.
	Timestamp          time.Time
	TimestampAuthority string
	Target             ocispec.Descriptor
}

// payload is the signed Notation payload.
type payload struct {
	TargetArtifact ocispec.Descriptor `json:"targetArtifact"`
}

// Describe parses envelope, of the given media type, without verifying it;
// nothing it returns is trusted. It is for display (signet inspect).
func Describe(envelope []byte, mediaType string) (*Info, error) {
	content, err := parse(envelope, mediaType, false)
	if err != nil {
		return nil, err
	}
	return describeContent(content, mediaType)
}

// parse parses an envelope and, when verify is set, checks its integrity
// (the leaf signature over the payload and the chain's structure).
func parse(envelope []byte, mediaType string, verify bool) (*signature.EnvelopeContent, error) {
	if envelopeName(mediaType) == "" {
		return nil, fmt.Errorf("%w: media type %q is neither %s nor %s", ErrEnvelope, mediaType, MediaTypeJWS, MediaTypeCOSE)
	}
	if len(envelope) > maxEnvelope {
		return nil, fmt.Errorf("%w: %d bytes is over the %d-byte limit", ErrEnvelope, len(envelope), maxEnvelope)
	}
	if n := chainLength(envelope, mediaType); n > maxChain {
		return nil, fmt.Errorf("%w: its certificate chain has %d certificates, more than the %d Signet reads (a Notation chain is the signing certificate, its intermediates and a root)", ErrEnvelope, n, maxChain)
	}
	env, err := signature.ParseEnvelope(mediaType, envelope)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrEnvelope, err.Error())
	}
	var content *signature.EnvelopeContent
	if verify {
		content, err = env.Verify()
	} else {
		content, err = env.Content()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrEnvelope, err.Error())
	}
	if len(content.SignerInfo.CertificateChain) == 0 {
		return nil, fmt.Errorf("%w: no certificate chain", ErrEnvelope)
	}
	return content, nil
}

func describeContent(content *signature.EnvelopeContent, mediaType string) (*Info, error) {
	if content.Payload.ContentType != payloadMediaType {
		return nil, fmt.Errorf("%w: payload type %q, expected %q", ErrEnvelope, content.Payload.ContentType, payloadMediaType)
	}
	var p payload
	if err := json.Unmarshal(content.Payload.Content, &p); err != nil {
		return nil, fmt.Errorf("%w: the payload is not JSON: %s", ErrEnvelope, err.Error())
	}
	si := content.SignerInfo
	leaf := si.CertificateChain[0]
	ts, tsa := claimedTimestamp(si.UnsignedAttributes.TimestampSignature)
	return &Info{
		Timestamp:          ts,
		TimestampAuthority: tsa,
		Envelope:           envelopeName(mediaType),
		SigningScheme:      string(si.SignedAttributes.SigningScheme),
		Subject:            leaf.Subject.String(),
		Issuer:             leaf.Issuer.String(),
		SigningTime:        si.SignedAttributes.SigningTime,
		Expiry:             si.SignedAttributes.Expiry,
		HasTimestamp:       len(si.UnsignedAttributes.TimestampSignature) > 0,
		Target:             p.TargetArtifact,
	}, nil
}

// claimedTimestamp reads an RFC 3161 countersignature's time and the
// subject of the TSA certificate it carries, without verifying either.
func claimedTimestamp(token []byte) (time.Time, string) {
	if len(token) == 0 {
		return time.Time{}, ""
	}
	st, err := tspclient.ParseSignedToken(token)
	if err != nil {
		return time.Time{}, ""
	}
	info, err := st.Info()
	if err != nil {
		return time.Time{}, ""
	}
	tsa := ""
	if len(st.SignerInfos) > 0 {
		if c, err := st.SigningCertificate(&st.SignerInfos[0]); err == nil {
			tsa = c.Subject.String()
			if tsa == "" {
				tsa = "a certificate issued by " + c.Issuer.String()
			}
		}
	}
	return info.GenTime.UTC(), tsa
}

// maxChain caps the certificates of an envelope's chain. Parsing an
// envelope checks every link of its chain, and each principal's
// verification does again: a registry writer could otherwise make every
// decision pay seconds of CPU per signature with a chain of thousands of
// certificates that leads nowhere.
const maxChain = 10

// chainLength counts the certificates in an envelope's chain without
// parsing them (the decoding notation-core-go does itself), 0 when it
// cannot tell (parsing then says why).
func chainLength(envelope []byte, mediaType string) int {
	switch mediaType {
	case MediaTypeJWS:
		var e struct {
			Header struct {
				X5c []json.RawMessage `json:"x5c"`
			} `json:"header"`
		}
		if json.Unmarshal(envelope, &e) == nil {
			return len(e.Header.X5c)
		}
	case MediaTypeCOSE:
		var m cose.Sign1Message
		if m.UnmarshalCBOR(envelope) == nil {
			if certs, ok := m.Headers.Unprotected[cose.HeaderLabelX5Chain].([]any); ok {
				return len(certs)
			}
		}
	}
	return 0
}
