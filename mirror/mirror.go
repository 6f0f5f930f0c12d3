// Package mirror copies an image or index from one store to another (a
// registry or an OCI image layout) with everything attached to it: Sigstore
// bundles and other OCI 1.1 referrers, the referrers fallback tag, cosign's
// legacy sha256-<hex>.sig/.att/.sbom tags and the repository's signed tag
// heads. Manifests are copied as stored, byte for byte, so every digest is
// preserved and every signature over one still verifies. Whatever the
// destination already holds (by digest) is skipped, so a copy that stopped
// half-way resumes where it stopped.
package mirror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/oci"
)

// Source is where a copy reads from: a registry (*oci.Client) or a layout
// (*oci.LayoutDir). Layer streams a blob of any size (image layers); the
// Reader's Blob is capped for signatures.
type Source interface {
	oci.Reader
	Layer(ctx context.Context, repo name.Repository, desc v1.Descriptor) (v1.Layer, error)
}

// Destination is where a copy writes to. It is read too, to skip what it
// already holds.
type Destination interface {
	oci.Store
}

// referrerPutter is a destination that lists a pushed referrer itself
// (a registry, which may need its referrers fallback tag kept up to date).
type referrerPutter interface {
	PutReferrer(ctx context.Context, subject name.Digest, raw []byte, mt types.MediaType, entry v1.Descriptor) (oci.Layout, error)
}

// Kind is what a copied item is.
type Kind string

// Kinds of copied items; each can be selected on its own (Request.Only).
const (
	KindImage       Kind = "image"        // the image or index, its platform manifests and blobs
	KindSignature   Kind = "signature"    // Sigstore bundles signing the image, legacy .sig tags
	KindAttestation Kind = "attestation"  // Sigstore bundles of other predicates, legacy .att tags
	KindSBOM        Kind = "sbom"         // legacy .sbom tags, SBOM referrers (SPDX, CycloneDX)
	KindReferrer    Kind = "referrer"     // any other referrer
	KindFallbackTag Kind = "fallback-tag" // the referrers fallback tag sha256-<hex>, into a layout
	KindTagHeads    Kind = "tag-heads"    // the repository's signed tag heads (taghead, tag signet-tuf)
)

// Kinds lists every kind, in the order a copy writes them.
var Kinds = []Kind{KindImage, KindSignature, KindAttestation, KindSBOM, KindReferrer, KindFallbackTag, KindTagHeads}

// tagHeadsTag is the tag of the signed-tag-heads artifact (taghead.MetadataTag;
// not imported: taghead brings TUF along).
const tagHeadsTag = "signet-tuf"

// maxDepth bounds referrers of referrers (a signature on an attestation).
const maxDepth = 4

// ParseOnly parses a comma-separated list of kinds; plurals are accepted
// (signatures, attestations, sboms, referrers) and "all" is every kind.
func ParseOnly(s string) ([]Kind, error) {
	var out []Kind
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if f == "all" {
			return slices.Clone(Kinds), nil
		}
		k := Kind(strings.TrimSuffix(f, "s"))
		if f == "tag-heads" || f == "fallback-tag" {
			k = Kind(f)
		}
		if !slices.Contains(Kinds, k) {
			return nil, fmt.Errorf("%q is not something copy can select: use one or more of image, signatures, attestations, sboms, referrers, fallback-tag, tag-heads (comma-separated)", f)
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, errors.New("nothing selected: name one or more of image, signatures, attestations, sboms, referrers, fallback-tag, tag-heads")
	}
	return out, nil
}

// ErrConflict means the destination holds a different manifest under a tag
// the copy would write (a legacy signature tag, the signed tag heads):
// overwriting it would drop what it holds.
var ErrConflict = errors.New("the destination holds something else under that tag")

// Request is one copy.
type Request struct {
	// Src is read from; SrcRef names the image in it (tag or digest).
	Src    Source
	SrcRef name.Reference
	// Dst is written to, in DstRepo (a layout ignores it), under DstTag
	// when not empty.
	Dst     Destination
	DstRepo name.Repository
	DstTag  string
	// Only selects what is copied; nil copies everything.
	Only []Kind
	// Progress, when set, is called for every item copied or skipped.
	Progress func(Item)

	wantDigest string // Endpoints: the destination was named by this digest
}

// Item is one manifest (with its blobs) the copy wrote or found there.
type Item struct {
	Kind Kind `json:"kind"`
	// Digest is the manifest's digest, the same on both sides.
	Digest string `json:"digest"`
	// Tag is the tag it is listed under, if any.
	Tag string `json:"tag,omitempty"`
	// Subject is the digest it is attached to, if any.
	Subject string `json:"subject,omitempty"`
	// Copied is false when the destination already had it.
	Copied bool `json:"copied"`
}

// Result is what a copy did.
type Result struct {
	// Digest and MediaType are the image's.
	Digest    string          `json:"digest"`
	MediaType types.MediaType `json:"mediaType"`
	Items     []Item          `json:"items"`
	Copied    int             `json:"copied"`
	Skipped   int             `json:"skipped"`
}

type copier struct {
	Request
	srcRepo name.Repository
	only    map[Kind]bool
	res     *Result
	seen    map[string]bool // manifests already walked for attachments
	done    map[string]bool // manifests copied or found at the destination
}

// Copy copies req.SrcRef from req.Src to req.Dst with what is attached to
// it. It stops at the first error; what was copied stays, and a re-run
// skips it.
func Copy(ctx context.Context, req Request) (*Result, error) {
	c := &copier{Request: req, srcRepo: req.SrcRef.Context(), res: &Result{}, seen: map[string]bool{}, done: map[string]bool{}, only: map[Kind]bool{}}
	kinds := req.Only
	if kinds == nil {
		kinds = Kinds
	}
	for _, k := range kinds {
		c.only[k] = true
	}
	m, err := req.Src.Get(ctx, req.SrcRef)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", req.SrcRef, err)
	}
	c.res.Digest, c.res.MediaType = m.Descriptor.Digest.String(), m.Descriptor.MediaType
	if err := req.checkDigest(c.res.Digest); err != nil {
		return nil, err
	}
	if err := req.checkDigest(c.res.Digest); err != nil {
		return nil, err
	}
	if c.only[KindImage] {
		if err := c.copyManifest(ctx, m, KindImage, req.DstTag, ""); err != nil {
			return c.res, err
		}
	}
	subjects := []v1.Descriptor{m.Descriptor}
	if m.Descriptor.MediaType.IsIndex() {
		im, err := v1.ParseIndexManifest(strings.NewReader(string(m.Raw)))
		if err != nil {
			return c.res, fmt.Errorf("parsing index %s: %w", m.Descriptor.Digest, err)
		}
		for _, d := range im.Manifests {
			if d.MediaType.IsImage() || d.MediaType.IsIndex() {
				subjects = append(subjects, d)
			}
		}
	}
	for _, s := range subjects {
		if err := c.attached(ctx, s.Digest, 0); err != nil {
			return c.res, err
		}
	}
	if c.only[KindTagHeads] {
		if err := c.tagged(ctx, tagHeadsTag, KindTagHeads, ""); err != nil {
			return c.res, err
		}
	}
	return c.res, nil
}

func (c *copier) report(it Item) {
	if it.Tag == "" {
		c.done[it.Digest] = true
	}
	c.res.Items = append(c.res.Items, it)
	if it.Copied {
		c.res.Copied++
	} else {
		c.res.Skipped++
	}
	if c.Progress != nil {
		c.Progress(it)
	}
}

// attached copies what is attached to the manifest d: its referrers (and
// theirs), its fallback tag into a layout, its legacy tags.
func (c *copier) attached(ctx context.Context, d v1.Hash, depth int) error {
	if c.seen[d.String()] || depth >= maxDepth {
		return nil
	}
	c.seen[d.String()] = true
	subject := c.srcRepo.Digest(d.String())
	refs, _, err := c.Src.Referrers(ctx, subject)
	if err != nil {
		return fmt.Errorf("listing the referrers of %s: %w", d, err)
	}
	for _, desc := range refs.Manifests {
		m, err := c.Src.Get(ctx, c.srcRepo.Digest(desc.Digest.String()))
		if err != nil {
			return fmt.Errorf("reading referrer %s of %s: %w", desc.Digest, d, err)
		}
		k := referrerKind(m.Raw)
		if c.only[k] && !c.done[desc.Digest.String()] {
			if err := c.copyManifest(ctx, m, k, "", d.String()); err != nil {
				return err
			}
		}
		if k == KindAttestation && c.only[k] {
			if err := c.followDetached(ctx, m, d.String()); err != nil {
				return err
			}
		}
		if err := c.attached(ctx, desc.Digest, depth+1); err != nil {
			return err
		}
	}
	if err := c.fallbackTag(ctx, subject); err != nil {
		return err
	}
	prefix := strings.Replace(d.String(), ":", "-", 1)
	for _, l := range []struct {
		suffix string
		kind   Kind
	}{{".sig", KindSignature}, {".att", KindAttestation}, {".sbom", KindSBOM}} {
		if !c.only[l.kind] {
			continue
		}
		if err := c.tagged(ctx, prefix+l.suffix, l.kind, d.String()); err != nil {
			return err
		}
	}
	return nil
}

// fallbackTag copies the referrers fallback tag into a layout as it is. A
// registry gets its own, kept by PutReferrer. It is copied only with every
// referrer kind, or it could list referrers the layout lacks.
func (c *copier) fallbackTag(ctx context.Context, subject name.Digest) error {
	if _, ok := c.Dst.(referrerPutter); ok || !c.only[KindFallbackTag] {
		return nil
	}
	for _, k := range []Kind{KindSignature, KindAttestation, KindSBOM, KindReferrer} {
		if !c.only[k] {
			return nil
		}
	}
	return c.tagged(ctx, oci.FallbackTag(subject).TagStr(), KindFallbackTag, subject.DigestStr())
}

// tagged copies the manifest at tag in the source, if there is one, to the
// same tag. A different manifest already there is a conflict, not
// overwritten.
func (c *copier) tagged(ctx context.Context, tag string, k Kind, subject string) error {
	m, err := c.Src.Get(ctx, c.srcRepo.Tag(tag))
	if errors.Is(err, oci.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading tag %s: %w", tag, err)
	}
	have, err := c.Dst.Get(ctx, c.DstRepo.Tag(tag))
	switch {
	case errors.Is(err, oci.ErrNotFound):
	case err != nil:
		return fmt.Errorf("reading tag %s at the destination: %w", tag, err)
	case have.Descriptor.Digest != m.Descriptor.Digest && k != KindFallbackTag:
		return fmt.Errorf("copying tag %s: %w: the source has %s, the destination %s; overwriting would drop what the destination's holds — copy into a repository without it, or remove the tag there first", tag, ErrConflict, m.Descriptor.Digest, have.Descriptor.Digest)
	}
	return c.copyManifest(ctx, m, k, tag, subject)
}

// copyManifest copies m (its blobs or child manifests first) unless the
// destination has it under tag (or, untagged, by digest).
func (c *copier) copyManifest(ctx context.Context, m *oci.Manifest, k Kind, tag, subject string) error {
	it := Item{Kind: k, Digest: m.Descriptor.Digest.String(), Tag: tag, Subject: subject}
	ref := name.Reference(c.DstRepo.Digest(it.Digest))
	if tag != "" {
		ref = c.DstRepo.Tag(tag)
	}
	if have, err := c.Dst.Get(ctx, ref); err == nil && have.Descriptor.Digest == m.Descriptor.Digest {
		c.report(it)
		return nil
	} else if err != nil && !errors.Is(err, oci.ErrNotFound) {
		return fmt.Errorf("checking %s at the destination: %w", ref, err)
	}
	if err := c.contents(ctx, m); err != nil {
		return err
	}
	if err := c.put(ctx, ref, m); err != nil {
		return err
	}
	it.Copied = true
	c.report(it)
	return nil
}

// contents copies what m refers to: an index's manifests, an image's
// config and layers. A blob the destination has is not sent again.
func (c *copier) contents(ctx context.Context, m *oci.Manifest) error {
	if m.Descriptor.MediaType.IsIndex() {
		im, err := v1.ParseIndexManifest(strings.NewReader(string(m.Raw)))
		if err != nil {
			return fmt.Errorf("parsing index %s: %w", m.Descriptor.Digest, err)
		}
		for _, d := range im.Manifests {
			if err := c.child(ctx, d); err != nil {
				return err
			}
		}
		return nil
	}
	var man v1.Manifest
	if err := json.Unmarshal(m.Raw, &man); err != nil {
		return fmt.Errorf("parsing manifest %s: %w", m.Descriptor.Digest, err)
	}
	for _, d := range append([]v1.Descriptor{man.Config}, man.Layers...) {
		if d.Digest.Hex == "" {
			continue
		}
		if len(d.URLs) > 0 {
			continue // a foreign layer: it lives at its URLs, not in the registry
		}
		l, err := c.Src.Layer(ctx, c.srcRepo, d)
		if err != nil {
			return fmt.Errorf("reading blob %s of %s: %w", d.Digest, m.Descriptor.Digest, err)
		}
		if err := c.Dst.PutBlob(ctx, c.DstRepo, l); err != nil {
			return fmt.Errorf("writing blob %s of %s: %w", d.Digest, m.Descriptor.Digest, err)
		}
	}
	return nil
}

// child copies a manifest an index lists. Into a layout it goes into
// blobs/ only: index.json lists what was copied, not its parts.
func (c *copier) child(ctx context.Context, d v1.Descriptor) error {
	if !d.MediaType.IsImage() && !d.MediaType.IsIndex() {
		return nil
	}
	ref := c.DstRepo.Digest(d.Digest.String())
	if _, err := c.Dst.Get(ctx, ref); err == nil {
		return nil
	}
	m, err := c.Src.Get(ctx, c.srcRepo.Digest(d.Digest.String()))
	if err != nil {
		return fmt.Errorf("reading manifest %s: %w", d.Digest, err)
	}
	if err := c.contents(ctx, m); err != nil {
		return err
	}
	if l, ok := c.Dst.(*oci.LayoutDir); ok {
		return l.PutBlob(ctx, c.DstRepo, static.NewLayer(m.Raw, m.Descriptor.MediaType))
	}
	return c.put(ctx, ref, m)
}

// put writes m's bytes, as read, under ref.
func (c *copier) put(ctx context.Context, ref name.Reference, m *oci.Manifest) error {
	var sub struct {
		Subject      *v1.Descriptor    `json:"subject"`
		ArtifactType string            `json:"artifactType"`
		Config       v1.Descriptor     `json:"config"`
		Annotations  map[string]string `json:"annotations"`
	}
	_ = json.Unmarshal(m.Raw, &sub)
	if rp, ok := c.Dst.(referrerPutter); ok && sub.Subject != nil {
		if _, isDigest := ref.(name.Digest); isDigest {
			at := sub.ArtifactType
			if at == "" {
				at = string(sub.Config.MediaType)
			}
			entry := v1.Descriptor{MediaType: m.Descriptor.MediaType, Digest: m.Descriptor.Digest, Size: m.Descriptor.Size, ArtifactType: at, Annotations: sub.Annotations}
			if _, err := rp.PutReferrer(ctx, c.DstRepo.Digest(sub.Subject.Digest.String()), m.Raw, m.Descriptor.MediaType, entry); err != nil {
				return fmt.Errorf("writing referrer %s: %w", m.Descriptor.Digest, err)
			}
			return nil
		}
	}
	if err := c.Dst.PutManifest(ctx, ref, m.Raw, m.Descriptor.MediaType); err != nil {
		return fmt.Errorf("writing %s: %w", ref, err)
	}
	return nil
}

// referrerKind classifies a referrer manifest by its artifact type and
// annotations (unsigned: they choose what is copied, never what is trusted).
func referrerKind(raw []byte) Kind {
	var m struct {
		ArtifactType string            `json:"artifactType"`
		Config       v1.Descriptor     `json:"config"`
		Annotations  map[string]string `json:"annotations"`
		Layers       []v1.Descriptor   `json:"layers"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return KindReferrer
	}
	at := m.ArtifactType
	if at == "" {
		at = string(m.Config.MediaType)
	}
	if at == oci.EmptyMediaType && len(m.Layers) == 1 {
		at = string(m.Layers[0].MediaType) // an artifact pushed without its type: its one layer's
	}
	lower := strings.ToLower(at)
	switch {
	case strings.HasPrefix(at, "application/vnd.dev.sigstore.bundle"):
		pt := m.Annotations[oci.AnnotationPredicateType]
		if pt == "" || pt == oci.CosignSignPredicateType || m.Annotations[oci.AnnotationBundleContent] == "message-signature" {
			return KindSignature
		}
		return KindAttestation
	case strings.Contains(lower, "spdx"), strings.Contains(lower, "cyclonedx"), strings.Contains(lower, "sbom"):
		return KindSBOM
	}
	return KindReferrer
}
