// Package sign signs image digests and attaches the signatures to the image.
//
// A signature is what cosign v3 writes: a DSSE envelope over an in-toto
// Statement v1 whose subject is the image digest and whose predicate type is
// https://sigstore.dev/cosign/sign/v1, inside a Sigstore bundle v0.3, stored
// as an OCI 1.1 referrer. Signing annotations go in the subject's annotations,
// where cosign verify -a looks for them; the tag that was meant, when the
// image was named by tag, is the subject's name. On request the legacy
// simple-signing layout (sha256-<hex>.sig) is written too, for old verifiers.
package sign

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	intotov1 "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
)

// InTotoPayloadType is the DSSE payload type of in-toto statements.
const InTotoPayloadType = "application/vnd.in-toto+json"

// ErrTransparencyLog marks a failure to log a signature; nothing was attached.
var ErrTransparencyLog = errors.New("logging the signature to the transparency log failed")

// Layout chooses which storage layouts a signature is written in.
type Layout string

// Registry layouts for signatures.
const (
	// LayoutReferrers writes a bundle referrer (cosign v3's default).
	LayoutReferrers Layout = "referrers"
	// LayoutLegacy writes cosign v2's sha256-<hex>.sig tag.
	LayoutLegacy Layout = "legacy"
	// LayoutBoth writes both.
	LayoutBoth Layout = "both"
)

// ParseLayout turns a --registry-layout value into a Layout.
func ParseLayout(s string) (Layout, error) {
	switch Layout(s) {
	case LayoutReferrers, LayoutLegacy, LayoutBoth:
		return Layout(s), nil
	case "":
		return LayoutReferrers, nil
	}
	return "", fmt.Errorf("unknown registry layout %q (want referrers, legacy or both)", s)
}

// Signer signs images with one key. It is safe for concurrent use.
type Signer struct {
	sv     signature.SignerVerifier // nil when keyless
	kp     *keys.Keypair            // nil when keyless
	eph    sign.Keypair             // the ephemeral key of a keyless signer
	certs  sign.CertificateProvider
	token  string
	tsas   []*sign.TimestampAuthority
	client *oci.Client
	now    func() time.Time
	tlogs  []sign.Transparency

	digestLogs []DigestLog
}

// PublicKey is the key the signer signs with, to verify what it signed;
// nil for a keyless signer (its key is a new one each run).
func (s *Signer) PublicKey() crypto.PublicKey {
	if s == nil || s.kp == nil {
		return nil
	}
	return s.kp.GetPublicKey()
}

// Option configures a Signer.
type Option func(*Signer)

// WithClock sets the clock used for the creation annotation. Default time.Now.
func WithClock(now func() time.Time) Option { return func(s *Signer) { s.now = now } }

// WithTransparencyLog logs every bundle to t (see tlog.Service.Writer); the
// entry and its inclusion proof go into the bundle. Default: no log.
func WithTransparencyLog(t sign.Transparency) Option {
	return func(s *Signer) { s.tlogs = append(s.tlogs, t) }
}

// WithTimestampAuthority asks ta (an RFC 3161 TSA) to timestamp every
// signature; the timestamp goes in the bundle and gives verifiers a trusted
// signing time (needed for keyless signatures logged in Rekor v2). Default none.
func WithTimestampAuthority(ta *sign.TimestampAuthority) Option {
	return func(s *Signer) { s.tsas = append(s.tsas, ta) }
}

// NewKeyless returns a Signer that signs keylessly: an ephemeral key that
// never leaves memory, and a short-lived certificate for it from ca (Fulcio)
// binding it to the OIDC identity in token. Bundles carry the certificate.
func NewKeyless(client *oci.Client, ca sign.CertificateProvider, token string, opts ...Option) (*Signer, error) {
	if token == "" {
		return nil, errors.New("keyless signing needs an OIDC identity token")
	}
	eph, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, err
	}
	s := &Signer{eph: eph, certs: ca, token: token, client: client, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// New returns a Signer that signs with sv and writes through client.
func New(sv signature.SignerVerifier, client *oci.Client, opts ...Option) (*Signer, error) {
	kp, err := keys.NewKeypair(sv)
	if err != nil {
		return nil, err
	}
	s := &Signer{sv: sv, kp: kp, client: client, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Request says what to sign and how to store it.
type Request struct {
	// Annotations are signed with the digest (cosign's -a key=value).
	Annotations map[string]string
	// Layout is where to write; empty means LayoutReferrers.
	Layout Layout
	// Recursive signs an index's platform manifests as well as the index.
	Recursive bool
}

// Result reports what SignImage did for one image.
type Result struct {
	// Image is the reference as given.
	Image string `json:"image"`
	// Tag is the tag the digest was resolved from; signing by tag is racy.
	Tag string `json:"tag,omitempty"`
	// Signed lists each digest signed (the image, then platforms with Recursive).
	Signed []Signed `json:"signed"`
}

// Signed is one signed digest and where its signature went.
type Signed struct {
	Digest   string         `json:"digest"`
	Platform string         `json:"platform,omitempty"`
	Attached []oci.Attached `json:"attached"`
	// Log lists the transparency-log entries made for the bundle.
	Log []LogEntry `json:"log,omitempty"`
}

// SignImage resolves image to a digest, signs it and attaches the signature.
func (s *Signer) SignImage(ctx context.Context, image string, req Request) (*Result, error) {
	targets, err := s.client.Targets(ctx, image, req.Recursive)
	if err != nil {
		return nil, err
	}
	res := &Result{Image: image, Tag: targets[0].Tag}
	for _, t := range targets {
		signed, err := s.signTarget(ctx, t, t.Name(), req)
		if err != nil {
			return nil, fmt.Errorf("signing %s: %w", t.Digest.DigestStr(), err)
		}
		signed.Platform = t.Platform
		res.Signed = append(res.Signed, *signed)
	}
	return res, nil
}

func (s *Signer) signTarget(ctx context.Context, t *oci.Target, subjectName string, req Request) (*Signed, error) {
	out := &Signed{Digest: t.Digest.DigestStr()}
	layout := req.Layout
	if layout == "" {
		layout = LayoutReferrers
	}
	legacy := layout == LayoutLegacy || layout == LayoutBoth
	if legacy && s.sv == nil {
		return nil, errors.New("keyless signatures are stored as bundles only: use --registry-layout referrers")
	}
	// The legacy signature is made (and logged) first: a log that cannot
	// log it refuses before anything is attached.
	var payload []byte
	var legacySig, logBundle string
	var legacyEntries []LogEntry
	if legacy {
		var err error
		if payload, err = SimpleSigningPayload(t.Digest.Context().Name(), t.Digest.DigestStr(), req.Annotations); err != nil {
			return nil, err
		}
		if legacySig, logBundle, legacyEntries, err = s.legacySignature(ctx, payload); err != nil {
			return nil, err
		}
	}
	if layout == LayoutReferrers || layout == LayoutBoth {
		bundle, entries, err := s.bundle(ctx, subjectName, t.Digest.DigestStr(), req.Annotations)
		if err != nil {
			return nil, err
		}
		out.Log = entries
		att, err := s.client.AttachBundle(ctx, t, bundle, BundleAnnotations(oci.CosignSignPredicateType, s.now()))
		if err != nil {
			return nil, err
		}
		out.Attached = append(out.Attached, *att)
	}
	if legacy {
		att, err := s.client.AttachLegacyLogged(ctx, t, payload, legacySig, logBundle)
		if err != nil {
			return nil, err
		}
		out.Log = append(out.Log, legacyEntries...)
		out.Attached = append(out.Attached, *att)
	}
	return out, nil
}

// Bundle returns the JSON Sigstore bundle signing digest ("sha256:<hex>")
// with the key, as cosign v3 would, recording subjectName and annotations.
func (s *Signer) Bundle(ctx context.Context, subjectName, digest string, annotations map[string]string) ([]byte, error) {
	b, _, err := s.bundle(ctx, subjectName, digest, annotations)
	return b, err
}

// bundle also returns the log entries put in the bundle.
func (s *Signer) bundle(ctx context.Context, subjectName, digest string, annotations map[string]string) ([]byte, []LogEntry, error) {
	payload, err := Statement(subjectName, digest, annotations)
	if err != nil {
		return nil, nil, err
	}
	return s.SignStatement(ctx, payload)
}

// SignStatement signs an in-toto statement into a JSON Sigstore bundle
// (DSSE, payload type application/vnd.in-toto+json), logging it when the
// Signer has a transparency log, and returns the log entries made.
func (s *Signer) SignStatement(ctx context.Context, payload []byte) ([]byte, []LogEntry, error) {
	return s.signContent(ctx, &sign.DSSEData{Data: payload, PayloadType: InTotoPayloadType})
}

func (s *Signer) signContent(ctx context.Context, content sign.Content) ([]byte, []LogEntry, error) {
	opts := sign.BundleOptions{Context: ctx, TransparencyLogs: s.tlogs, TimestampAuthorities: s.tsas}
	var kp sign.Keypair = s.kp
	if s.eph != nil {
		kp = s.eph
		opts.CertificateProvider = s.certs
		opts.CertificateProviderOptions = &sign.CertificateProviderOptions{IDToken: s.token}
	}
	pb, err := sign.Bundle(content, kp, opts)
	if err != nil {
		if len(s.tlogs) > 0 {
			return nil, nil, fmt.Errorf("%w: %w", ErrTransparencyLog, err)
		}
		return nil, nil, fmt.Errorf("building bundle: %w", err)
	}
	var entries []LogEntry
	for _, e := range pb.GetVerificationMaterial().GetTlogEntries() {
		entries = append(entries, LogEntry{Index: e.GetLogIndex(), Kind: e.GetKindVersion().GetKind() + "/" + e.GetKindVersion().GetVersion()})
	}
	out, err := protojson.Marshal(pb)
	return out, entries, err
}

// BundleAnnotations are the referrer-manifest annotations cosign v3 writes
// for a DSSE bundle of the given predicate type.
func BundleAnnotations(predicateType string, now time.Time) map[string]string {
	return map[string]string{
		oci.AnnotationCreated:       now.UTC().Format(time.RFC3339),
		oci.AnnotationBundleContent: "dsse-envelope",
		oci.AnnotationPredicateType: predicateType,
	}
}

// LogEntry is where a signature was logged.
type LogEntry struct {
	Index int64  `json:"index"`
	Kind  string `json:"kind"`
}

// Statement returns the in-toto Statement v1 cosign v3 signs for an image:
// predicate type https://sigstore.dev/cosign/sign/v1, an empty predicate, and
// one subject carrying the digest and the annotations.
func Statement(subjectName, digest string, annotations map[string]string) ([]byte, error) {
	alg, hexDigest, ok := strings.Cut(digest, ":")
	if !ok || alg == "" || hexDigest == "" {
		return nil, fmt.Errorf("digest %q is not of the form algorithm:hex", digest)
	}
	subject := &intotov1.ResourceDescriptor{Name: subjectName, Digest: map[string]string{alg: hexDigest}}
	if len(annotations) > 0 {
		m := make(map[string]any, len(annotations))
		for k, v := range annotations {
			m[k] = v
		}
		st, err := structpb.NewStruct(m)
		if err != nil {
			return nil, fmt.Errorf("encoding annotations: %w", err)
		}
		subject.Annotations = st
	}
	stmt := &intotov1.Statement{
		Type:          intotov1.StatementTypeUri,
		Subject:       []*intotov1.ResourceDescriptor{subject},
		PredicateType: oci.CosignSignPredicateType,
		Predicate:     &structpb.Struct{},
	}
	return protojson.Marshal(stmt)
}

// SignBlob signs data as a message signature (hashedrekord when logged) and
// returns the JSON bundle and the log entries made.
func (s *Signer) SignBlob(ctx context.Context, data []byte) ([]byte, []LogEntry, error) {
	return s.signContent(ctx, &sign.PlainData{Data: data})
}

// SignImages signs several images, workers at a time (registry writes, not
// signing, are what take the time), and returns the results in input order.
// On failure it stops starting new images and returns the first error in
// input order, with the results of the images signed before it.
func (s *Signer) SignImages(ctx context.Context, images []string, req Request, workers int) ([]*Result, error) {
	return signAll(ctx, images, workers, func(ctx context.Context, img string) (*Result, error) {
		return s.SignImage(ctx, img, req)
	})
}

// signAll runs signImage over images, workers at a time, as SignImages
// describes.
func signAll(ctx context.Context, images []string, workers int, signImage func(context.Context, string) (*Result, error)) ([]*Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]*Result, len(images))
	errs := make([]error, len(images))
	sem := make(chan struct{}, max(1, workers))
	var wg sync.WaitGroup
	for i, img := range images {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			errs[i] = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i], errs[i] = signImage(ctx, img)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("signing %s: %w", img, errs[i])
				cancel()
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return results[:i], err
		}
	}
	return results, nil
}
