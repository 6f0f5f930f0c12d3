package attest

import (
	"context"
	"encoding/json"
	"fmt"

	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/signet-dev/signet/oci"
)

// Found is an attached statement as stored, NOT verified.
type Found struct {
	Layout        oci.Layout      `json:"layout"`
	Manifest      string          `json:"manifest"`
	PredicateType string          `json:"predicateType"`
	Statement     json.RawMessage `json:"statement,omitempty"`
	Error         string          `json:"error,omitempty"`
	// Detached is a detached-predicate statement's predicate: where its
	// document is (WriteDetached fetches it).
	Detached *DetachedPredicate `json:"detached,omitempty"`
}

// Statements returns the in-toto statements attached to image (referrer
// bundles and legacy .att envelopes), of predicateType if it is not empty
// (a detached-predicate statement counts for its document's type too).
// Nothing is verified: use verify.VerifyAttestations to trust them.
func Statements(ctx context.Context, client *oci.Client, image, predicateType string) ([]Found, error) {
	t, err := client.Resolve(ctx, image)
	if err != nil {
		return nil, err
	}
	return StatementsOf(ctx, client, t, predicateType)
}

// StatementsOf is Statements of a resolved image.
func StatementsOf(ctx context.Context, client *oci.Client, t *oci.Target, predicateType string) ([]Found, error) {
	arts, err := client.Discover(ctx, t)
	if err != nil {
		return nil, err
	}
	var out []Found
	for _, a := range arts {
		if a.Kind != oci.KindBundle && a.Kind != oci.KindDSSE {
			continue
		}
		f := Found{Layout: a.Layout, Manifest: a.Manifest.String(), PredicateType: a.PredicateType()}
		if f.PredicateType == oci.CosignSignPredicateType {
			continue // an image signature, not an attestation
		}
		raw, err := statementOf(a)
		switch {
		case err != nil:
			f.Error = err.Error()
		default:
			f.Statement = raw
			var st struct {
				PredicateType string          `json:"predicateType"`
				Predicate     json.RawMessage `json:"predicate"`
			}
			if json.Unmarshal(raw, &st) == nil && st.PredicateType != "" {
				f.PredicateType = st.PredicateType
			}
			if f.PredicateType == DetachedPredicateType {
				f.Detached, _ = ParseDetachedPredicate(st.Predicate) // malformed: shown as a plain statement
			}
		}
		if f.PredicateType == oci.CosignSignPredicateType || (predicateType != "" && f.PredicateType != predicateType &&
			(f.Detached == nil || f.Detached.PredicateType != predicateType)) {
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

func statementOf(a oci.Artifact) ([]byte, error) {
	if a.Err != nil {
		return nil, a.Err
	}
	if a.Kind == oci.KindDSSE {
		var env ssldsse.Envelope
		if err := json.Unmarshal(a.Content, &env); err != nil {
			return nil, fmt.Errorf("parsing DSSE envelope: %w", err)
		}
		return env.DecodeB64Payload()
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(a.BundleJSON()); err != nil {
		return nil, fmt.Errorf("parsing bundle: %w", err)
	}
	env, err := b.Envelope()
	if err != nil || env == nil {
		return nil, fmt.Errorf("bundle holds no DSSE envelope")
	}
	return env.DecodeB64Payload()
}
