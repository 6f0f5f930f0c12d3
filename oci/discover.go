package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Kind classifies an attached artifact.
type Kind string

// Artifact kinds.
const (
	// KindBundle is a Sigstore bundle in a referrer manifest.
	KindBundle Kind = "sigstore-bundle"
	// KindSimpleSigning is a legacy simple-signing payload in a .sig layer.
	KindSimpleSigning Kind = "simple-signing"
	// KindDSSE is a legacy DSSE envelope in a .att layer (cosign v2 attestations).
	KindDSSE Kind = "dsse-envelope"
	// KindOther is a referrer of another type (an SBOM pushed by another tool, say).
	KindOther Kind = "other"
)

// Artifact is one thing attached to an image, as found in the registry. Its
// content has not been verified.
type Artifact struct {
	// Layout is where it was found.
	Layout Layout `json:"layout"`
	// Manifest is the digest of the referrer manifest or of the .sig manifest.
	Manifest v1.Hash `json:"manifest"`
	// ArtifactType is the manifest's artifactType (or config media type).
	ArtifactType string `json:"artifactType,omitempty"`
	// Kind classifies it.
	Kind Kind `json:"kind"`
	// Annotations are the manifest's (bundle) or the layer's (legacy) annotations.
	Annotations map[string]string `json:"annotations,omitempty"`
	// MediaType is the media type of the envelope layer (Notation: JWS or COSE).
	MediaType string `json:"mediaType,omitempty"`
	// Content is the bundle JSON, the simple-signing payload or the Notation
	// envelope. A large bundle read from a registry is held in Parts
	// instead, and Content is nil: BundleJSON gives the bundle either way.
	Content []byte `json:"-"`
	// Parts holds a large bundle split (its DSSE payload decoded apart).
	Parts *BundleParts `json:"-"`
	// Signature is the legacy layer's base64 signature annotation.
	Signature string `json:"-"`
	// Err says why the artifact could not be read; Content is then empty.
	Err error `json:"-"`

	// ManifestMediaType and ManifestSize describe the referrer manifest as
	// read (an attestation artifact's: what a Notation signature of it
	// names, with Manifest).
	ManifestMediaType string `json:"-"`
	ManifestSize      int64  `json:"-"`
	// Signatures are the Notation signatures of an attestation artifact
	// (referrers of its manifest), filled by ReadAttestationSignatures;
	// SignaturesRead says it looked, Unread what it left unread (a cap).
	Signatures     []Artifact `json:"-"`
	SignaturesRead bool       `json:"-"`
	Unread         string     `json:"-"`
}

// BundleJSON returns the bundle's JSON as it was read, joining Parts.
func (a *Artifact) BundleJSON() []byte {
	if a.Parts != nil {
		return a.Parts.Join()
	}
	return a.Content
}

// PredicateType returns the predicate type the annotations claim (a
// referrer's dev.sigstore.bundle.predicateType, a legacy .att layer's
// predicateType). They are unsigned: verifiers check the statement.
func (a *Artifact) PredicateType() string {
	if pt := a.Annotations[AnnotationPredicateType]; pt != "" {
		return pt
	}
	return a.Annotations[AnnotationLegacyPredicateType]
}

// Discover lists what is attached to the image t in every layout: the
// referrers API (or its fallback tag) and cosign's legacy .sig tag. Artifacts
// that cannot be read are returned with Err set; only failures to talk to the
// registry at all are returned as an error.
func (c *Client) Discover(ctx context.Context, t *Target) ([]Artifact, error) {
	return c.DiscoverLegacy(ctx, t, true, true)
}

// DiscoverLegacy is Discover reading cosign's legacy .sig tag only when sig
// is true and its .att tag only when att is true: a caller that wants only
// signatures saves a registry round trip per image. The referrers and the
// legacy tags are read at once: neither waits for the other's round trips.
func (c *Client) DiscoverLegacy(ctx context.Context, t *Target, sig, att bool) ([]Artifact, error) {
	var legacy []Artifact
	var lerr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		legacy, lerr = c.Legacy(ctx, t, sig, att)
	}()
	out, err := c.referrers(ctx, c.reader(t), t.Digest)
	<-done
	if err != nil {
		return nil, err
	}
	if lerr != nil {
		return nil, lerr
	}
	return append(out, legacy...), nil
}

// Legacy lists what cosign's legacy tags hold for t: the .sig tag's
// simple-signing layers (sig) and the .att tag's DSSE layers (att), both
// read at once.
func (c *Client) Legacy(ctx context.Context, t *Target, sig, att bool) ([]Artifact, error) {
	var suffixes []string
	if sig {
		suffixes = append(suffixes, ".sig")
	}
	if att {
		suffixes = append(suffixes, ".att")
	}
	found := make([][]Artifact, len(suffixes))
	errs := make([]error, len(suffixes))
	var wg sync.WaitGroup
	for i, suffix := range suffixes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			found[i], errs[i] = c.legacyLayers(ctx, c.reader(t), t.Digest, suffix)
		}()
	}
	wg.Wait()
	var out []Artifact
	for i := range suffixes {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, found[i]...)
	}
	return out, nil
}

func (c *Client) referrers(ctx context.Context, s Reader, d name.Digest) ([]Artifact, error) {
	im, layout, err := s.Referrers(ctx, d)
	if err != nil {
		return nil, err
	}
	if len(im.Manifests) > defaultMaxReferrersEntries {
		return nil, fmt.Errorf("listing referrers of %s: %d entries, more than the %d Signet reads", d, len(im.Manifests), defaultMaxReferrersEntries)
	}
	// Each referrer's manifest and content are read at once (a few at a
	// time): a signature and an attestation cost the round trips of one.
	out := make([]Artifact, len(im.Manifests))
	sem := make(chan struct{}, referrerReaders)
	var wg sync.WaitGroup
	for i, desc := range im.Manifests {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = readReferrer(ctx, s, d, desc, layout)
		}()
	}
	wg.Wait()
	return out, nil
}

// referrerReaders bounds the referrers of one image read at once.
const referrerReaders = 8

// referrersIndex lists d's referrers: through the referrers API, or, in a
// repository where this client already found the registry without one,
// straight from the fallback tag (saving the API request that would only
// answer 404). What a client learns is kept per repository: a registry may
// route repositories to different backends (proxies, virtual
// repositories), and one without the API must not hide, from another that
// has it, what was pushed through the API.
func (c *Client) referrersIndex(ctx context.Context, d name.Digest) (*v1.IndexManifest, Layout, error) {
	repo := d.Context().Name()
	if _, none := c.noReferrersAPI.Load(repo); none {
		im, err := c.fallbackIndex(ctx, FallbackTag(d))
		return im, LayoutFallbackTag, err
	}
	if _, known := c.referrersAPI.Load(repo); !known {
		if im, layout, ok := c.referrersOrFallback(ctx, d); ok {
			return im, layout, nil
		}
	}
	probe := &referrersProbe{subject: d.DigestStr()}
	var im *v1.IndexManifest
	var err error
	for attempt := 1; attempt <= readAttempts; attempt++ {
		var idx v1.ImageIndex
		if idx, err = remote.Referrers(d, c.remoteOpts(withProbe(ctx, probe), nil)...); err == nil {
			im, err = idx.IndexManifest()
		}
		if !again(ctx, err) {
			break
		}
		time.Sleep(backoff(attempt))
	}
	if err != nil {
		return nil, "", registryErr(fmt.Sprintf("listing referrers of %s", d), err)
	}
	if probe.usedFallback() {
		c.noReferrersAPI.Store(repo, true)
	}
	return im, probe.layout(), nil
}

// referrersOrFallback asks a registry not yet known to this client for d's
// referrers through the API and, at the same time, reads the fallback tag
// that a registry without the API is read through: one round trip instead
// of two one after the other, for one request more on a registry with the
// API, once. The tag's index is used only when the API's answer is one on
// which go-containerregistry would read the tag itself (the probe says), so
// what is listed is what the sequential read lists. Anything else — an
// error from either, an answer from neither — returns ok false, and the
// caller reads as before (with its retries).
func (c *Client) referrersOrFallback(ctx context.Context, d name.Digest) (*v1.IndexManifest, Layout, bool) {
	repo := d.Context().Name()
	tagCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	type read struct {
		im  *v1.IndexManifest
		err error
	}
	tag := make(chan read, 1)
	go func() {
		im, err := c.fallbackIndex(tagCtx, FallbackTag(d))
		tag <- read{im, err}
	}()
	probe := &referrersProbe{subject: d.DigestStr()}
	// Not through the client's Puller, whose own options would read the tag
	// after the API's answer.
	idx, err := remote.Referrers(d, append(c.remoteOpts(withProbe(ctx, probe), c.transport), remote.WithReferrersTagFallback(false))...)
	if err == nil {
		cancel()
		<-tag
		im, err := idx.IndexManifest()
		if err != nil || probe.layout() != LayoutReferrersAPI {
			return nil, "", false
		}
		c.referrersAPI.Store(repo, true)
		return im, LayoutReferrersAPI, true
	}
	if !probe.notSupported() {
		cancel()
		<-tag
		return nil, "", false
	}
	r := <-tag
	if r.err != nil {
		return nil, "", false
	}
	if probe.usedFallback() { // as the sequential read would remember it
		c.noReferrersAPI.Store(repo, true)
	}
	return r.im, LayoutFallbackTag, true
}

// readReferrer fetches one referrer manifest of subject and, if it holds a
// bundle, a Notation signature or an attestation document, its content.
func readReferrer(ctx context.Context, s Reader, subject name.Digest, desc v1.Descriptor, layout Layout) Artifact {
	repo := subject.Context()
	a := Artifact{Layout: layout, Manifest: desc.Digest, ArtifactType: desc.ArtifactType, Kind: KindOther, Annotations: desc.Annotations}
	if !desc.MediaType.IsImage() {
		return a
	}
	got, err := s.Get(ctx, repo.Digest(desc.Digest.String()))
	if err != nil {
		a.Err = fmt.Errorf("reading referrer %s: %w", desc.Digest, err)
		return a
	}
	var m v1.Manifest
	if err := json.Unmarshal(got.Raw, &m); err != nil {
		a.Err = fmt.Errorf("parsing referrer manifest %s: %w", desc.Digest, err)
		return a
	}
	a.Annotations = m.Annotations
	a.ArtifactType = m.ArtifactType
	if a.ArtifactType == "" {
		a.ArtifactType = m.Config.ArtifactType
	}
	if a.ArtifactType == "" {
		a.ArtifactType = string(m.Config.MediaType)
	}
	if a.ArtifactType == NotationArtifactType {
		return readNotation(ctx, s, repo, desc, &m, a)
	}
	if _, ok := m.Annotations[AnnotationDetachedPredicate]; ok {
		return readDetachedPredicate(&m, a)
	}
	if IsAttestationArtifactType(a.ArtifactType) {
		return readAttestationArtifact(ctx, s, subject, got, &m, a)
	}
	if !strings.HasPrefix(a.ArtifactType, bundleMediaTypePrefix) {
		return a
	}
	a.Kind = KindBundle
	switch {
	case len(m.Layers) != 1:
		a.Err = fmt.Errorf("referrer %s claims a Sigstore bundle but has %d layers, not one bundle layer", desc.Digest, len(m.Layers))
		return a
	case !strings.HasPrefix(string(m.Layers[0].MediaType), bundleMediaTypePrefix):
		a.Err = fmt.Errorf("referrer %s claims a Sigstore bundle but its layer is of type %q, not a bundle", desc.Digest, m.Layers[0].MediaType)
		return a
	}
	a.Content, a.Parts, a.Err = readBundle(ctx, s, repo, m.Layers[0])
	return a
}

// readBlob fetches a small blob, refusing one larger than the client's cap
// before reading it and checking the digest of what it read. A body that
// comes back short or corrupted is fetched again (readAttempts in all), and
// is then a registry error — transient — not a bad artifact.
func (c *Client) readBlob(ctx context.Context, repo name.Repository, desc v1.Descriptor) ([]byte, error) {
	if desc.Size > c.maxBytes || desc.Size < 0 {
		return nil, fmt.Errorf("blob %s is %d bytes, over the %d-byte cap", desc.Digest, desc.Size, c.maxBytes)
	}
	if desc.Data != nil {
		return embedded(desc)
	}
	var b []byte
	var err error
	for attempt := 1; attempt <= readAttempts; attempt++ {
		if b, err = c.fetchBlob(ctx, repo, desc); !again(ctx, err) {
			break
		}
		time.Sleep(backoff(attempt))
	}
	if err != nil {
		return nil, registryErr(fmt.Sprintf("fetching blob %s", desc.Digest), err)
	}
	if int64(len(b)) != desc.Size {
		return nil, fmt.Errorf("blob %s: read %d bytes, descriptor says %d", desc.Digest, len(b), desc.Size)
	}
	return b, nil
}

// alteredHint says what to do about embedded content that is not its blob.
const alteredHint = "the manifest was changed after it was written; sign or attach again"

// embedded is the content desc embeds (its data, OCI image spec 1.1), as
// the registry's blob would be: it must have desc's size and digest, or it
// is refused (ErrCorrupt) rather than fetched instead. A digest of another
// algorithm than SHA-256 is refused too.
func embedded(desc v1.Descriptor) ([]byte, error) {
	if int64(len(desc.Data)) != desc.Size {
		return nil, fmt.Errorf("blob %s: its descriptor embeds %d bytes and says it has %d (%s): %w", desc.Digest, len(desc.Data), desc.Size, alteredHint, ErrCorrupt)
	}
	if desc.Digest.Algorithm != "sha256" {
		return nil, fmt.Errorf("blob %s: embedded content with a %s digest cannot be checked (only sha256): %w", desc.Digest, desc.Digest.Algorithm, ErrCorrupt)
	}
	h, _, err := v1.SHA256(bytes.NewReader(desc.Data))
	if err != nil {
		return nil, err
	}
	if h != desc.Digest {
		return nil, fmt.Errorf("blob %s: the content its descriptor embeds has digest %s (%s): %w", desc.Digest, h, alteredHint, ErrCorrupt)
	}
	return desc.Data, nil
}

// openBlob streams a blob; the reader checks its digest at its end.
func (c *Client) openBlob(ctx context.Context, repo name.Repository, desc v1.Descriptor) (io.ReadCloser, error) {
	l, err := remote.Layer(repo.Digest(desc.Digest.String()), c.remoteOpts(ctx, nil)...)
	if err != nil {
		return nil, err
	}
	return l.Compressed()
}

func (c *Client) fetchBlob(ctx context.Context, repo name.Repository, desc v1.Descriptor) ([]byte, error) {
	rc, err := c.openBlob(ctx, repo, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// Read one byte past the descriptor's size: a longer body is refused
	// there, never read on; a body of the right size is read to its end,
	// where the reader checks the digest.
	// The buffer has the size the descriptor says (the cap bounds it), so
	// a large bundle is not copied while a growing buffer doubles.
	b := make([]byte, desc.Size+1)
	n, err := io.ReadFull(io.LimitReader(rc, desc.Size+1), b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	b = b[:n]
	if int64(len(b)) > desc.Size {
		return nil, fmt.Errorf("blob %s is longer than its descriptor's %d bytes", desc.Digest, desc.Size)
	}
	return b, nil
}

// legacyLayers reads cosign's legacy sha256-<hex>.sig (simple-signing) or
// .att (DSSE) tag, one Artifact per layer.
func (c *Client) legacyLayers(ctx context.Context, s Reader, d name.Digest, suffix string) ([]Artifact, error) {
	tag := d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + suffix)
	got, err := s.Get(ctx, tag)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", tag, err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(got.Raw, &m); err != nil || !got.Descriptor.MediaType.IsImage() {
		kind := KindSimpleSigning
		if suffix == ".att" {
			kind = KindDSSE
		}
		return []Artifact{{Layout: LayoutLegacyTag, Manifest: got.Descriptor.Digest, Kind: kind,
			Err: fmt.Errorf("%s is not an image manifest (%s)", tag, got.Descriptor.MediaType)}}, nil
	}
	var out []Artifact
	for _, l := range m.Layers {
		a := Artifact{Layout: LayoutLegacyTag, Manifest: got.Descriptor.Digest, ArtifactType: string(l.MediaType), Kind: KindOther, Annotations: l.Annotations}
		switch {
		case suffix == ".sig" && l.MediaType == SimpleSigningMediaType:
			a.Kind = KindSimpleSigning
			a.Signature = l.Annotations[AnnotationLegacySignature]
			a.Content, a.Err = s.Blob(ctx, d.Context(), l)
		case suffix == ".att" && l.MediaType == DSSEMediaType:
			a.Kind = KindDSSE
			a.Content, a.Err = s.Blob(ctx, d.Context(), l)
		}
		out = append(out, a)
	}
	return out, nil
}
