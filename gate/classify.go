package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/signet-dev/signet/internal/lazyre"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
)

// kind is what a pushed manifest is, judged by its content — never by the
// shape of its tag, nor by a subject field, which anyone can give a runnable
// image.
type kind int

const (
	// kindImage is anything that is not provably about another image: a
	// runnable image, an index of images, an artifact the gate cannot place.
	// Pushed under a tag, it gets a verdict.
	kindImage kind = iota
	// kindSignature is a signature or attestation: Sigstore bundle,
	// simple-signing or DSSE layers and nothing a runtime could unpack.
	kindSignature
	// kindSummary is a verification summary (the gate's own, say).
	kindSummary
	// kindReferrers is a referrers fallback index: an index under
	// sha256-<hex> whose every entry is an artifact, not an image.
	kindReferrers
)

// manifest is the part of an image manifest or index the gate reads.
type manifest struct {
	MediaType    string `json:"mediaType"`
	ArtifactType string `json:"artifactType"`
	Config       *struct {
		MediaType string `json:"mediaType"`
	} `json:"config"`
	Layers []struct {
		MediaType string `json:"mediaType"`
	} `json:"layers"`
	Manifests []struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
	} `json:"manifests"`
	Subject *struct {
		Digest string `json:"digest"`
	} `json:"subject"`
	Annotations map[string]string `json:"annotations"`
}

// indexTypes are the media types of indexes (manifest lists).
var indexTypes = map[string]bool{
	"application/vnd.oci.image.index.v1+json":                   true,
	"application/vnd.docker.distribution.manifest.list.v2+json": true,
}

// fallbackTag matches the referrers fallback tag, sha256-<hex>.
var fallbackTag = lazyre.New(`^sha256-([0-9a-f]{64})$`)

// maxFallbackEntries bounds the entries of a fallback index the gate reads
// to tell it from an index of images; a longer one is judged as an image.
const maxFallbackEntries = 1000

// parseManifest reads a pushed manifest; mediaType is what the registry
// served it as.
func parseManifest(raw []byte, mediaType string) (*manifest, error) {
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("parsing the pushed manifest: %w", err)
	}
	if mediaType != "" {
		m.MediaType = mediaType
	}
	return &m, nil
}

func (m *manifest) isIndex() bool { return indexTypes[m.MediaType] }

// sigstoreLayer says whether a layer media type is one of Sigstore's
// signature or attestation formats.
func sigstoreLayer(mt string) bool {
	return mt == oci.SimpleSigningMediaType || mt == oci.DSSEMediaType ||
		strings.HasPrefix(mt, "application/vnd.dev.sigstore.bundle")
}

// filesystemLayer says whether a runtime could unpack a layer of media type
// mt into a root filesystem. An empty or unknown tar type counts, so the
// gate errs towards judging.
func filesystemLayer(mt string) bool {
	return mt == "" || strings.HasPrefix(mt, "application/vnd.oci.image.layer.") ||
		strings.HasPrefix(mt, "application/vnd.docker.image.rootfs.") || strings.Contains(mt, "tar")
}

// runnable says whether a runtime could run what m describes: an index
// (it may hold images), or a manifest with a layer a runtime unpacks.
func (m *manifest) runnable() bool {
	if m.isIndex() || m.Manifests != nil {
		return true
	}
	for _, l := range m.Layers {
		if filesystemLayer(l.MediaType) {
			return true
		}
	}
	return false
}

// signatureTypes are the manifest media types signatures are stored as;
// anything else (Docker's schema 1, whose layers are fsLayers the gate does
// not read, say) is judged as an image.
var signatureTypes = map[string]bool{
	"application/vnd.oci.image.manifest.v1+json":           true,
	"application/vnd.docker.distribution.manifest.v2+json": true,
}

// signature says whether m is a signature or attestation: an image manifest
// of Sigstore layers only (cosign's and Signet's referrers, legacy .sig and
// .att images) and nothing runnable.
func (m *manifest) signature() bool {
	if !signatureTypes[m.MediaType] || m.runnable() || len(m.Layers) == 0 {
		return false
	}
	for _, l := range m.Layers {
		if !sigstoreLayer(l.MediaType) {
			return false
		}
	}
	return true
}

// classify says what a pushed manifest is. Only an index under the fallback
// tag needs more reading: its entries, each of which must be an artifact
// and not an image.
func (g *Gate) classify(ctx context.Context, j *job, m *manifest) (kind, error) {
	switch {
	case m.signature() && m.Subject != nil && m.Annotations[oci.AnnotationPredicateType] == policy.VSAPredicateType:
		return kindSummary, nil
	case m.signature():
		return kindSignature, nil
	case m.isIndex() && fallbackTag.MatchString(j.Tag):
		return g.classifyFallback(ctx, j, m)
	}
	return kindImage, nil
}

// classifyFallback tells a referrers fallback index (every entry an
// artifact: a signature, an attestation, an SBOM) from an index of images
// pushed under a tag of that shape. An entry that is missing counts as an
// image: it may be pushed later.
func (g *Gate) classifyFallback(ctx context.Context, j *job, m *manifest) (kind, error) {
	if len(m.Manifests) > maxFallbackEntries {
		return kindImage, nil
	}
	for _, e := range m.Manifests {
		if indexTypes[e.MediaType] || !digestRe.MatchString(e.Digest) {
			return kindImage, nil
		}
		raw, mt, err := g.cfg.Client.Manifest(ctx, g.ref(j.Repository, e.Digest))
		if errors.Is(err, oci.ErrNotFound) {
			return kindImage, nil
		}
		if err != nil {
			return kindImage, fmt.Errorf("reading entry %s of %s:%s: %w", e.Digest, j.Repository, j.Tag, err)
		}
		entry, err := parseManifest(raw, mt)
		if err != nil || entry.runnable() {
			return kindImage, nil
		}
	}
	return kindReferrers, nil
}

// subjectOf is the digest a signature or summary is about: its subject
// field, or the digest its legacy tag (sha256-<hex>.sig, .att) names.
func subjectOf(j *job, m *manifest) string {
	if m.Subject != nil && digestRe.MatchString(m.Subject.Digest) {
		return m.Subject.Digest
	}
	if s := sigTag.FindStringSubmatch(j.Tag); s != nil {
		return "sha256:" + s[1]
	}
	return ""
}
