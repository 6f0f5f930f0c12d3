// Package verify checks the signatures attached to container images.
//
// A Verifier holds trust (public keys) fixed at construction and verifies one
// image per call. It finds signatures in every storage layout cosign and
// Signet use (the referrers API, the referrers fallback tag, cosign's legacy
// sha256-<hex>.sig tag), checks each signature cryptographically, checks that
// the signed payload names this image's digest, checks required annotations,
// and returns a Result that says what it found and why each signature passed
// or failed. It prints nothing and reads no environment.
package verify

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/notary"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
)

// Key is a trusted public key.
type Key struct {
	// Name is how results refer to the key (its file name, say).
	Name string
	// PublicKey is the key itself.
	PublicKey crypto.PublicKey
	// ValidFrom and ValidUntil, when set, bound when the key's signatures
	// count: a signature counts only when a trusted time (a verified log
	// entry's integrated time, an RFC 3161 timestamp from a trusted
	// authority) falls in [ValidFrom, ValidUntil).
	ValidFrom, ValidUntil time.Time
}

type trustedKey struct {
	name     string
	id       string
	verifier signature.Verifier
	from     time.Time // ValidFrom
	until    time.Time // ValidUntil
}

// Verifier verifies image signatures against a fixed set of trusted keys.
type Verifier struct {
	client     *oci.Client
	keys       []trustedKey
	identities []Identity
	root       root.TrustedMaterial
	recalls    []*policy.Recalls
	// notationPrincipals are the Notation signers (WithNotation); notation
	// verifies for them, nil without any.
	notationPrincipals []notary.Principal
	notation           *notary.Verifier
	// extra are artifacts given besides those attached (WithExtraArtifacts).
	extra []oci.Artifact
	// platformsChecked: the engine applies the recall lists to an
	// index's manifests itself, once per decision (withPlatformsChecked).
	platformsChecked bool
	// maxDetached and detachedMemory bound detached predicates
	// (WithMaxDetachedBytes, WithDetachedMemoryBytes).
	maxDetached, detachedMemory int64
}

// withPlatformsChecked is for the engine's verifiers.
func withPlatformsChecked() Option { return func(v *Verifier) { v.platformsChecked = true } }

// Option configures a Verifier.
type Option func(*Verifier)

// WithTrustedRoot trusts the transparency logs (and, later, the CAs and
// timestamp authorities) of a Sigstore trusted root. Default: none, so a
// Request that requires a log entry fails.
func WithTrustedRoot(tr root.TrustedMaterial) Option { return func(v *Verifier) { v.root = tr } }

// WithExtraArtifacts considers artifacts besides those found attached to
// each image, for signatures and attestations alike: Sigstore bundles read
// from files (oci.ReadBundleFile), say, `gh attestation download` output.
// They are checked exactly like attached ones, so a bundle whose statement
// names another image's digest is refused for this one. Default: none.
func WithExtraArtifacts(arts ...oci.Artifact) Option {
	return func(v *Verifier) { v.extra = append(v.extra, arts...) }
}

// withExtra is the discovered artifacts and the extra ones.
func (v *Verifier) withExtra(arts []oci.Artifact) []oci.Artifact {
	if len(v.extra) == 0 {
		return arts
	}
	return append(slices.Clip(arts), v.extra...)
}

// WithRecalls applies recall lists: an image whose digest one recalls is
// refused (an error matching ErrRecalled, with the recall's reason), and a
// signature by a revoked key counts only when a trusted time places it
// before the revocation. Default: none.
// Several lists all apply.
func WithRecalls(lists ...*policy.Recalls) Option {
	return func(v *Verifier) {
		for _, l := range lists {
			if l != nil {
				v.recalls = append(v.recalls, l)
			}
		}
	}
}

// New returns a Verifier that trusts the given keys (and the identities of
// WithIdentities) and reads registries through client. At least one key or
// identity is required.
func New(client *oci.Client, trusted []Key, opts ...Option) (*Verifier, error) {
	if client == nil {
		return nil, errors.New("verify: a registry client is required")
	}
	v := &Verifier{client: client}
	for _, o := range opts {
		o(v)
	}
	if len(trusted) == 0 && len(v.identities) == 0 && len(v.notationPrincipals) == 0 {
		return nil, errors.New("verify: at least one trusted key, identity or Notation signer is required")
	}
	if len(v.notationPrincipals) > 0 {
		nv, err := notary.NewVerifier(v.notationPrincipals)
		if err != nil {
			return nil, fmt.Errorf("trusting Notation signers: %w", err)
		}
		v.notation = nv
	}
	for _, id := range v.identities {
		if _, err := id.policy(); err != nil {
			return nil, fmt.Errorf("trusting identity %s: %w", id.Name, err)
		}
	}
	for _, k := range trusted {
		sv, err := keys.Verifier(k.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("trusting key %s: %w", k.Name, err)
		}
		id, err := keys.ID(k.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("trusting key %s: %w", k.Name, err)
		}
		v.keys = append(v.keys, trustedKey{name: k.Name, id: id, verifier: sv, from: k.ValidFrom, until: k.ValidUntil})
	}
	return v, nil
}

// TlogMode says whether a signature must carry a verified transparency-log entry.
type TlogMode string

// Transparency-log modes.
const (
	// TlogOptional verifies the log entries a bundle carries from logs in the
	// trusted root, and accepts a bundle without any. The default.
	TlogOptional TlogMode = "optional"
	// TlogRequired accepts only bundles with an entry from a trusted log whose
	// inclusion proof and checkpoint verify offline, and cosign v2 legacy
	// layers whose Rekor v1 entry's signed entry timestamp verifies with a
	// trusted log's key (such a layer carries no inclusion proof).
	TlogRequired TlogMode = "required"
	// TlogSkip ignores log entries.
	TlogSkip TlogMode = "skip"
)

// ParseTlogMode turns a flag or policy value into a TlogMode.
func ParseTlogMode(s string) (TlogMode, error) {
	switch TlogMode(s) {
	case "":
		return TlogOptional, nil
	case TlogOptional, TlogRequired, TlogSkip:
		return TlogMode(s), nil
	}
	return "", fmt.Errorf("transparency log mode %q: want required, optional or skip", s)
}

// Condition is a compiled CEL condition over a statement (see policy.Condition).
type Condition = policy.Condition

// CompileCondition compiles a CEL condition (see policy.CompileCondition).
func CompileCondition(expr string) (*Condition, error) { return policy.CompileCondition(expr) }

// CompileConditionFor compiles a CEL condition for attestations of a
// predicate type, checking the fields it selects against the type's shape
// where Signet knows it (see policy.CompileConditionFor).
func CompileConditionFor(predicateType, expr string) (*Condition, error) {
	return policy.CompileConditionFor(predicateType, expr)
}

// Request holds per-call requirements.
type Request struct {
	// Annotations must all be present, with these values, in the signed payload.
	Annotations map[string]string
	// TransparencyLog says whether a log entry is required; empty means optional.
	TransparencyLog TlogMode
	// SignedRepository, when set (a mirrored image judged as its origin:
	// the origin repository, normalised), refuses a signature whose signed
	// payload names an image in another repository. A payload naming no
	// image is not refused for it.
	SignedRepository string
	// Platforms is what an index must carry: index (the default) — a
	// signature on its own digest; every — one on each platform manifest it
	// lists; any — one on at least one (see PlatformMode). An image that
	// is not an index ignores it.
	Platforms PlatformMode
	// PlatformFilter limits every and any to these platforms
	// (os/arch[/variant], see policy.PlatformMatches); empty: all.
	PlatformFilter []string
}

// Verify resolves image, finds its signatures and verifies them. It returns
// the Result in every case it could reach the registry; the error is nil when
// at least one signature verified, an *Error when none did (matching
// ErrNoSignatures or ErrNoValidSignature), or a registry error (matching
// oci.ErrRegistry or oci.ErrNotFound) with a nil Result.
func (v *Verifier) Verify(ctx context.Context, image string, req Request) (*Result, error) {
	if req.Platforms.perPlatform() {
		// Whether it is an index is the registry's to say.
		t, err := v.client.Resolve(ctx, image)
		if err != nil {
			return nil, err
		}
		if t.Descriptor.MediaType.IsIndex() {
			return v.verifyPlatforms(ctx, image, t, req)
		}
	}
	// As few round trips as the answer needs: a digest reference is not
	// resolved (unless a recall list must know whether it is an index),
	// and cosign's legacy .sig tag is read only when no bundle among the
	// referrers verifies.
	t, err := v.target(ctx, image)
	if err != nil {
		return nil, err
	}
	arts, err := v.client.DiscoverLegacy(ctx, t, false, false)
	if err != nil {
		return nil, err
	}
	res, err := v.evalSignatures(ctx, image, t, arts, req)
	if res.Verified {
		return res, nil
	}
	legacy, lerr := v.client.Legacy(ctx, t, true, false)
	if lerr != nil {
		return nil, lerr
	}
	if len(legacy) > 0 {
		res, err = v.evalSignatures(ctx, image, t, append(arts, legacy...), req)
	}
	if err != nil && !t.Resolved() {
		// Not verified: say so only about an image that exists.
		if _, rerr := v.client.Resolve(ctx, image); rerr != nil {
			return nil, rerr
		}
	}
	return res, err
}

// target is image's Target: a digest reference is taken as given (no
// round trip) unless a recall list names digests — then the registry says
// whether it is an index, whose manifests the list is checked against.
// A caller that finds nothing verified for a target taken as given
// resolves it then (see Verify), so an image that does not exist is
// reported as such.
func (v *Verifier) target(ctx context.Context, image string) (*oci.Target, error) {
	if slices.ContainsFunc(v.recalls, (*policy.Recalls).HasDigests) {
		return v.client.Resolve(ctx, image)
	}
	return v.client.Target(ctx, image)
}

// discover finds image's target and lists what is attached to it, once:
// referrers, and cosign's legacy .sig (sigs) and .att (atts) tags.
func (v *Verifier) discover(ctx context.Context, image string, sigs, atts bool) (*oci.Target, []oci.Artifact, error) {
	t, err := v.target(ctx, image)
	if err != nil {
		return nil, nil, err
	}
	arts, err := v.client.DiscoverLegacy(ctx, t, sigs, atts)
	if err != nil {
		return nil, nil, err
	}
	return t, arts, nil
}

// evalSignatures verifies the image signatures among artifacts already
// discovered for t.
func (v *Verifier) evalSignatures(ctx context.Context, image string, t *oci.Target, arts []oci.Artifact, req Request) (*Result, error) {
	res := &Result{Image: image, Digest: t.Digest.DigestStr(), Tag: t.Tag}
	if err := v.recalledDigest(res); err != nil {
		return res, err
	}
	if err := v.platformsRecalled(ctx, res, t); err != nil {
		return res, err
	}
	arts = v.withExtra(arts)
	for i := range arts {
		a := &arts[i]
		var sig *Signature
		switch a.Kind {
		case oci.KindBundle:
			sig = v.checkBundle(ctx, a, res.Digest, req, oci.CosignSignPredicateType)
		case oci.KindSimpleSigning:
			sig = v.checkSimpleSigning(a, res.Digest, req)
		case oci.KindNotation:
			sig = v.checkNotation(ctx, a, t, req)
		}
		v.checkKeyTime(sig)
		checkSignedRepository(sig, req.SignedRepository)
		res.add(sig)
	}
	return res, res.err(nil)
}

// orderedKeys returns the trusted keys, the one whose ID matches hint first.
func (v *Verifier) orderedKeys(hint string) []trustedKey {
	out := slices.Clone(v.keys)
	slices.SortStableFunc(out, func(a, b trustedKey) int {
		switch {
		case a.id == hint && b.id != hint:
			return -1
		case b.id == hint && a.id != hint:
			return 1
		}
		return 0
	})
	return out
}

func checkAnnotations(sig *Signature, want map[string]string) bool {
	if len(want) == 0 {
		return true
	}
	for k, w := range want {
		got, ok := sig.Annotations[k]
		if !ok {
			sig.fail("annotations", fmt.Errorf("%w: %s is not signed", ErrAnnotationMismatch, k))
			return false
		}
		if fmt.Sprint(got) != w {
			sig.fail("annotations", fmt.Errorf("%w: %s is %q, want %q", ErrAnnotationMismatch, k, fmt.Sprint(got), w))
			return false
		}
	}
	sig.check("annotations", Pass, fmt.Sprintf("%d required annotations signed", len(want)))
	return true
}
