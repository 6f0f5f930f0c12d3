// Package notary signs and verifies Notation (notaryproject.dev) signatures
// of OCI artifacts with notation-go's own verifier, one trust policy per
// principal, and describes Notation envelopes for inspection.
package notary

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"strings"
)

// ArtifactType is the artifact type of a Notation signature manifest.
const ArtifactType = "application/vnd.cncf.notary.signature"

// MediaTypeJWS is the media type of a JWS Notation envelope.
const MediaTypeJWS = "application/jose+json"

// MediaTypeCOSE is the media type of a COSE Notation envelope.
const MediaTypeCOSE = "application/cose"

// payloadMediaType is the content type of the signed Notation payload.
const payloadMediaType = "application/vnd.cncf.notary.payload.v1+json"

// thumbprintKey is the manifest annotation listing the SHA-256 thumbprints
// of the signing certificate chain.
const thumbprintKey = "io.cncf.notary.x509chain.thumbprint#S256"

// ThumbprintAnnotation returns the Notation signature manifest annotation
// listing the SHA-256 thumbprints of chain, leaf first, as a JSON array.
func ThumbprintAnnotation(chain []*x509.Certificate) (key, value string) {
	prints := make([]string, 0, len(chain))
	for _, c := range chain {
		sum := sha256.Sum256(c.Raw)
		prints = append(prints, `"`+hex.EncodeToString(sum[:])+`"`)
	}
	return thumbprintKey, "[" + strings.Join(prints, ",") + "]"
}

// envelopeName returns "jws" or "cose" for an envelope media type, or "".
func envelopeName(mediaType string) string {
	switch mediaType {
	case MediaTypeJWS:
		return "jws"
	case MediaTypeCOSE:
		return "cose"
	}
	return ""
}
