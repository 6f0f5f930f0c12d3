package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Attached describes a manifest written by an Attach call.
type Attached struct {
	// Digest is the referrer (or legacy .sig) manifest's digest.
	Digest v1.Hash `json:"digest"`
	// Layout is where it was written.
	Layout Layout `json:"layout"`
	// Ref is the manifest's full reference.
	Ref string `json:"ref"`
	// Descriptor describes the manifest written (media type, digest,
	// size): what a signature of it names. Set for referrers.
	Descriptor v1.Descriptor `json:"-"`
}

// rawManifest lets remote.Put push bytes we serialised ourselves.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// AttachBundle stores a Sigstore bundle as an OCI 1.1 referrer of subject, in
// the shape cosign v3 writes: artifactType and config artifactType set to the
// bundle media type, config the empty descriptor, one layer holding the
// bundle, the given annotations on the manifest. Where the registry has no
// referrers API the fallback tag sha256-<hex> is updated, and read back to
// make sure the new entry is listed with its artifactType and annotations.
// A bundle up to the client's embedding size (WithEmbeddedBundles) is also
// embedded in the layer's descriptor, which saves readers a request.
func (c *Client) AttachBundle(ctx context.Context, subject *Target, bundle []byte, annotations map[string]string) (*Attached, error) {
	spec := bundleSpec(static.NewLayer(bundle, BundleMediaType), annotations)
	if int64(len(bundle)) <= c.embedMax {
		spec.embed = bundle
	}
	return c.attachReferrer(ctx, subject, spec)
}

// AttachBundleFile is AttachBundle for a bundle in a file, which is streamed
// to the registry rather than read into memory.
func (c *Client) AttachBundleFile(ctx context.Context, subject *Target, path string, annotations map[string]string) (*Attached, error) {
	l, err := newFileLayer(path, BundleMediaType)
	if err != nil {
		return nil, err
	}
	return c.attachReferrer(ctx, subject, bundleSpec(l, annotations))
}

func bundleSpec(layer v1.Layer, annotations map[string]string) referrerSpec {
	return referrerSpec{
		artifactType: BundleMediaType, configArtifactType: BundleMediaType,
		layer: layer, layerMediaType: BundleMediaType, annotations: annotations,
	}
}

// AttachNotation stores a Notation signature envelope (JWS or COSE, by
// mediaType) as a referrer of subject, in the shape Notation writes:
// artifactType application/vnd.cncf.notary.signature, the empty config {}
// (of that media type too, as the Notary Project specifies), one
// layer holding the envelope, the given annotations (the certificate chain's
// thumbprints, see notary.ThumbprintAnnotation) and, unless given,
// org.opencontainers.image.created. Where the registry has no referrers API
// the fallback tag is updated, as for bundles.
func (c *Client) AttachNotation(ctx context.Context, subject *Target, envelope []byte, mediaType string, annotations map[string]string) (*Attached, error) {
	if mediaType != notationJWS && mediaType != notationCOSE {
		return nil, fmt.Errorf("attaching a Notation signature: envelope media type %q is neither %s nor %s", mediaType, notationJWS, notationCOSE)
	}
	mt := types.MediaType(mediaType)
	return c.attachReferrer(ctx, subject, referrerSpec{
		// The Notary Project's signature specification: the config's media
		// type is the signature artifact type (its content the empty {}).
		artifactType: NotationArtifactType, configMediaType: NotationArtifactType,
		layer: static.NewLayer(envelope, mt), layerMediaType: mt, annotations: withCreated(annotations),
	})
}

// AttachAttestation stores an attestation document as an attestation
// artifact of subject, in the shape Notation users attach them (oras
// attach): artifactType mediaType (InTotoMediaType, SPDXMediaType or
// CycloneDXMediaType), the empty config, one layer of that type holding the
// document, the given annotations and, unless given,
// org.opencontainers.image.created. Such an artifact counts only once
// signed: its Attached.Descriptor is what a Notation signature names.
func (c *Client) AttachAttestation(ctx context.Context, subject *Target, doc []byte, mediaType string, annotations map[string]string) (*Attached, error) {
	if !IsAttestationArtifactType(mediaType) {
		return nil, fmt.Errorf("attaching an attestation artifact: document type %q is none of %s, %s, %s", mediaType, InTotoMediaType, SPDXMediaType, CycloneDXMediaType)
	}
	mt := types.MediaType(mediaType)
	return c.attachReferrer(ctx, subject, referrerSpec{
		artifactType: mediaType, layer: static.NewLayer(doc, mt), layerMediaType: mt, annotations: withCreated(annotations),
	})
}

// withCreated is annotations with org.opencontainers.image.created (now)
// unless they have it.
func withCreated(annotations map[string]string) map[string]string {
	ann := maps.Clone(annotations)
	if ann == nil {
		ann = map[string]string{}
	}
	if _, ok := ann[AnnotationCreated]; !ok {
		ann[AnnotationCreated] = time.Now().UTC().Format(time.RFC3339)
	}
	return ann
}

// referrerSpec is what one referrer manifest holds: its artifactType (and
// the config's, when set), its single layer, and its annotations.
type referrerSpec struct {
	artifactType       string
	configMediaType    types.MediaType // default: the OCI empty descriptor's
	configArtifactType string
	layer              v1.Layer
	layerMediaType     types.MediaType
	annotations        map[string]string
	// embed, when set, is the layer's content, embedded in its descriptor.
	embed []byte
}

// attachReferrer writes a one-layer referrer manifest of subject: to the
// subject's store, or to the registry through the referrers API or, without
// one, the fallback tag (read back to make sure the entry is listed).
func (c *Client) attachReferrer(ctx context.Context, subject *Target, spec referrerSpec) (*Attached, error) {
	repo := subject.Digest.Context()
	raw, err := c.putReferrerBlobs(ctx, subject, spec)
	if err != nil {
		return nil, err
	}
	h, size, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	dst := repo.Digest(h.String())
	desc := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: size}
	if subject.store != nil {
		if err := subject.store.PutManifest(ctx, dst, raw, types.OCIManifestSchema1); err != nil {
			return nil, err
		}
		if l := subject.Layout(); l != nil {
			return &Attached{Digest: h, Layout: LayoutOCI, Ref: LayoutScheme + l.dir + "@" + h.String(), Descriptor: desc}, nil
		}
		return &Attached{Digest: h, Layout: LayoutReferrersAPI, Ref: dst.String(), Descriptor: desc}, nil
	}
	probe := &referrersProbe{subject: subject.Digest.DigestStr()}
	// Putting the same manifest again is harmless, so a read inside the put
	// (go-containerregistry reads the fallback tag) that came back broken
	// is retried with the whole put.
	for attempt := 1; ; attempt++ {
		err = remote.Put(dst, rawManifest{raw, types.OCIManifestSchema1}, c.remoteOpts(withProbe(ctx, probe), c.transport)...)
		if err == nil {
			break
		}
		if attempt >= readAttempts || !again(ctx, err) {
			return nil, registryErr(fmt.Sprintf("pushing referrer manifest %s", dst), err)
		}
		time.Sleep(backoff(attempt))
	}
	att := &Attached{Digest: h, Layout: LayoutReferrersAPI, Ref: dst.String(), Descriptor: desc}
	if probe.usedFallback() {
		att.Layout = LayoutFallbackTag
		entry := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: size, ArtifactType: spec.artifactType, Annotations: spec.annotations}
		if err := c.ensureFallbackEntry(ctx, subject.Digest, entry); err != nil {
			return nil, err
		}
	}
	return att, nil
}

// putReferrerBlobs writes the empty config and the layer, and returns the
// referrer manifest naming them.
func (c *Client) putReferrerBlobs(ctx context.Context, subject *Target, spec referrerSpec) ([]byte, error) {
	repo := subject.Digest.Context()
	cfgType := spec.configMediaType
	if cfgType == "" {
		cfgType = EmptyMediaType
	}
	cfg := static.NewLayer(emptyJSON, cfgType)
	var w Writer = c
	if subject.store != nil {
		w = subject.store
	}
	for _, l := range []v1.Layer{cfg, spec.layer} {
		if err := w.PutBlob(ctx, repo, l); err != nil {
			return nil, err
		}
	}
	cfgDesc, err := descriptorOf(cfg, cfgType)
	if err != nil {
		return nil, err
	}
	cfgDesc.ArtifactType = spec.configArtifactType
	layerDesc, err := descriptorOf(spec.layer, spec.layerMediaType)
	if err != nil {
		return nil, err
	}
	layerDesc.Data = spec.embed
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  spec.artifactType,
		Config:        cfgDesc,
		Layers:        []v1.Descriptor{layerDesc},
		Subject:       &v1.Descriptor{MediaType: subject.Descriptor.MediaType, Digest: subject.Descriptor.Digest, Size: subject.Descriptor.Size},
		Annotations:   spec.annotations,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding referrer manifest: %w", err)
	}
	return raw, nil
}

func descriptorOf(l v1.Layer, mt types.MediaType) (v1.Descriptor, error) {
	d, err := l.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	s, err := l.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: s}, nil
}

// FallbackTag returns the referrers fallback tag for d: sha256-<hex>.
func FallbackTag(d name.Digest) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1))
}

// LegacySignatureTag returns cosign's legacy signature tag for d: sha256-<hex>.sig.
func LegacySignatureTag(d name.Digest) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
}

// ensureFallbackEntry reads the fallback index back and adds entry if it is
// missing or lacks its artifactType (a concurrent writer may have replaced the
// index between another client's read and write). It retries a few times.
func (c *Client) ensureFallbackEntry(ctx context.Context, subject name.Digest, entry v1.Descriptor) error {
	tag := FallbackTag(subject)
	for attempt := 0; attempt < 4; attempt++ {
		im, err := c.fallbackIndex(ctx, tag)
		if err != nil {
			return fmt.Errorf("%w: refusing to overwrite it", err)
		}
		i := slices.IndexFunc(im.Manifests, func(d v1.Descriptor) bool { return d.Digest == entry.Digest })
		switch {
		case i >= 0 && im.Manifests[i].ArtifactType == entry.ArtifactType:
			return nil
		case i >= 0:
			im.Manifests[i] = entry // repair an entry written without its artifactType
		default:
			im.Manifests = append(im.Manifests, entry)
		}
		raw, err := json.Marshal(im)
		if err != nil {
			return fmt.Errorf("encoding fallback index: %w", err)
		}
		if err := remote.Put(tag, rawManifest{raw, types.OCIImageIndex}, c.remoteOpts(ctx, nil)...); err != nil {
			return registryErr(fmt.Sprintf("updating referrers fallback tag %s", tag), err)
		}
	}
	return fmt.Errorf("updating referrers fallback tag %s: %w: entry %s kept disappearing (concurrent writers)", tag, ErrRegistry, entry.Digest)
}

// fallbackIndex reads the index at the fallback tag; a missing tag is an empty index.
func (c *Client) fallbackIndex(ctx context.Context, tag name.Tag) (*v1.IndexManifest, error) {
	desc, err := c.get(ctx, tag)
	if isNotFound(err) {
		return &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}, nil
	}
	if err != nil {
		return nil, registryErr(fmt.Sprintf("reading referrers fallback tag %s", tag), err)
	}
	if desc.MediaType != types.OCIImageIndex {
		return nil, fmt.Errorf("referrers fallback tag %s holds %s, not an OCI image index", tag, desc.MediaType)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(desc.Manifest, &im); err != nil {
		return nil, fmt.Errorf("parsing referrers fallback tag %s: %w", tag, err)
	}
	im.MediaType = types.OCIImageIndex
	if im.SchemaVersion == 0 {
		im.SchemaVersion = 2
	}
	return &im, nil
}

// AttachLegacySignature adds a simple-signing payload and its base64
// signature as a layer of the sha256-<hex>.sig image, cosign v2's layout.
func (c *Client) AttachLegacySignature(ctx context.Context, subject *Target, payload []byte, sigB64 string) (*Attached, error) {
	return c.AttachLegacyLogged(ctx, subject, payload, sigB64, "")
}

// AttachLegacyLogged is AttachLegacySignature with the signature's Rekor v1
// log entry: logBundle, cosign v2's dev.sigstore.cosign/bundle JSON (none
// when empty).
func (c *Client) AttachLegacyLogged(ctx context.Context, subject *Target, payload []byte, sigB64, logBundle string) (*Attached, error) {
	if subject.store != nil {
		return nil, fmt.Errorf("writing cosign's legacy .sig tag for %s: supported in registries only, not in layouts or other stores; sign without the legacy layout (the bundle is written as a referrer)", subject.Reference())
	}
	tag := LegacySignatureTag(subject.Digest)
	base, err := c.legacyImage(ctx, tag)
	if err != nil {
		return nil, err
	}
	layer := static.NewLayer(payload, SimpleSigningMediaType)
	at, err := legacyLayerIndex(base, layer, sigB64)
	if err != nil {
		return nil, err
	}
	switch {
	case at < 0:
		ann := map[string]string{AnnotationLegacySignature: sigB64}
		if logBundle != "" {
			ann[AnnotationLegacyBundle] = logBundle
		}
		base, err = mutate.Append(base, mutate.Addendum{Layer: layer, Annotations: ann})
		if err != nil {
			return nil, fmt.Errorf("adding signature layer: %w", err)
		}
	case logBundle != "":
		// The same signature is there (a key that signs deterministically,
		// signed before without a log): it gets the entry just made, or
		// the signer would report a log entry the layer does not carry.
		if base, err = withLegacyBundle(base, at, logBundle); err != nil {
			return nil, err
		}
	}
	if err := remote.Write(tag, base, c.remoteOpts(ctx, nil)...); err != nil {
		return nil, registryErr(fmt.Sprintf("pushing %s", tag), err)
	}
	h, err := base.Digest()
	if err != nil {
		return nil, err
	}
	return &Attached{Digest: h, Layout: LayoutLegacyTag, Ref: tag.String()}, nil
}

func (c *Client) legacyImage(ctx context.Context, tag name.Tag) (v1.Image, error) {
	img, err := remote.Image(tag, c.remoteOpts(ctx, nil)...)
	if isNotFound(err) {
		return mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), nil
	}
	if err != nil {
		return nil, registryErr(fmt.Sprintf("reading %s", tag), err)
	}
	return img, nil
}

// legacyLayerIndex returns the index of layer with signature sigB64 in img,
// or -1.
func legacyLayerIndex(img v1.Image, layer v1.Layer, sigB64 string) (int, error) {
	m, err := img.Manifest()
	if err != nil {
		return -1, fmt.Errorf("reading legacy signature manifest: %w", err)
	}
	want, err := layer.Digest()
	if err != nil {
		return -1, err
	}
	for i, l := range m.Layers {
		if l.Digest == want && l.Annotations[AnnotationLegacySignature] == sigB64 {
			return i, nil
		}
	}
	return -1, nil
}

// withLegacyBundle returns img with layer at annotated with logBundle (the
// dev.sigstore.cosign/bundle annotation), replacing any it had; the other
// layers and their annotations are kept, in order.
func withLegacyBundle(img v1.Image, at int, logBundle string) (v1.Image, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading legacy signature manifest: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading legacy signature layers: %w", err)
	}
	out := mutate.ConfigMediaType(mutate.MediaType(empty.Image, m.MediaType), m.Config.MediaType)
	for i, l := range layers {
		ann := maps.Clone(m.Layers[i].Annotations)
		if i == at {
			if ann == nil {
				ann = map[string]string{}
			}
			ann[AnnotationLegacyBundle] = logBundle
		}
		if out, err = mutate.Append(out, mutate.Addendum{Layer: l, Annotations: ann, MediaType: m.Layers[i].MediaType}); err != nil {
			return nil, fmt.Errorf("rewriting signature layer %d: %w", i, err)
		}
	}
	if len(m.Annotations) > 0 {
		out = mutate.Annotations(out, m.Annotations).(v1.Image)
	}
	return out, nil
}
