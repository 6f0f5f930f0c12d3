package oci

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Notation signatures (the notary package has the same constants; oci does
// not import it).
const (
	// NotationArtifactType is the artifactType of a Notation signature manifest.
	NotationArtifactType = "application/vnd.cncf.notary.signature"
	notationJWS          = "application/jose+json"
	notationCOSE         = "application/cose"
)

// KindNotation is a Notation signature envelope (JWS or COSE) in a referrer
// manifest; Artifact.MediaType says which.
const KindNotation Kind = "notation"

// readNotation fills a with the envelope of the Notation signature manifest
// m: exactly one layer, of a JWS or COSE media type; anything else is an
// Artifact.Err.
func readNotation(ctx context.Context, s Reader, repo name.Repository, desc v1.Descriptor, m *v1.Manifest, a Artifact) Artifact {
	a.Kind = KindNotation
	if len(m.Layers) != 1 {
		a.Err = fmt.Errorf("referrer %s claims a Notation signature but has %d layers, not one envelope layer", desc.Digest, len(m.Layers))
		return a
	}
	mt := string(m.Layers[0].MediaType)
	if mt != notationJWS && mt != notationCOSE {
		a.Err = fmt.Errorf("referrer %s claims a Notation signature but its layer is of type %q, not %s or %s", desc.Digest, mt, notationJWS, notationCOSE)
		return a
	}
	a.MediaType = mt
	a.Content, a.Err = s.Blob(ctx, repo, m.Layers[0])
	return a
}
