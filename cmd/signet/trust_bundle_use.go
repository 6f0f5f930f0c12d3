package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/trustbundle"
)

// bundleTrust is the flag group of commands that take their trust from a
// trust bundle (--trust-bundle, --trust-bundle-root).
type bundleTrust struct {
	ref    string
	root   string
	expect string
}

func (b *bundleTrust) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&b.ref, "trust-bundle", "", "take the trusted root, keys, policy and recall list from a signed trust bundle: "+
		"oci://REGISTRY/REPO:TAG or a directory from 'signet trust bundle pull' (no other trust material is fetched)")
	cmd.Flags().StringVar(&b.root, "trust-bundle-root", "", "with --trust-bundle: the bundle repository's TUF root.json (written by its first push)")
	cmd.Flags().StringVar(&b.expect, "trust-bundle-ref", "", "with --trust-bundle DIR: the REPO:TAG the directory's bundle must have been pulled from "+
		"(a directory names its own, and a bundle of any tag signed by the same keys verifies)")
}

// usedBundle is a verified bundle and the directory holding its files.
type usedBundle struct {
	*trustbundle.Verified
	dir string
}

// path is where the bundle's file of role is ("" when it has none).
func (u *usedBundle) path(role trustbundle.Role) string {
	if f, ok := u.File(role); ok {
		return filepath.Join(u.dir, f.Name)
	}
	return ""
}

// paths are the bundle's files of role.
func (u *usedBundle) paths(role trustbundle.Role) []string {
	var out []string
	for _, f := range u.All(role) {
		out = append(out, filepath.Join(u.dir, f.Name))
	}
	return out
}

// load verifies the bundle: a directory as it is; a registry's through a
// cache of the last good one in $SIGNET_HOME/trust-bundles/cache, used
// when the registry cannot be read (stale says why), never when the
// bundle is refused.
func (b *bundleTrust) load(ctx context.Context, client *oci.Client) (u *usedBundle, stale error, err error) {
	if b.root == "" {
		return nil, nil, usageError{errors.New("--trust-bundle-root is required with --trust-bundle: the TUF root.json the bundle's first push wrote")}
	}
	root, err := os.ReadFile(b.root)
	if err != nil {
		return nil, nil, err
	}
	v, err := trustbundle.NewVerifier(client, root, bundleStateDir())
	if err != nil {
		return nil, nil, err
	}
	if isBundleDir(b.ref) {
		if b.expect != "" {
			v.ExpectReference(b.expect)
		}
		vb, err := v.VerifyDir(ctx, b.ref)
		if err != nil {
			return nil, nil, err
		}
		// Use the files as verified, not the directory, which its owner
		// can change after the verification.
		kept, err := vb.Keep(filepath.Join(bundleStateDir(), "kept"))
		if err != nil {
			return nil, nil, err
		}
		return &usedBundle{vb, kept}, nil, nil
	}
	tag, err := bundleRef(client, b.ref)
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256([]byte(tag.String()))
	cache := filepath.Join(bundleStateDir(), "cache", hex.EncodeToString(sum[:12]))
	vb, _, stale, err := v.Refresh(ctx, tag.String(), cache)
	if err != nil {
		return nil, nil, err
	}
	// Not the cache's directory, which another process's refresh can
	// replace while this one reads it (a policy from one version, a
	// trusted root from another): the verified files, kept by digest.
	kept, err := vb.Keep(filepath.Join(bundleStateDir(), "kept"))
	if err != nil {
		return nil, nil, err
	}
	return &usedBundle{vb, kept}, stale, nil
}

// loadWarn is load, printing a warning when the last good bundle is used.
func (b *bundleTrust) loadWarn(ctx context.Context, s *streams, client *oci.Client) (*usedBundle, error) {
	u, stale, err := b.load(ctx, client)
	if stale != nil {
		fmt.Fprintf(s.err, "Warning: using the last good trust bundle (version %d, valid until %s): %v\n", u.Version, u.Expires.Format(time.RFC3339), stale)
	}
	return u, err
}

// useBundle takes the trusted root and recall list from the bundle, and
// nothing from $SIGNET_HOME or Sigstore's TUF repository.
func (o *trustOptions) useBundle(u *usedBundle) error {
	if o.trustedRoot != "" || o.recalls != "" {
		return usageError{errors.New("--trust-bundle supplies the trusted root and the recall list: do not also give --trusted-root or --recalls")}
	}
	o.trustedRoot, o.recalls, o.fromBundle = u.path(trustbundle.RoleTrustedRoot), u.path(trustbundle.RoleRecalls), true
	return nil
}

// bundlePolicy picks the policy verify uses from the bundle: the one named
// (by file name), else its only one; "" when the bundle has none.
func (u *usedBundle) bundlePolicy(named string) (string, error) {
	ps := u.All(trustbundle.RolePolicy)
	if named != "" {
		for _, p := range ps {
			if p.Name == filepath.Base(named) {
				return filepath.Join(u.dir, p.Name), nil
			}
		}
		return "", usageError{fmt.Errorf("the trust bundle has no policy %s (it has: %s)", named, names(ps))}
	}
	switch len(ps) {
	case 0:
		return "", nil
	case 1:
		return filepath.Join(u.dir, ps[0].Name), nil
	}
	return "", usageError{fmt.Errorf("the trust bundle has %d policies (%s): choose one with --policy NAME", len(ps), names(ps))}
}

func names(fs []trustbundle.File) string {
	var n []string
	for _, f := range fs {
		n = append(n, f.Name)
	}
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ", ")
}

// bundleForVerify loads --trust-bundle for a verifying command and takes
// its trusted root and recall list. --key is refused: the bundle's keys are
// the trusted ones.
func bundleForVerify(cmd *cobra.Command, s *streams, reg registryOptions, trust *trustOptions, tb *bundleTrust, keyRefs []string) (*usedBundle, error) {
	if len(keyRefs) > 0 {
		return nil, usageError{errors.New("--trust-bundle supplies the trusted keys: do not also give --key")}
	}
	u, err := tb.loadWarn(cmd.Context(), s, reg.client())
	if err != nil {
		return nil, err
	}
	return u, trust.useBundle(u)
}

// keys are the bundle's key files, the trusted signers of a verification
// without a policy.
func (u *usedBundle) keys() ([]string, error) {
	k := u.paths(trustbundle.RoleKey)
	if len(k) == 0 {
		return nil, usageError{fmt.Errorf("the trust bundle %s (version %d) has no policy and no key: give a keyless identity (--certificate-identity, --certificate-oidc-issuer)", u.Reference, u.Version)}
	}
	return k, nil
}

// verifyFromBundle loads --trust-bundle for verify: the trusted root and
// recall list always; the policy named with --policy (by its file name in
// the bundle), else the bundle's only policy, else (and without a keyless
// identity) its keys.
func verifyFromBundle(cmd *cobra.Command, s *streams, reg registryOptions, trust *trustOptions, tb *bundleTrust, polFile string, keyRefs []string, keyless bool) (string, []string, error) {
	u, err := bundleForVerify(cmd, s, reg, trust, tb, keyRefs)
	if err != nil {
		return "", nil, err
	}
	if keyless && polFile == "" {
		return "", nil, nil
	}
	if polFile, err = u.bundlePolicy(polFile); err != nil || polFile != "" {
		return polFile, nil, err
	}
	keyRefs, err = u.keys()
	return "", keyRefs, err
}

// attestationFromBundle loads --trust-bundle for verify-attestation: the
// trusted root and recall list always; the signers are the keyless
// identity given, else the bundle's keys when they may be trusted alone
// (trustbundle's KeysAlone: not under a policy verify-attestation cannot
// apply).
func attestationFromBundle(cmd *cobra.Command, s *streams, reg registryOptions, trust *trustOptions, tb *bundleTrust, keyRefs []string, keyless bool) ([]string, error) {
	u, err := bundleForVerify(cmd, s, reg, trust, tb, keyRefs)
	if err != nil || keyless {
		return nil, err
	}
	if err := u.KeysAlone(); err != nil {
		return nil, usageError{fmt.Errorf("the trust bundle %s (version %d) %w; check attestations under it with 'signet verify --trust-bundle' "+
			"(its rules' attestations), or give a keyless identity", u.Reference, u.Version, err)}
	}
	return u.keys()
}
