// Package taghead signs tag heads: for each repository, a TUF repository
// (go-tuf v2 metadata: root, targets, snapshot, timestamp) whose targets map
// each signed tag to the manifest digest and size it must resolve to. The
// metadata is stored in the same registry, as an OCI artifact at the tag
// signet-tuf of that repository, so it travels with the images.
//
// A verifier runs the TUF client workflow against it and keeps the versions
// it has trusted, so it refuses what digest signing alone cannot: a tag
// moved back to an older, validly signed digest (tag-mismatch), old metadata
// replayed (rollback), metadata no longer refreshed (freeze), a snapshot
// and targets from different versions (mix-and-match), metadata signed by a
// key the root does not delegate to (untrusted-root), another repository's
// metadata copied in (wrong-repository: each head names its repository).
package taghead

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/signet-dev/signet/internal/lazyre"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
)

// MetadataTag is the tag, in each repository, of its TUF metadata artifact.
const MetadataTag = "signet-tuf"

// Media types of the metadata artifact.
const (
	ArtifactType = "application/vnd.signet.tuf.metadata.v1"
	RoleType     = "application/vnd.signet.tuf.role.v1+json"
)

// targetPrefix is where tags live among the targets: tags/<tag>.
const targetPrefix = "tags/"

// Expiry sets how long each role's metadata is valid.
type Expiry struct {
	Root, Targets, Snapshot, Timestamp time.Duration
}

// DefaultExpiry: a year for root, three months for targets and snapshot, a
// day for the timestamp (refresh it from a cron job: `signet tag refresh`).
var DefaultExpiry = Expiry{Root: 365 * 24 * time.Hour, Targets: 90 * 24 * time.Hour, Snapshot: 90 * 24 * time.Hour, Timestamp: 24 * time.Hour}

// Keys sign the roles. The root key is meant to stay offline; targets,
// snapshot and timestamp may share one online key.
type Keys struct {
	Root                         []signature.Signer
	Targets, Snapshot, Timestamp signature.Signer
}

// Repo is the metadata of one repository, as read or about to be written.
type Repo struct {
	// Repository is the repository the metadata belongs to (Init and Read
	// set it); SetHead binds each head it records to it.
	Repository name.Repository
	// Roots holds every root version, oldest first (clients walk them).
	Roots     []*metadata.Metadata[metadata.RootType]
	Targets   *metadata.Metadata[metadata.TargetsType]
	Snapshot  *metadata.Metadata[metadata.SnapshotType]
	Timestamp *metadata.Metadata[metadata.TimestampType]
}

// Root is the current root.
func (r *Repo) Root() *metadata.Metadata[metadata.RootType] { return r.Roots[len(r.Roots)-1] }

// Head is one signed tag.
type Head struct {
	Tag    string `json:"tag"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	// Repository is the repository the head was signed for ("" in
	// metadata written before heads named their repository).
	Repository string `json:"repository,omitempty"`
	// Expires is when the verified metadata naming the head expires (set
	// by a Verifier only): after it, the head must be verified again.
	Expires time.Time `json:"expires,omitzero"`
}

// binding is a target's custom metadata: the repository its head is for.
type binding struct {
	Repository string `json:"repository"`
}

// boundRepository reads the repository a target is signed for ("" when it
// names none).
func boundRepository(tf *metadata.TargetFiles) (string, error) {
	if tf.Custom == nil {
		return "", nil
	}
	var b binding
	if err := json.Unmarshal(*tf.Custom, &b); err != nil {
		return "", fmt.Errorf("reading the custom metadata of %s: %w", tf.Path, err)
	}
	return b.Repository, nil
}

func metadataTag(repo name.Repository) name.Tag { return repo.Tag(MetadataTag) }

// Init makes root version 1 trusting the keys' public halves (thresholds
// of 1, root threshold len(Root)), empty targets, and publishes it.
func Init(ctx context.Context, client *oci.Client, repo name.Repository, keys Keys, exp Expiry, now time.Time, log ...Logger) (*Repo, error) {
	root := metadata.Root(now.Add(exp.Root))
	root.Signed.ConsistentSnapshot = true
	for _, s := range keys.Root {
		if err := addKey(root, s, metadata.ROOT); err != nil {
			return nil, err
		}
	}
	for role, s := range map[string]signature.Signer{metadata.TARGETS: keys.Targets, metadata.SNAPSHOT: keys.Snapshot, metadata.TIMESTAMP: keys.Timestamp} {
		if err := addKey(root, s, role); err != nil {
			return nil, err
		}
	}
	root.Signed.Roles[metadata.ROOT].Threshold = len(keys.Root)
	for _, s := range keys.Root {
		if _, err := root.Sign(s); err != nil {
			return nil, fmt.Errorf("signing root: %w", err)
		}
	}
	r := &Repo{Repository: repo, Roots: []*metadata.Metadata[metadata.RootType]{root}, Targets: metadata.Targets(now.Add(exp.Targets))}
	if err := r.finish(keys, exp, now); err != nil {
		return nil, err
	}
	return r, Publish(ctx, client, repo, r, log...)
}

func addKey(root *metadata.Metadata[metadata.RootType], s signature.Signer, role string) error {
	if s == nil {
		return fmt.Errorf("no %s key", role)
	}
	pub, err := s.PublicKey()
	if err != nil {
		return err
	}
	k, err := metadata.KeyFromPublicKey(pub)
	if err != nil {
		return fmt.Errorf("%s key: %w", role, err)
	}
	return root.Signed.AddKey(k, role)
}

// finish signs targets (as it is) and makes the matching snapshot and
// timestamp, each one version up.
func (r *Repo) finish(keys Keys, exp Expiry, now time.Time) error {
	r.Targets.ClearSignatures()
	if _, err := r.Targets.Sign(keys.Targets); err != nil {
		return fmt.Errorf("signing targets: %w", err)
	}
	snapVersion := int64(1)
	if r.Snapshot != nil {
		snapVersion = r.Snapshot.Signed.Version + 1
	}
	r.Snapshot = metadata.Snapshot(now.Add(exp.Snapshot))
	r.Snapshot.Signed.Version = snapVersion
	r.Snapshot.Signed.Meta["targets.json"] = metadata.MetaFile(r.Targets.Signed.Version)
	if _, err := r.Snapshot.Sign(keys.Snapshot); err != nil {
		return fmt.Errorf("signing snapshot: %w", err)
	}
	return r.stamp(keys, exp, now)
}

// stamp makes a new timestamp for the current snapshot.
func (r *Repo) stamp(keys Keys, exp Expiry, now time.Time) error {
	tsVersion := int64(1)
	if r.Timestamp != nil {
		tsVersion = r.Timestamp.Signed.Version + 1
	}
	snap, err := r.Snapshot.ToBytes(false)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(snap)
	r.Timestamp = metadata.Timestamp(now.Add(exp.Timestamp))
	r.Timestamp.Signed.Version = tsVersion
	mf := metadata.MetaFile(r.Snapshot.Signed.Version)
	mf.Length = int64(len(snap))
	mf.Hashes = metadata.Hashes{"sha256": sum[:]}
	r.Timestamp.Signed.Meta["snapshot.json"] = mf
	if _, err := r.Timestamp.Sign(keys.Timestamp); err != nil {
		return fmt.Errorf("signing timestamp: %w", err)
	}
	return nil
}

// SetHead records tag -> digest in targets (version + 1), bound to
// r.Repository (the target's custom metadata names it, so the head cannot
// pass for another repository's), and re-signs targets, snapshot and
// timestamp with the online keys.
func (r *Repo) SetHead(keys Keys, exp Expiry, now time.Time, h Head) error {
	alg, hexDigest, ok := strings.Cut(h.Digest, ":")
	sum, err := hex.DecodeString(hexDigest)
	if !ok || alg != "sha256" || err != nil || len(sum) != sha256.Size {
		return fmt.Errorf("digest %q is not sha256:<64 hex>", h.Digest)
	}
	if !validTag.MatchString(h.Tag) {
		return fmt.Errorf("%q is not a tag", h.Tag)
	}
	if r.Repository.RepositoryStr() == "" {
		return errors.New("the metadata does not say which repository it is for (read it with taghead.Read or make it with taghead.Init)")
	}
	repo, err := policy.NormalizeRepository(r.Repository.Name())
	if err != nil {
		return fmt.Errorf("binding the head to its repository: %w", err)
	}
	custom, err := json.Marshal(binding{Repository: repo})
	if err != nil {
		return err
	}
	return r.setTarget(keys, exp, now, targetPrefix+h.Tag, sum, h.Size, custom)
}

// SetTarget records path -> digest (sha256:<64 hex>, of size bytes) with
// custom metadata in targets (version + 1) and re-signs targets, snapshot
// and timestamp, for artifacts other than tag heads (trust bundles). path
// is <kind>/<name>, kind not "tags" (SetHead's).
func (r *Repo) SetTarget(keys Keys, exp Expiry, now time.Time, path, digest string, size int64, custom json.RawMessage) error {
	alg, hexDigest, ok := strings.Cut(digest, ":")
	sum, err := hex.DecodeString(hexDigest)
	if !ok || alg != "sha256" || err != nil || len(sum) != sha256.Size {
		return fmt.Errorf("digest %q is not sha256:<64 hex>", digest)
	}
	if !validTargetPath.MatchString(path) || strings.HasPrefix(path, targetPrefix) {
		return fmt.Errorf("%q is not a target path (<kind>/<name>, kind not tags)", path)
	}
	return r.setTarget(keys, exp, now, path, sum, size, custom)
}

var validTargetPath = lazyre.New(`^[a-z][a-z-]{0,31}/[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

func (r *Repo) setTarget(keys Keys, exp Expiry, now time.Time, path string, sum []byte, size int64, custom json.RawMessage) error {
	tf := metadata.TargetFile()
	tf.Length = size
	tf.Hashes = metadata.Hashes{"sha256": sum}
	if custom != nil {
		tf.Custom = &custom
	}
	r.Targets.Signed.Targets[path] = tf
	r.Targets.Signed.Version++
	r.Targets.Signed.Expires = now.Add(exp.Targets)
	return r.finish(keys, exp, now)
}

// Refresh re-signs the timestamp (version + 1, a new expiry), for a cron job.
func (r *Repo) Refresh(keys Keys, exp Expiry, now time.Time) error { return r.stamp(keys, exp, now) }

var validTag = lazyre.New(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// Heads lists the signed tags of the metadata as read (unverified: use a
// Verifier to trust them).
func (r *Repo) Heads() []Head {
	var out []Head
	for path, tf := range r.Targets.Signed.Targets {
		tag, ok := strings.CutPrefix(path, targetPrefix)
		if !ok {
			continue
		}
		bound, _ := boundRepository(tf)
		out = append(out, Head{Tag: tag, Digest: "sha256:" + hex.EncodeToString(tf.Hashes["sha256"]), Size: tf.Length, Repository: bound})
	}
	return out
}

// files are the metadata files as a client fetches them.
func (r *Repo) files() ([]oci.File, error) {
	var out []oci.File
	add := func(name string, b []byte, err error) error {
		if err != nil {
			return err
		}
		out = append(out, oci.File{Name: name, Data: b})
		return nil
	}
	for _, root := range r.Roots {
		b, err := root.ToBytes(false)
		if err := add(fmt.Sprintf("%d.root.json", root.Signed.Version), b, err); err != nil {
			return nil, err
		}
	}
	b, err := r.Targets.ToBytes(false)
	if err := add(fmt.Sprintf("%d.targets.json", r.Targets.Signed.Version), b, err); err != nil {
		return nil, err
	}
	b, err = r.Snapshot.ToBytes(false)
	if err := add(fmt.Sprintf("%d.snapshot.json", r.Snapshot.Signed.Version), b, err); err != nil {
		return nil, err
	}
	b, err = r.Timestamp.ToBytes(false)
	if err := add("timestamp.json", b, err); err != nil {
		return nil, err
	}
	return out, nil
}

// Logger records a new targets version in a transparency log: it signs the
// targets file and returns the bundle (a *sign.Signer's SignBlob does).
type Logger func(ctx context.Context, targetsJSON []byte) ([]byte, error)

// Publish writes the metadata artifact to repo:signet-tuf. Every earlier
// targets version in the artifact is kept (N.targets.json, and the log
// bundle N.targets.bundle.json when one was made), so the history of heads
// stays with the repository; with log, the new targets version is recorded
// in the transparency log first.
func Publish(ctx context.Context, client *oci.Client, repo name.Repository, r *Repo, log ...Logger) error {
	files, err := r.files()
	if err != nil {
		return err
	}
	if len(log) > 0 && log[0] != nil {
		b, err := r.Targets.ToBytes(false)
		if err != nil {
			return err
		}
		bundle, err := log[0](ctx, b)
		if err != nil {
			return fmt.Errorf("logging targets version %d: %w", r.Targets.Signed.Version, err)
		}
		files = append(files, oci.File{Name: fmt.Sprintf("%d.targets.bundle.json", r.Targets.Signed.Version), Data: bundle})
	}
	old, err := history(ctx, client, repo, r.Targets.Signed.Version)
	if err != nil {
		return err
	}
	fresh := map[string]bool{}
	for _, f := range files {
		fresh[f.Name] = true
	}
	for _, f := range old {
		if !fresh[f.Name] {
			files = append(files, f)
		}
	}
	_, err = client.PutFiles(ctx, metadataTag(repo), ArtifactType, RoleType, files)
	return err
}

var historyFile = lazyre.New(`^(\d+)\.targets(\.bundle)?\.json$`)

// history fetches the earlier targets versions (and their log bundles) the
// artifact holds.
func history(ctx context.Context, client *oci.Client, repo name.Repository, current int64) ([]oci.File, error) {
	files, fetch, err := client.Files(ctx, metadataTag(repo).String())
	if errors.Is(err, oci.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []oci.File
	for n, d := range files {
		m := historyFile.FindStringSubmatch(n)
		if m == nil {
			continue
		}
		if v, _ := strconv.ParseInt(m[1], 10, 64); v > current {
			continue
		}
		b, err := fetch(d)
		if err != nil {
			return nil, err
		}
		out = append(out, oci.File{Name: n, Data: b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Version is one targets version in a repository's history.
type Version struct {
	Version int64  `json:"version"`
	Heads   []Head `json:"heads"`
	// Bundle is the transparency-log bundle recording it, when there is one.
	Bundle []byte `json:"-"`
}

// History lists the targets versions the metadata artifact keeps, oldest
// first, as stored (unverified).
func History(ctx context.Context, client *oci.Client, repo name.Repository) ([]Version, error) {
	files, fetch, err := client.Files(ctx, metadataTag(repo).String())
	if err != nil {
		return nil, err
	}
	byVersion := map[int64]*Version{}
	for n, d := range files {
		m := historyFile.FindStringSubmatch(n)
		if m == nil {
			continue
		}
		v, _ := strconv.ParseInt(m[1], 10, 64)
		ver := byVersion[v]
		if ver == nil {
			ver = &Version{Version: v}
			byVersion[v] = ver
		}
		b, err := fetch(d)
		if err != nil {
			return nil, err
		}
		if m[2] != "" {
			ver.Bundle = b
			continue
		}
		t, err := metadata.Targets().FromBytes(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		ver.Heads = (&Repo{Targets: t}).Heads()
	}
	var out []Version
	for _, v := range byVersion {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Read fetches the metadata artifact of repo as stored (nothing verified).
func Read(ctx context.Context, client *oci.Client, repo name.Repository) (*Repo, error) {
	files, fetch, err := client.Files(ctx, metadataTag(repo).String())
	if err != nil {
		if errors.Is(err, oci.ErrNotFound) {
			return nil, fmt.Errorf("%s has no signed tag heads (run signet tag init): %w", repo, err)
		}
		return nil, err
	}
	get := func(n string) ([]byte, error) {
		d, ok := files[n]
		if !ok {
			return nil, fmt.Errorf("%s: the metadata artifact has no %s", repo, n)
		}
		return fetch(d)
	}
	r := &Repo{Repository: repo}
	for v := 1; ; v++ {
		b, err := get(fmt.Sprintf("%d.root.json", v))
		if err != nil {
			break
		}
		root, err := metadata.Root().FromBytes(b)
		if err != nil {
			return nil, err
		}
		r.Roots = append(r.Roots, root)
	}
	if len(r.Roots) == 0 {
		return nil, fmt.Errorf("%s: the metadata artifact has no root", repo)
	}
	b, err := get("timestamp.json")
	if err != nil {
		return nil, err
	}
	if r.Timestamp, err = metadata.Timestamp().FromBytes(b); err != nil {
		return nil, err
	}
	snapVersion := r.Timestamp.Signed.Meta["snapshot.json"].Version
	if b, err = get(fmt.Sprintf("%d.snapshot.json", snapVersion)); err != nil {
		return nil, err
	}
	if r.Snapshot, err = metadata.Snapshot().FromBytes(b); err != nil {
		return nil, err
	}
	tv := r.Snapshot.Signed.Meta["targets.json"]
	if tv == nil {
		return nil, fmt.Errorf("%s: snapshot lists no targets", repo)
	}
	if b, err = get(fmt.Sprintf("%d.targets.json", tv.Version)); err != nil {
		return nil, err
	}
	if r.Targets, err = metadata.Targets().FromBytes(b); err != nil {
		return nil, err
	}
	return r, nil
}

// RotateRoot makes the next root version trusting newKeys for the root role
// (threshold len(newKeys)) and signs it with signers — which must include a
// threshold of the current root keys for clients to accept it — and with
// newKeys. The other roles' keys stay.
func (r *Repo) RotateRoot(signers, newKeys []signature.Signer, exp Expiry, now time.Time) error {
	old := r.Root()
	b, err := old.ToBytes(false)
	if err != nil {
		return err
	}
	next, err := metadata.Root().FromBytes(b)
	if err != nil {
		return err
	}
	next.ClearSignatures()
	next.Signed.Version++
	next.Signed.Expires = now.Add(exp.Root)
	for _, id := range slices.Clone(next.Signed.Roles[metadata.ROOT].KeyIDs) {
		if err := next.Signed.RevokeKey(id, metadata.ROOT); err != nil {
			return err
		}
	}
	for _, s := range newKeys {
		if err := addKey(next, s, metadata.ROOT); err != nil {
			return err
		}
	}
	next.Signed.Roles[metadata.ROOT].Threshold = len(newKeys)
	for _, s := range append(slices.Clone(signers), newKeys...) {
		if _, err := next.Sign(s); err != nil {
			return fmt.Errorf("signing root: %w", err)
		}
	}
	r.Roots = append(r.Roots, next)
	return nil
}
