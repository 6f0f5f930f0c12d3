package taghead

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
)

// Class names the attack (or failure) a refusal looks like.
type Class string

// Refusal classes.
const (
	// ClassTagMismatch: the registry's tag names another digest than the signed head.
	ClassTagMismatch Class = "tag-mismatch"
	// ClassRollback: metadata older than what this verifier already trusted.
	ClassRollback Class = "rollback"
	// ClassFreeze: metadata past its expiry (no longer refreshed, or replayed).
	ClassFreeze Class = "freeze"
	// ClassMixAndMatch: roles from different versions of the repository.
	ClassMixAndMatch Class = "mix-and-match"
	// ClassUntrustedRoot: signed by keys the trusted root does not delegate to.
	ClassUntrustedRoot Class = "untrusted-root"
	// ClassNotSigned: the tag has no signed head (also: the repository has
	// no metadata at all, which is a refusal, not a registry failure).
	ClassNotSigned Class = "not-signed"
	// ClassWrongRepository: the signed head was signed for another
	// repository (metadata copied in), or names none (metadata written
	// before heads were bound to their repository).
	ClassWrongRepository Class = "wrong-repository"
	// ClassUnavailable: the metadata could not be read (registry trouble).
	ClassUnavailable Class = "unavailable"
)

// Error is a refusal with its class.
type Error struct {
	Class Class
	Err   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("signed tag head [%s]: %s%v", e.Class, explain[e.Class], e.Err)
}

// explain says what each refusal means to a person.
var explain = map[Class]string{
	ClassRollback:        "the registry serves older signed metadata than this verifier already trusted (replayed?): ",
	ClassFreeze:          "the signed metadata has expired (no longer refreshed, or an old copy is served): ",
	ClassMixAndMatch:     "the metadata roles come from different versions: ",
	ClassUntrustedRoot:   "the metadata is not signed by keys the trusted root delegates to: ",
	ClassUnavailable:     "cannot read the signed metadata: ",
	ClassWrongRepository: "the signed head is not bound to the repository being verified: ",
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

// Verifier runs the TUF client workflow against the metadata in the
// registry, remembering per repository what it has trusted (in StateDir),
// which is what makes rollbacks and freezes detectable across runs.
type Verifier struct {
	client *oci.Client
	root   []byte
	state  string
	now    func() time.Time

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// NewVerifier trusts rootJSON (a root.json, version 1 or later) for every
// repository and keeps state under stateDir ("" keeps none: every call
// starts from rootJSON, so only the checks within one call apply).
func NewVerifier(client *oci.Client, rootJSON []byte, stateDir string) (*Verifier, error) {
	if _, err := metadata.Root().FromBytes(rootJSON); err != nil {
		return nil, fmt.Errorf("reading the trusted TUF root: %w", err)
	}
	return &Verifier{client: client, root: rootJSON, state: stateDir, now: time.Now, locks: map[string]*sync.Mutex{}}, nil
}

// WithClock sets the verifier's clock (for tests of expiry).
func (v *Verifier) WithClock(now func() time.Time) *Verifier { v.now = now; return v }

// Head returns the signed head of repo:tag after the full TUF workflow.
func (v *Verifier) Head(ctx context.Context, repo name.Repository, tag string) (*Head, error) {
	tf, exp, err := v.target(ctx, repo, registrySource{v.client, repo}, targetPrefix+tag)
	if errors.Is(err, errNoTarget) {
		return nil, &Error{Class: ClassNotSigned, Err: fmt.Errorf("%s:%s has no signed head", repo, tag)}
	}
	if err != nil {
		return nil, err
	}
	bound, err := checkBinding(tf, repo, tag)
	if err != nil {
		return nil, err
	}
	return &Head{Tag: tag, Digest: "sha256:" + hex.EncodeToString(tf.Hashes["sha256"]), Size: tf.Length,
		Repository: bound, Expires: exp.Expires}, nil
}

// Target is one signed target (SetTarget) after the TUF workflow.
type Target struct {
	Path   string          `json:"path"`
	Digest string          `json:"digest"`
	Size   int64           `json:"size"`
	Custom json.RawMessage `json:"custom,omitempty"`
	// Expires is when the verified metadata naming the target expires.
	Expires time.Time `json:"expires"`
	// TargetsVersion is the version of the targets metadata naming it.
	TargetsVersion int64 `json:"targetsVersion"`
	// TargetsByRootKeys: every key the trusted root names for targets is
	// one of its root keys (kept offline), so no online key (snapshot,
	// timestamp) alone can sign a target. Tag heads are signed with the
	// online key; trust bundles need this.
	TargetsByRootKeys bool `json:"targetsByRootKeys"`
}

// Source serves the files of a metadata artifact by name: the registry's
// (repo:signet-tuf), or a copy of them elsewhere (DirSource).
type Source interface {
	Files(ctx context.Context) (map[string]v1.Descriptor, func(v1.Descriptor) ([]byte, error), error)
}

type registrySource struct {
	client *oci.Client
	repo   name.Repository
}

func (s registrySource) Files(ctx context.Context) (map[string]v1.Descriptor, func(v1.Descriptor) ([]byte, error), error) {
	files, fetch, err := s.client.Files(ctx, metadataTag(s.repo).String())
	if errors.Is(err, oci.ErrNotFound) {
		err = fmt.Errorf("%s has no signed tag heads or trust bundles (no %s; publish them with signet tag init and signet tag sign, or signet trust bundle push): %w",
			s.repo, metadataTag(s.repo), err)
	}
	return files, fetch, err
}

// DirSource serves the metadata files copied into dir (CopyMetadata).
type DirSource string

// Files lists dir's regular files by name; fetch reads one.
func (d DirSource) Files(context.Context) (map[string]v1.Descriptor, func(v1.Descriptor) ([]byte, error), error) {
	entries, err := os.ReadDir(string(d))
	if err != nil {
		return nil, nil, err
	}
	out := map[string]v1.Descriptor{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		out[e.Name()] = v1.Descriptor{Size: info.Size(), Annotations: map[string]string{oci.AnnotationTitle: e.Name()}}
	}
	return out, func(desc v1.Descriptor) ([]byte, error) {
		return os.ReadFile(filepath.Join(string(d), desc.Annotations[oci.AnnotationTitle]))
	}, nil
}

// CopyMetadata copies repo's metadata artifact, as stored, into dir, for a
// verifier without the registry (DirSource).
func CopyMetadata(ctx context.Context, client *oci.Client, repo name.Repository, dir string) error {
	files, fetch, err := registrySource{client, repo}.Files(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for n, d := range files {
		if filepath.Base(n) != n || strings.HasPrefix(n, ".") {
			return fmt.Errorf("%s: the metadata artifact has a file named %q", repo, n)
		}
		b, err := fetch(d)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Target returns the signed target path of repo's metadata after the
// full TUF workflow, reading the metadata from src (nil: the registry).
// The state kept is repo's, wherever the metadata is read from.
func (v *Verifier) Target(ctx context.Context, repo name.Repository, src Source, path string) (*Target, error) {
	if src == nil {
		src = registrySource{v.client, repo}
	}
	tf, exp, err := v.target(ctx, repo, src, path)
	if errors.Is(err, errNoTarget) {
		return nil, &Error{Class: ClassNotSigned, Err: fmt.Errorf("the metadata of %s signs no %s", repo, path)}
	}
	if err != nil {
		return nil, err
	}
	t := &Target{Path: path, Digest: "sha256:" + hex.EncodeToString(tf.Hashes["sha256"]), Size: tf.Length, Expires: exp.Expires, TargetsVersion: exp.version,
		TargetsByRootKeys: exp.targetsByRoot}
	if tf.Custom != nil {
		t.Custom = *tf.Custom
	}
	return t, nil
}

var errNoTarget = errors.New("no such target")

// trusted is what the workflow trusted besides the target.
type trusted struct {
	Expires       time.Time
	version       int64
	targetsByRoot bool
}

func (v *Verifier) target(ctx context.Context, repo name.Repository, src Source, path string) (*metadata.TargetFiles, trusted, error) {
	key := repo.Name()
	v.mu.Lock()
	l, ok := v.locks[key]
	if !ok {
		l = &sync.Mutex{}
		v.locks[key] = l
	}
	v.mu.Unlock()
	l.Lock()
	defer l.Unlock()

	dir, cleanup, err := v.dir(key)
	if err != nil {
		return nil, trusted{}, err
	}
	defer cleanup()
	// The newest root this verifier trusted, else the configured one.
	rootJSON := v.root
	if b, err := os.ReadFile(filepath.Join(dir, "root.json")); err == nil {
		rootJSON = b
	}
	f := &fetcher{ctx: ctx, src: src}
	cfg, err := config.New("oci://"+repo.Name(), rootJSON)
	if err != nil {
		return nil, trusted{}, err
	}
	cfg.LocalMetadataDir = dir
	cfg.LocalTargetsDir = filepath.Join(dir, "targets")
	cfg.Fetcher = f
	up, err := updater.New(cfg)
	if err != nil {
		return nil, trusted{}, &Error{Class: ClassUntrustedRoot, Err: err}
	}
	up.UnsafeSetRefTime(v.now())
	if err := up.Refresh(); err != nil {
		return nil, trusted{}, classify(err, f)
	}
	tf, err := up.GetTargetInfo(path)
	if err != nil {
		return nil, trusted{}, errNoTarget
	}
	tm := up.GetTrustedMetadataSet()
	return tf, trusted{Expires: expires(tm), version: tm.Targets[metadata.TARGETS].Signed.Version, targetsByRoot: targetsByRoot(tm.Root)}, nil
}

// targetsByRoot says whether every key root trusts for targets is a root key.
func targetsByRoot(root *metadata.Metadata[metadata.RootType]) bool {
	roles := root.Signed.Roles
	if roles[metadata.TARGETS] == nil || roles[metadata.ROOT] == nil || len(roles[metadata.TARGETS].KeyIDs) == 0 {
		return false
	}
	for _, id := range roles[metadata.TARGETS].KeyIDs {
		if !slices.Contains(roles[metadata.ROOT].KeyIDs, id) {
			return false
		}
	}
	return true
}

// checkBinding refuses a head signed for another repository than repo, or
// for none: with one root trusted across repositories, only the binding
// tells this repository's heads from metadata copied in from another.
func checkBinding(tf *metadata.TargetFiles, repo name.Repository, tag string) (string, error) {
	bound, err := boundRepository(tf)
	switch {
	case err != nil:
		return "", &Error{Class: ClassWrongRepository, Err: err}
	case bound == "":
		return "", &Error{Class: ClassWrongRepository, Err: fmt.Errorf("the signed head of %s:%s does not name its repository "+
			"(it was written by an older signet, before heads were bound to their repository): re-sign it with this version: signet tag sign %s:%s",
			repo, tag, repo, tag)}
	case !sameRepository(bound, repo.Name()):
		return "", &Error{Class: ClassWrongRepository, Err: fmt.Errorf("the signed head of %s:%s was signed for %s, not %s "+
			"(its metadata was copied from another repository?): publish this repository's own heads with signet tag init and signet tag sign",
			repo, tag, bound, repo.Name())}
	}
	return bound, nil
}

// expires is when the first of the trusted roles expires.
func expires(tm trustedmetadata.TrustedMetadata) time.Time {
	t := tm.Root.Signed.Expires
	for _, e := range []time.Time{tm.Timestamp.Signed.Expires, tm.Snapshot.Signed.Expires, tm.Targets[metadata.TARGETS].Signed.Expires} {
		if e.Before(t) {
			t = e
		}
	}
	return t
}

// sameRepository compares repository names as a registry routes them
// (policy.NormalizeRepository); a name with no canonical spelling matches
// nothing.
func sameRepository(a, b string) bool {
	na, errA := policy.NormalizeRepository(a)
	nb, errB := policy.NormalizeRepository(b)
	return errA == nil && errB == nil && na == nb
}

// Check refuses digest unless it is repo:tag's signed head.
func (v *Verifier) Check(ctx context.Context, repo name.Repository, tag, digest string) (*Head, error) {
	h, err := v.Head(ctx, repo, tag)
	if err != nil {
		return nil, err
	}
	if h.Digest != digest {
		return h, &Error{Class: ClassTagMismatch, Err: fmt.Errorf("%s:%s resolves to %s in the registry, but its signed head is %s", repo, tag, digest, h.Digest)}
	}
	return h, nil
}

func (v *Verifier) dir(repo string) (string, func(), error) {
	if v.state == "" {
		d, err := os.MkdirTemp("", "signet-taghead-")
		return d, func() { os.RemoveAll(d) }, err
	}
	// One directory per repository and configured root: the newest root
	// kept there was reached from this verifier's own root, so a verifier
	// configured with another root (another policy sharing the directory)
	// never starts from it.
	rootSum := sha256.Sum256(v.root)
	sum := sha256.Sum256([]byte(repo + "\x00" + hex.EncodeToString(rootSum[:])))
	d := filepath.Join(v.state, hex.EncodeToString(sum[:12]))
	return d, func() {}, os.MkdirAll(d, 0o700)
}

// classify names what a failed TUF refresh looks like. go-tuf reports
// versions going backwards and versions that disagree between roles with
// the same error type; its messages and the file being loaded tell which.
func classify(err error, f *fetcher) error {
	var bad *metadata.ErrBadVersionNumber
	var expired *metadata.ErrExpiredMetadata
	var unsigned *metadata.ErrUnsignedMetadata
	var mismatch *metadata.ErrLengthOrHashMismatch
	var download *metadata.ErrDownload
	class := ClassUntrustedRoot
	switch {
	case errors.Is(f.err, oci.ErrNotFound):
		// The registry says the metadata (or a file of it) is not there:
		// nothing signs a head for this tag.
		class, err = ClassNotSigned, f.err
	case f.err != nil:
		class, err = ClassUnavailable, f.err
	case errors.As(err, &expired):
		class = ClassFreeze
	case errors.As(err, &unsigned):
		class = ClassUntrustedRoot
	case errors.As(err, &mismatch):
		class = ClassMixAndMatch
	case errors.As(err, &bad):
		msg := bad.Msg
		switch {
		case strings.Contains(msg, "must be >="), strings.Contains(msg, "targets.json version"):
			// A newer version was trusted before (or the snapshot lists an
			// older targets than the trusted one).
			class = ClassRollback
		default:
			// The snapshot is not the one the timestamp names, or targets
			// not the one the snapshot names.
			class = ClassMixAndMatch
		}
	case errors.As(err, &download):
		class = ClassUnavailable
	}
	return &Error{Class: class, Err: err}
}

// fetcher serves the metadata artifact's files to go-tuf's updater, which
// asks for URLs under oci://<repo>/.
type fetcher struct {
	ctx context.Context
	src Source

	once  sync.Once
	files map[string]v1.Descriptor
	fetch func(v1.Descriptor) ([]byte, error)
	err   error // a registry failure, not a TUF refusal
}

func (f *fetcher) DownloadFile(urlPath string, maxLength int64, _ time.Duration) ([]byte, error) {
	f.once.Do(func() {
		f.files, f.fetch, f.err = f.src.Files(f.ctx)
	})
	if f.err != nil {
		return nil, &metadata.ErrDownload{Msg: f.err.Error()}
	}
	file := urlPath[strings.LastIndexByte(urlPath, '/')+1:]
	d, ok := f.files[file]
	if !ok {
		// What the updater expects when there is no newer root.
		return nil, &metadata.ErrDownloadHTTP{StatusCode: 404, URL: urlPath}
	}
	if d.Size > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s is %d bytes, over %d", file, d.Size, maxLength)}
	}
	b, err := f.fetch(d)
	if err != nil {
		f.err = err
		return nil, &metadata.ErrDownload{Msg: err.Error()}
	}
	return b, nil
}

// VerifierForDigest trusts the 1.root.json of repo's metadata if its SHA-256
// is rootDigest (hex), for policies that pin the root by digest.
func VerifierForDigest(ctx context.Context, client *oci.Client, repo name.Repository, rootDigest, stateDir string) (*Verifier, error) {
	files, fetch, err := client.Files(ctx, metadataTag(repo).String())
	if errors.Is(err, oci.ErrNotFound) {
		return nil, &Error{Class: ClassNotSigned, Err: fmt.Errorf("%s has no signed tag heads (no %s; publish them with signet tag init and signet tag sign): %w",
			repo, metadataTag(repo), err)}
	}
	if err != nil {
		return nil, &Error{Class: ClassUnavailable, Err: err}
	}
	d, ok := files["1.root.json"]
	if !ok {
		return nil, &Error{Class: ClassUntrustedRoot, Err: fmt.Errorf("%s: the metadata has no 1.root.json", repo)}
	}
	b, err := fetch(d)
	if err != nil {
		return nil, &Error{Class: ClassUnavailable, Err: err}
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != rootDigest {
		return nil, &Error{Class: ClassUntrustedRoot, Err: fmt.Errorf("%s: 1.root.json is sha256:%x, the policy trusts sha256:%s", repo, sum, rootDigest)}
	}
	return NewVerifier(client, b, stateDir)
}
