package sign

import (
	"encoding/json"
	"fmt"
)

// SimpleSigningType is the critical.type of a cosign container signature.
const SimpleSigningType = "cosign container image signature"

// SimpleSigning is cosign's legacy signed payload (the "simple signing" format).
type SimpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// SimpleSigningPayload returns the legacy payload for an image digest.
func SimpleSigningPayload(repo, digest string, annotations map[string]string) ([]byte, error) {
	var p SimpleSigning
	p.Critical.Identity.DockerReference = repo
	p.Critical.Image.DockerManifestDigest = digest
	p.Critical.Type = SimpleSigningType
	if len(annotations) > 0 {
		p.Optional = make(map[string]any, len(annotations))
		for k, v := range annotations {
			p.Optional[k] = v
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding simple-signing payload: %w", err)
	}
	return b, nil
}
