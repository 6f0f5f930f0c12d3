package trustbundle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/taghead"
)

// Class names what a refusal looks like.
type Class string

// Refusal classes. Those shared with signed tag heads mean the same.
const (
	// ClassRollback: an older bundle (or older signed metadata) than this
	// verifier already trusted, or another bundle under a version it
	// trusted.
	ClassRollback = Class(taghead.ClassRollback)
	// ClassFreeze: the signed metadata has expired.
	ClassFreeze = Class(taghead.ClassFreeze)
	// ClassMixAndMatch: metadata roles from different versions.
	ClassMixAndMatch = Class(taghead.ClassMixAndMatch)
	// ClassUntrustedRoot: not signed by keys the trusted root delegates to.
	ClassUntrustedRoot = Class(taghead.ClassUntrustedRoot)
	// ClassNotSigned: the repository signs no bundle at this tag.
	ClassNotSigned = Class(taghead.ClassNotSigned)
	// ClassUnavailable: the registry (or directory) could not be read.
	ClassUnavailable = Class(taghead.ClassUnavailable)
	// ClassWrongRepository: the bundle was signed for another repository or tag.
	ClassWrongRepository = Class(taghead.ClassWrongRepository)
	// ClassAltered: the artifact is not the signed one, or does not match
	// its contents.json.
	ClassAltered Class = "altered"
)

// Error is a refusal with its class.
type Error struct {
	Class Class
	Err   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("trust bundle [%s]: %s%v", e.Class, explain[e.Class], e.Err)
}

// explain says what each refusal means to a person.
var explain = map[Class]string{
	ClassRollback:      "older than what this verifier already trusted (replayed, or an old bundle re-signed?): ",
	ClassFreeze:        "the signed metadata has expired (no longer refreshed, or an old copy is served; refresh it: signet tag refresh): ",
	ClassMixAndMatch:   "the metadata roles come from different versions: ",
	ClassUntrustedRoot: "not signed by the keys the trusted root names: ",
	ClassUnavailable:   "cannot read the bundle: ",
	ClassAltered:       "the bundle is not the one signed: ",
	ClassExternal:      "its policy draws trust from outside the bundle: ",
}

func (e *Error) Unwrap() error { return e.Err }

// ClassOf returns the class of a refusal ("" for other errors).
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return ""
}

// refusal turns taghead's refusal into the bundle's, with its cause.
func refusal(err error) error {
	var te *taghead.Error
	if errors.As(err, &te) {
		return &Error{Class: Class(te.Class), Err: te.Err}
	}
	return err
}

// Verified is a bundle after verification.
type Verified struct {
	*Bundle
	// Reference is the bundle's REPO:TAG.
	Reference string `json:"reference"`
	// Dir is the directory it was read from ("" for the registry).
	Dir     string `json:"dir,omitempty"`
	Digest  string `json:"digest"`
	Version int64  `json:"version"`
	// Expires is when the signed metadata expires: the bundle must be
	// verified again before.
	Expires time.Time `json:"expires"`

	manifest []byte
}

// Verifier verifies bundles against a trusted TUF root, keeping in its
// state directory the newest metadata and bundle version it has trusted
// per repository and tag, which is what refuses a rollback across runs.
type Verifier struct {
	client *oci.Client
	tuf    *taghead.Verifier
	root   []byte
	state  string
	now    func() time.Time
	expect string // VerifyDir: the reference the directory must hold
}

// ExpectReference makes VerifyDir refuse a directory holding the bundle of
// another reference than ref (REPO:TAG): a directory names its own
// reference, and every bundle signed by the root's keys — another tag,
// another repository created with the same keys — verifies against it.
func (v *Verifier) ExpectReference(ref string) *Verifier {
	v.expect = ref
	return v
}

// NewVerifier trusts rootJSON (the bundle repository's TUF root, as
// Publish made it) and keeps state under stateDir ("" keeps none: only the
// checks within one call apply, no rollback across calls).
func NewVerifier(client *oci.Client, rootJSON []byte, stateDir string) (*Verifier, error) {
	var tufState string
	if stateDir != "" {
		tufState = filepath.Join(stateDir, "tuf")
	}
	tv, err := taghead.NewVerifier(client, rootJSON, tufState)
	if err != nil {
		return nil, err
	}
	return &Verifier{client: client, tuf: tv, root: rootJSON, state: stateDir, now: time.Now}, nil
}

// WithClock sets the verifier's clock (for tests of expiry).
func (v *Verifier) WithClock(now func() time.Time) *Verifier {
	v.now = now
	v.tuf.WithClock(now)
	return v
}

// Verify reads and verifies the bundle at ref (REPO:TAG): the signed
// target for the tag names its digest and version, the artifact at that
// digest must match it and its contents.json, and the version must not be
// below the last one this verifier trusted.
func (v *Verifier) Verify(ctx context.Context, ref string) (*Verified, error) {
	tag, err := bundleTag(v.client, ref)
	if err != nil {
		return nil, err
	}
	t, sb, err := v.target(ctx, tag, nil)
	if err != nil {
		return nil, err
	}
	p, err := Pull(ctx, v.client, tag.Context().Digest(t.Digest).String())
	if errors.Is(err, ErrInvalid) {
		return nil, &Error{Class: ClassAltered, Err: err}
	}
	if err != nil {
		return nil, &Error{Class: ClassUnavailable, Err: err}
	}
	vb, err := v.accept(tag, t, sb, p.Bundle)
	if err != nil {
		return nil, err
	}
	vb.manifest = p.Manifest
	return vb, nil
}

func bundleTag(client *oci.Client, ref string) (name.Tag, error) {
	r, err := client.ParseReference(strings.TrimPrefix(ref, "oci://"))
	if err != nil {
		return name.Tag{}, err
	}
	tag, ok := r.(name.Tag)
	if !ok {
		return name.Tag{}, fmt.Errorf("%s: name a trust bundle by its tag (REPO:TAG): its signed metadata names the digest", ref)
	}
	return tag, nil
}

// target runs the TUF workflow for tag's bundle target and checks its
// binding to the repository and tag.
func (v *Verifier) target(ctx context.Context, tag name.Tag, src taghead.Source) (*taghead.Target, signedBundle, error) {
	t, err := v.tuf.Target(ctx, tag.Context(), src, TargetPath(tag.TagStr()))
	if err != nil {
		return nil, signedBundle{}, refusal(err)
	}
	if !t.TargetsByRootKeys {
		return nil, signedBundle{}, &Error{Class: ClassUntrustedRoot, Err: fmt.Errorf("the metadata of %s lets a key that is not a root key sign targets (an online key, as signet tag init sets up for tag heads): "+
			"a trust bundle must be named by the offline root keys; publish bundles in a repository of their own (signet trust bundle push creates its metadata)", tag.Context())}
	}
	var sb signedBundle
	if err := json.Unmarshal(t.Custom, &sb); err != nil || sb.Version < 1 {
		return nil, signedBundle{}, &Error{Class: ClassAltered, Err: fmt.Errorf("the signed target for %s does not name a bundle version", tag)}
	}
	norm, err := policy.NormalizeRepository(tag.Context().Name())
	if err != nil || sb.Repository != norm || sb.Tag != tag.TagStr() {
		return nil, signedBundle{}, &Error{Class: ClassWrongRepository, Err: fmt.Errorf("the bundle was signed for %s:%s, not %s (copied from another repository?)", sb.Repository, sb.Tag, tag)}
	}
	return t, sb, nil
}

// accept checks the bundle against its signed target and the state, and
// records it.
func (v *Verifier) accept(tag name.Tag, t *taghead.Target, sb signedBundle, b *Bundle) (*Verified, error) {
	if b.Contents.Version != sb.Version {
		return nil, &Error{Class: ClassAltered, Err: fmt.Errorf("contents.json says version %d, the signed target %d", b.Contents.Version, sb.Version)}
	}
	if err := b.checkPolicies(); err != nil {
		return nil, &Error{Class: ClassExternal, Err: err}
	}
	if err := v.checkState(tag, t.Digest, sb.Version); err != nil {
		return nil, err
	}
	return &Verified{Bundle: b, Reference: tag.String(), Digest: t.Digest, Version: sb.Version, Expires: t.Expires}, nil
}

// seen is the state kept per repository and tag.
type seen struct {
	Version int64  `json:"version"`
	Digest  string `json:"digest"`
}

func (v *Verifier) statePath(tag name.Tag) string {
	rootSum := sha256.Sum256(v.root)
	sum := sha256.Sum256([]byte(tag.Context().Name() + "\x00" + tag.TagStr() + "\x00" + hex.EncodeToString(rootSum[:])))
	return filepath.Join(v.state, "bundles", hex.EncodeToString(sum[:12])+".json")
}

// checkState refuses a version below the last trusted one, or another
// digest under the same version, and records a newer one. An unreadable
// state is refused: without it a rollback cannot be told.
func (v *Verifier) checkState(tag name.Tag, digest string, version int64) error {
	if v.state == "" {
		return nil
	}
	p := v.statePath(tag)
	var last seen
	b, err := os.ReadFile(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("reading the trust bundle state %s: %w", p, err)
	default:
		if err := json.Unmarshal(b, &last); err != nil {
			return fmt.Errorf("reading the trust bundle state %s (remove it to trust the next bundle afresh): %w", p, err)
		}
	}
	switch {
	case version < last.Version:
		return &Error{Class: ClassRollback, Err: fmt.Errorf("%s is version %d, older than version %d trusted before (an old bundle re-published or replayed?)", tag, version, last.Version)}
	case version == last.Version && digest != last.Digest:
		return &Error{Class: ClassRollback, Err: fmt.Errorf("%s version %d is %s, but version %d trusted before was %s: a bundle must raise its version", tag, version, digest, version, last.Digest)}
	case version == last.Version:
		return nil
	}
	return writeState(p, seen{Version: version, Digest: digest})
}

func writeState(p string, s seen) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}
