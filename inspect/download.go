package inspect

import (
	"context"
	"encoding/base64"
	"encoding/json"

	"github.com/signet-dev/signet/oci"
)

// Raw is one attached signature as stored, for `signet download signature`.
type Raw struct {
	Layout   string `json:"layout"`
	Manifest string `json:"manifest"`
	// Format is sigstore-bundle, simple-signing or notation.
	Format string `json:"format"`
	// Data is a Sigstore bundle as stored; for a legacy .sig layer, an
	// object in the shape `cosign download signature` prints
	// (Base64Signature, Payload, Cert, Chain, Bundle); for a Notation
	// signature, {"mediaType": the envelope's (JWS or COSE), "envelope":
	// the envelope, base64}.
	Data json.RawMessage `json:"data,omitempty"`
	// Error says why it could not be read.
	Error string `json:"error,omitempty"`
}

// Signatures returns the image signatures attached to image, in every
// layout, unverified: bundles whose statement is cosign's image-signature
// predicate, legacy simple-signing layers, and Notation signatures.
func Signatures(ctx context.Context, client *oci.Client, image string) ([]Raw, error) {
	t, err := client.Resolve(ctx, image)
	if err != nil {
		return nil, err
	}
	arts, err := client.Discover(ctx, t)
	if err != nil {
		return nil, err
	}
	r := &reader{}
	var out []Raw
	for _, a := range arts {
		if a.Kind != oci.KindBundle && a.Kind != oci.KindSimpleSigning && a.Kind != oci.KindNotation {
			continue
		}
		if r.artifact(a).Kind != KindSignature {
			continue
		}
		raw := Raw{Layout: string(a.Layout), Manifest: a.Manifest.String(), Format: string(a.Kind)}
		switch {
		case a.Err != nil:
			raw.Error = a.Err.Error()
		case a.Kind == oci.KindNotation:
			raw.Data, _ = json.Marshal(map[string]string{"mediaType": a.MediaType, "envelope": base64.StdEncoding.EncodeToString(a.Content)})
		case a.Kind == oci.KindBundle:
			if raw.Data = compact(a.BundleJSON()); raw.Data == nil {
				raw.Error = "the bundle is not JSON"
			}
		default:
			raw.Data, _ = json.Marshal(map[string]any{
				"Base64Signature": a.Signature,
				"Payload":         base64.StdEncoding.EncodeToString(a.Content),
				"Cert":            a.Annotations[oci.AnnotationLegacyCert],
				"Chain":           a.Annotations[oci.AnnotationLegacyCertChain],
				"Bundle":          json.RawMessage(orNull(a.Annotations[oci.AnnotationLegacyBundle])),
			})
		}
		out = append(out, raw)
	}
	return out, nil
}

// compact returns b as one line of JSON, nil if it is not JSON.
func compact(b []byte) json.RawMessage {
	var v json.RawMessage
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return out
}

func orNull(s string) string {
	if s == "" || !json.Valid([]byte(s)) {
		return "null"
	}
	return s
}
