package trustbundle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/taghead"
)

// targetKind is where bundles live among the repository's TUF targets:
// trust-bundles/<tag>.
const targetKind = "trust-bundles/"

// TargetPath is the TUF target naming the bundle at tag.
func TargetPath(tag string) string { return targetKind + tag }

// ErrNotNewer marks a push of a version not above the one already signed.
var ErrNotNewer = errors.New("the bundle version is not newer than the signed one")

// signedBundle is a bundle target's custom metadata: what the digest is,
// bound to its repository and tag.
type signedBundle struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Version    int64  `json:"version"`
}

// Keys sign a bundle: the offline root keys sign the TUF root and the
// targets naming each bundle (its digest and version); the online key
// signs snapshot and timestamp, and refreshes the timestamp (signet tag
// refresh) so that a verifier can tell a live repository from a frozen one.
type Keys struct {
	Root   []signature.Signer
	Online signature.Signer
}

func (k Keys) taghead() (taghead.Keys, error) {
	if len(k.Root) == 0 {
		return taghead.Keys{}, errors.New("no root key: a bundle is signed with the offline root keys")
	}
	online := k.Online
	if online == nil {
		online = k.Root[0]
	}
	return taghead.Keys{Root: k.Root, Targets: k.Root[0], Snapshot: online, Timestamp: online}, nil
}

// Published is what Publish wrote.
type Published struct {
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
	Version   int64  `json:"version"`
	// Root is the TUF root version 1, created when the repository had no
	// metadata (nil otherwise): verifiers trust it.
	Root []byte `json:"-"`
}

// Publish pushes b to tag and signs it: its digest and version become the
// TUF target trust-bundles/<tag> of the repository's metadata (created,
// with root version 1, when there is none), signed with keys. A version
// not above the one already signed for tag is refused (ErrNotNewer).
func Publish(ctx context.Context, client *oci.Client, tag name.Tag, b *Bundle, keys Keys, exp taghead.Expiry, now time.Time) (*Published, error) {
	tk, err := keys.taghead()
	if err != nil {
		return nil, err
	}
	repo := tag.Context()
	out := &Published{Reference: tag.String(), Version: b.Contents.Version}
	md, err := taghead.Read(ctx, client, repo)
	switch {
	case errors.Is(err, oci.ErrNotFound):
		if md, err = taghead.Init(ctx, client, repo, tk, exp, now); err != nil {
			return nil, fmt.Errorf("creating the signed metadata of %s: %w", repo, err)
		}
		if out.Root, err = md.Roots[0].ToBytes(true); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		if err := checkSigners(md, tk); err != nil {
			return nil, err
		}
		if prev, ok := signedVersion(md, tag.TagStr()); ok && prev >= b.Contents.Version {
			return nil, fmt.Errorf("%w: %s is signed at version %d; this bundle is version %d (raise version in the bundle: signet trust bundle create --version %d)",
				ErrNotNewer, tag, prev, b.Contents.Version, prev+1)
		}
	}
	d, err := Push(ctx, client, tag, b)
	if err != nil {
		return nil, err
	}
	raw, _, err := client.Manifest(ctx, repo.Digest(d.String()).String())
	if err != nil {
		return nil, err
	}
	norm, err := policy.NormalizeRepository(repo.Name())
	if err != nil {
		return nil, err
	}
	custom, err := json.Marshal(signedBundle{Repository: norm, Tag: tag.TagStr(), Version: b.Contents.Version})
	if err != nil {
		return nil, err
	}
	if err := md.SetTarget(tk, exp, now, TargetPath(tag.TagStr()), d.String(), int64(len(raw)), custom); err != nil {
		return nil, err
	}
	if err := taghead.Publish(ctx, client, repo, md); err != nil {
		return nil, fmt.Errorf("publishing the signed metadata of %s: %w", repo, err)
	}
	out.Digest = d.String()
	return out, nil
}

// checkSigners refuses keys the repository's root does not trust for
// targets (another root key) or timestamp (another online key): the
// verifiers would refuse what they sign.
func checkSigners(md *taghead.Repo, k taghead.Keys) error {
	roles := md.Root().Signed.Roles
	for _, id := range roles[metadata.TARGETS].KeyIDs {
		if !slices.Contains(roles[metadata.ROOT].KeyIDs, id) {
			return fmt.Errorf("the signed metadata of %s lets key %s, not a root key, sign targets (an online key, as signet tag init sets up for tag heads): verifiers refuse a bundle named so; push bundles to a repository of their own",
				md.Repository, id)
		}
	}
	for role, s := range map[string]signature.Signer{metadata.TARGETS: k.Targets, metadata.TIMESTAMP: k.Timestamp, metadata.SNAPSHOT: k.Snapshot} {
		pub, err := s.PublicKey()
		if err != nil {
			return err
		}
		key, err := metadata.KeyFromPublicKey(pub)
		if err != nil {
			return err
		}
		id, err := key.ID()
		if err != nil {
			return err
		}
		if !slices.Contains(md.Root().Signed.Roles[role].KeyIDs, id) {
			return fmt.Errorf("the signed metadata of %s does not trust this key for %s (key %s): sign with the root key (--root-key) and online key (--key) it was created with",
				md.Repository, role, id)
		}
	}
	return nil
}

// signedVersion is the version the metadata (as read) signs for tag.
func signedVersion(md *taghead.Repo, tag string) (int64, bool) {
	tf, ok := md.Targets.Signed.Targets[TargetPath(tag)]
	if !ok || tf.Custom == nil {
		return 0, false
	}
	var s signedBundle
	if json.Unmarshal(*tf.Custom, &s) != nil {
		return 0, false
	}
	return s.Version, true
}
