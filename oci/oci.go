// Package oci finds and attaches signatures on images in OCI registries.
//
// Signatures are written the way cosign v3 writes them: one referrer manifest
// per Sigstore bundle, found through the OCI 1.1 referrers API or, where a
// registry lacks it, the referrers fallback tag (sha256-<hex>). The package
// also reads, and on request writes, cosign's legacy layout: a
// sha256-<hex>.sig tag whose layers are simple-signing payloads.
package oci

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Media types and annotations of the formats the package reads and writes.
const (
	BundleMediaType        = "application/vnd.dev.sigstore.bundle.v0.3+json"
	EmptyMediaType         = "application/vnd.oci.empty.v1+json"
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	DSSEMediaType          = "application/vnd.dsse.envelope.v1+json"

	AnnotationBundleContent       = "dev.sigstore.bundle.content"
	AnnotationPredicateType       = "dev.sigstore.bundle.predicateType"
	AnnotationCreated             = "org.opencontainers.image.created"
	AnnotationLegacySignature     = "dev.cosignproject.cosign/signature"
	AnnotationLegacyBundle        = "dev.sigstore.cosign/bundle"
	AnnotationLegacyCert          = "dev.sigstore.cosign/certificate"
	AnnotationLegacyCertChain     = "dev.sigstore.cosign/chain"
	AnnotationLegacyPredicateType = "predicateType"
	CosignSignPredicateType       = "https://sigstore.dev/cosign/sign/v1"
	bundleMediaTypePrefix         = "application/vnd.dev.sigstore.bundle"
	defaultMaxArtifactBytes       = 8 << 20
	defaultMaxReferrersEntries    = 1000
)

// emptyJSON is the OCI empty descriptor's content.
var emptyJSON = []byte("{}")

// Layout says where a signature was found or written.
type Layout string

// Storage layouts.
const (
	LayoutReferrersAPI Layout = "referrers-api"
	LayoutFallbackTag  Layout = "fallback-tag"
	LayoutLegacyTag    Layout = "legacy-tag"
)

// ErrRegistry marks errors talking to a registry (network, auth, server), as
// opposed to content that was read and found wanting.
var ErrRegistry = errors.New("registry error")

// ErrNotFound means the image or manifest does not exist in the registry.
var ErrNotFound = errors.New("not found in registry")

// Client talks to registries. It is safe for concurrent use.
type Client struct {
	keychain  authn.Keychain
	transport http.RoundTripper
	nameOpts  []name.Option
	maxBytes  int64

	pullerOnce        sync.Once
	puller            *remote.Puller
	attempts, perHost int
	embedMax          int64 // bundles up to this size are embedded in their referrer manifest
	store             Store // nil: the registries themselves
	layouts           bool
	layoutRepo        string
	layoutDirs        sync.Map // cleaned dir -> *LayoutDir, one per directory (its write lock)
	// noReferrersAPI remembers repositories whose registry answered the
	// referrers API with 404 (repository name -> true); referrersAPI those
	// where it answered with an index.
	noReferrersAPI, referrersAPI sync.Map
}

// Option configures a Client.
type Option func(*Client)

// WithKeychain sets where credentials come from. Default: the docker config
// keychain (authn.DefaultKeychain).
func WithKeychain(kc authn.Keychain) Option { return func(c *Client) { c.keychain = kc } }

// WithTransport sets the HTTP transport. Default: remote.DefaultTransport.
func WithTransport(rt http.RoundTripper) Option { return func(c *Client) { c.transport = rt } }

// WithInsecure allows plain HTTP to every registry. Default: plain HTTP only
// for localhost and loopback addresses.
func WithInsecure(insecure bool) Option {
	return func(c *Client) {
		if insecure {
			c.nameOpts = append(c.nameOpts, name.Insecure)
		}
	}
}

// WithRetries sets how many times a request that failed for a passing
// reason is tried in all (default 4), within the caller's deadline. A
// registry rate limiting (429, or 503 with Retry-After) is not counted: it
// is asked again until the deadline (see resilientTransport).
func WithRetries(attempts int) Option { return func(c *Client) { c.attempts = attempts } }

// WithHostConcurrency bounds the requests in flight to one registry host
// (default 16).
func WithHostConcurrency(n int) Option { return func(c *Client) { c.perHost = n } }

// WithMaxArtifactBytes caps the size of a signature payload or bundle the
// client reads. Default 8 MiB.
func WithMaxArtifactBytes(n int64) Option { return func(c *Client) { c.maxBytes = n } }

// WithEmbeddedBundles sets the size up to which AttachBundle also embeds
// the bundle in its referrer manifest, as the layer descriptor's data (OCI
// image spec 1.1): a reader then needs no request for the blob, which is
// still pushed for readers that do not look there. 0 embeds none. Default
// DefaultEmbedMax.
func WithEmbeddedBundles(max int64) Option { return func(c *Client) { c.embedMax = max } }

// DefaultEmbedMax is the largest bundle embedded by default: room for a
// signature's bundle, a few KiB with a certificate, a log entry and a
// timestamp; a bundle with a large attestation predicate is left as a blob
// only.
const DefaultEmbedMax = 16 << 10

// WithStore makes the client read and write every registry reference
// (REGISTRY/REPOSITORY[:TAG|@DIGEST]) through s instead of the registry it
// names: a fake in tests, or another backend. Default: the registries.
func WithStore(s Store) Option { return func(c *Client) { c.store = s } }

// WithLayoutDirs lets oci-layout:DIR references read (and attach to)
// images in OCI layout directories on this machine. Default false: such a
// reference is refused as invalid, so a server judging references from
// elsewhere (an admission review, a registry event) never reads local paths.
func WithLayoutDirs(allow bool) Option { return func(c *Client) { c.layouts = allow } }

// WithLayoutRepository names the repository (REGISTRY/REPOSITORY) images in
// OCI layout directories (oci-layout:DIR references) are named in: what
// policies match them by and signatures record. Default: none, a
// pseudo-repository of LayoutRegistry, which no policy rule matches.
func WithLayoutRepository(repo string) Option { return func(c *Client) { c.layoutRepo = repo } }

// New returns a Client.
func New(opts ...Option) *Client {
	c := &Client{keychain: authn.DefaultKeychain, transport: remote.DefaultTransport, maxBytes: defaultMaxArtifactBytes, attempts: 4, perHost: 16,
		embedMax: DefaultEmbedMax}
	for _, o := range opts {
		o(c)
	}
	c.transport = probeTransport{base: newPingCache(newResilientTransport(c.transport, c.attempts, c.perHost, 30*time.Second))}
	return c
}

// ParseReference parses an image reference with the client's name options.
// An error is a *ReferenceError that says what is wrong. An oci-layout:
// reference becomes its tag or digest in the layout's repository (see
// WithLayoutRepository); a bare oci-layout:DIR is resolved on disk to the
// one image the layout holds.
func (c *Client) ParseReference(ref string) (name.Reference, error) {
	if IsLayoutReference(ref) {
		return c.parseLayoutReference(ref)
	}
	return ParseReference(ref, c.nameOpts...)
}

// remoteOpts are the options of one registry call. Reads share a Puller,
// which keeps each registry's authenticated transport, so a call does not
// ping /v2/ and look up credentials again; a call that must watch its own
// requests (rt) gets a fresh transport.
func (c *Client) remoteOpts(ctx context.Context, rt http.RoundTripper) []remote.Option {
	base := append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(c.keychain)}, noGGCRRetries...)
	if rt != nil {
		return append(base, remote.WithTransport(rt))
	}
	c.pullerOnce.Do(func() {
		c.puller, _ = remote.NewPuller(append([]remote.Option{remote.WithAuthFromKeychain(c.keychain), remote.WithTransport(c.transport)}, noGGCRRetries...)...)
	})
	if c.puller == nil {
		return append(base, remote.WithTransport(c.transport))
	}
	// Writes do not go through the Puller: they take the transport from
	// the options, which must be the client's (its retries, its per-host
	// bound, WithTransport's TLS), never go-containerregistry's default.
	return append(base, remote.Reuse(c.puller), remote.WithTransport(c.transport))
}

// noGGCRRetries turns go-containerregistry's own retries off: the client's
// resilientTransport retries, once, with Retry-After and the deadline. It
// also lifts go-containerregistry's bound on blob reads at once (4 for a
// whole Puller, so for every image a webhook verifies: the fifth cold
// verification's bundle waited a round trip): resilientTransport bounds
// the requests per registry host instead.
var noGGCRRetries = []remote.Option{
	remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
	remote.WithRetryPredicate(func(error) bool { return false }),
	remote.WithRetryStatusCodes(),
	remote.WithJobs(maxBlobReads),
}

// maxBlobReads bounds the blob reads in flight of one client, over all
// registries (each host is bounded by WithHostConcurrency).
const maxBlobReads = 1024

// registryErr classifies err: a 404 becomes ErrNotFound, the rest ErrRegistry.
func registryErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return notFoundError{op: op, terr: terr, err: err}
	}
	return fmt.Errorf("%s: %w: %w", op, ErrRegistry, err)
}

// notFoundError is a registry's 404, said for people: what was asked and
// the registry's own error codes, without the request line (which repeats
// the reference) and the details a registry adds for its operators.
type notFoundError struct {
	op   string
	terr *transport.Error
	err  error
}

func (e notFoundError) Error() string {
	var codes []string
	for _, d := range e.terr.Errors {
		c := string(d.Code)
		if d.Message != "" {
			c += ": " + d.Message
		}
		codes = append(codes, c)
	}
	if len(codes) == 0 {
		return fmt.Sprintf("%s: %v (the registry answered 404)", e.op, ErrNotFound)
	}
	return fmt.Sprintf("%s: %v (the registry answered 404 %s)", e.op, ErrNotFound, strings.Join(codes, "; "))
}

func (e notFoundError) Is(target error) bool { return target == ErrNotFound }
func (e notFoundError) Unwrap() error        { return e.err }

func isNotFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}

// Target is an image resolved to a digest.
type Target struct {
	// Ref is the reference as given.
	Ref name.Reference
	// Digest is the resolved manifest digest in the same repository.
	Digest name.Digest
	// Descriptor describes the manifest.
	Descriptor v1.Descriptor
	// Tag is the tag it was resolved from, empty when given by digest.
	Tag string
	// Platform is set for a platform manifest reached through an index.
	Platform string

	lazy  bool  // made by Target for a digest reference: not asked of the registry
	store Store // where it is, when not in its registry (a layout, WithStore)
}

// Layout is the OCI layout directory t is in, nil for any other image.
func (t *Target) Layout() *LayoutDir {
	l, _ := t.store.(*LayoutDir)
	return l
}

// reader is where what is attached to t is read from.
func (c *Client) reader(t *Target) Reader {
	if t.store != nil {
		return t.store
	}
	return c
}

// Resolved reports whether the registry was asked about t (by Resolve):
// false for a digest reference Target took as given.
func (t *Target) Resolved() bool { return !t.lazy }

// Name is the image name a signature records for t: the repository, with the
// tag that was meant when t was named by tag.
func (t *Target) Name() string {
	if t.Tag != "" {
		return t.Digest.Context().Name() + ":" + t.Tag
	}
	return t.Digest.Context().Name()
}

// Targets resolves image and, with recursive, the platform manifests an
// index lists, in index order after the index itself.
func (c *Client) Targets(ctx context.Context, image string, recursive bool) ([]*Target, error) {
	t, err := c.Resolve(ctx, image)
	if err != nil {
		return nil, err
	}
	out := []*Target{t}
	if !recursive {
		return out, nil
	}
	children, err := c.Children(ctx, t)
	if err != nil {
		return nil, err
	}
	for _, ch := range children {
		out = append(out, t.Child(ch))
	}
	return out, nil
}

// Child is the manifest desc, one that the index t lists, as a Target in
// the same place (repository or layout).
func (t *Target) Child(desc v1.Descriptor) *Target {
	d := t.Digest.Context().Digest(desc.Digest.String())
	ct := &Target{Ref: d, Digest: d, Descriptor: desc, store: t.store}
	if desc.Platform != nil {
		ct.Platform = desc.Platform.String()
	}
	return ct
}

// Reference is a reference to t's manifest by digest that Resolve reads
// from where t is: REGISTRY/REPOSITORY@DIGEST, or oci-layout:DIR@DIGEST.
func (t *Target) Reference() string {
	if l := t.Layout(); l != nil {
		return LayoutScheme + l.dir + "@" + t.Digest.DigestStr()
	}
	return t.Digest.String()
}

// Resolve finds the digest an image reference names.
func (c *Client) Resolve(ctx context.Context, ref string) (*Target, error) {
	if IsLayoutReference(ref) {
		return c.resolveLayout(ctx, ref)
	}
	r, err := c.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	if c.store != nil {
		return resolveIn(ctx, c.store, r)
	}
	desc, err := remote.Head(r, c.remoteOpts(ctx, nil)...)
	if err != nil {
		// Some registries do not answer HEAD for every media type: try GET.
		d, gerr := c.get(ctx, r)
		if gerr != nil {
			return nil, registryErr("resolving "+describeRef(r), gerr)
		}
		desc = &d.Descriptor
	}
	t := &Target{Ref: r, Descriptor: *desc, Digest: r.Context().Digest(desc.Digest.String())}
	if tag, ok := r.(name.Tag); ok {
		t.Tag = tag.TagStr()
	} else if d, ok := r.(name.Digest); ok && d.DigestStr() != desc.Digest.String() {
		return nil, fmt.Errorf("resolving %s: registry returned digest %s", r, desc.Digest)
	}
	return t, nil
}

// describeRef is r as given, saying which tag was asked for when none was
// written (the registry's error no longer shows the request's URL).
func describeRef(r name.Reference) string {
	if t, ok := r.(name.Tag); ok && !strings.HasSuffix(r.String(), ":"+t.TagStr()) {
		return fmt.Sprintf("%s (no tag given: %s)", r, t.TagStr())
	}
	return r.String()
}

// Target is Resolve without a registry request for a digest reference: the
// digest is taken as given (Descriptor holds only the digest, Resolved is
// false). Callers that need the media type, or to know the manifest exists,
// use Resolve.
func (c *Client) Target(ctx context.Context, ref string) (*Target, error) {
	if IsLayoutReference(ref) {
		return c.resolveLayout(ctx, ref) // on disk: reading it costs no round trip
	}
	if c.store != nil {
		return c.Resolve(ctx, ref)
	}
	r, err := c.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	d, ok := r.(name.Digest)
	if !ok {
		return c.Resolve(ctx, ref)
	}
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		why := explainDigest(d.DigestStr())
		if why == "" {
			why = fmt.Sprintf("the digest %s is not one this tool reads (sha256:, sha384: or sha512: and hex)", quoteIfNeeded(d.DigestStr()))
		}
		return nil, &ReferenceError{Ref: ref, Reason: why, err: err}
	}
	return &Target{Ref: r, Digest: d, Descriptor: v1.Descriptor{Digest: h}, lazy: true}, nil
}

// Children returns the manifests an index lists; nil for an image manifest.
func (c *Client) Children(ctx context.Context, t *Target) ([]v1.Descriptor, error) {
	if !t.Descriptor.MediaType.IsIndex() {
		return nil, nil
	}
	if t.store != nil {
		return storeChildren(ctx, t)
	}
	idx, err := remote.Index(t.Digest, c.remoteOpts(ctx, nil)...)
	if err != nil {
		return nil, registryErr(fmt.Sprintf("reading index %s", t.Digest), err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, registryErr(fmt.Sprintf("reading index %s", t.Digest), err)
	}
	return im.Manifests, nil
}

// Manifest fetches the manifest ref names, as stored, with its media type,
// refusing one over the artifact size cap.
func (c *Client) Manifest(ctx context.Context, ref string) ([]byte, string, error) {
	r, err := c.ParseReference(ref)
	if err != nil {
		return nil, "", err
	}
	d, err := c.get(ctx, r)
	if err != nil {
		return nil, "", registryErr(fmt.Sprintf("fetching manifest %s", r), err)
	}
	if int64(len(d.Manifest)) > c.maxBytes {
		return nil, "", fmt.Errorf("manifest %s is %d bytes, over the %d-byte cap", r, len(d.Manifest), c.maxBytes)
	}
	return d.Manifest, string(d.MediaType), nil
}
