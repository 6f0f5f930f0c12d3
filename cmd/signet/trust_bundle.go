package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/taghead"
	"github.com/signet-dev/signet/trustbundle"
)

func newTrustBundleCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Trust bundles: one signed, versioned OCI artifact with everything a verifier needs",
		Long: `A trust bundle holds a Sigstore trusted root, a signing config, policies,
public keys and a recall list, as one OCI artifact with a version that only
grows. It is signed with the offline root keys (the key files signet tag
init takes) as a TUF target of the repository's signed metadata, so a
verifier refuses an older bundle (rollback), one whose metadata is no longer
refreshed (freeze), and anything altered. See docs/trust-bundle.md.

  signet trust bundle create --version 1 --trusted-root trusted_root.json --key release.pub --recalls recalls.yaml -o bundle/
  signet trust bundle push bundle/ oci://registry.example.com/trust/bundle:prod --root-key root.key --key online.key
  signet tag refresh registry.example.com/trust/bundle --key online.key        # from a cron job, daily
  signet trust bundle verify oci://registry.example.com/trust/bundle:prod --root bundle.root.json
  signet verify --trust-bundle oci://registry.example.com/trust/bundle:prod --trust-bundle-root bundle.root.json IMAGE`,
	}
	cmd.AddCommand(newTrustBundleCreateCmd(s), newTrustBundlePushCmd(s), newTrustBundlePullCmd(s),
		newTrustBundleVerifyCmd(s), newTrustBundleLsCmd(s))
	return cmd
}

func newTrustBundleCreateCmd(s *streams) *cobra.Command {
	var version int64
	var trustedRoot, signingConfig, recalls, out string
	var policies, keyFiles []string
	cmd := &cobra.Command{
		Use:   "create --version N [--trusted-root F] [--signing-config F] [--policy F|DIR]... [--key F|DIR]... [--recalls F] -o DIR",
		Short: "Make a trust bundle directory from files (checked as what they are)",
		Long: `Make a trust bundle in a directory: contents.json (the version and every
file with its role, media type and digest) and the files, embedded as
given. Each file is parsed as its role says (a trusted root, a signing
config, a policy, a PEM public key, a recall list) and refused when it does
not parse. A directory given to --policy or --key adds every file in it.
--version must be above the version already signed where you push it.`,
		Example: `  signet trust bundle create --version 7 --trusted-root trusted_root.json \
    --policy policy.yaml --key keys/ --recalls recalls.yaml -o bundle/`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" || version < 1 {
				return usageError{errors.New("-o DIR and --version N (1 or more, raised with every bundle) are required")}
			}
			inputs, err := bundleInputs(trustedRoot, signingConfig, recalls, policies, keyFiles)
			if err != nil {
				return err
			}
			b, err := trustbundle.New(version, time.Now(), inputs)
			if err != nil {
				return err
			}
			if err := b.Check(); err != nil {
				return err
			}
			if err := b.WriteDir(out); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "Wrote trust bundle version %d to %s (%s)\n", version, out, count(len(b.Files), "file", "files"))
			return nil
		},
	}
	cmd.Flags().Int64Var(&version, "version", 0, "the bundle's version: raise it with every bundle (required)")
	cmd.Flags().StringVar(&trustedRoot, "trusted-root", "", "Sigstore trusted_root.json (CAs, transparency logs, TSAs)")
	cmd.Flags().StringVar(&signingConfig, "signing-config", "", "Sigstore signing_config.json")
	cmd.Flags().StringArrayVar(&policies, "policy", nil, "a signet policy file, or a directory of them (repeatable)")
	cmd.Flags().StringArrayVar(&keyFiles, "key", nil, "a PEM public key file, or a directory of them (repeatable)")
	cmd.Flags().StringVar(&recalls, "recalls", "", "recall list (signet.dev/v1alpha1 RecallList), embedded as is")
	cmd.Flags().StringVarP(&out, "out", "o", "", "directory to write the bundle to (required)")
	return cmd
}

// bundleInputs reads the files create was given.
func bundleInputs(trustedRoot, signingConfig, recalls string, policies, keyFiles []string) ([]trustbundle.Input, error) {
	var inputs []trustbundle.Input
	add := func(role trustbundle.Role, path string) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		inputs = append(inputs, trustbundle.Input{Name: filepath.Base(path), Role: role, Data: b})
		return nil
	}
	for role, p := range map[trustbundle.Role]string{trustbundle.RoleTrustedRoot: trustedRoot, trustbundle.RoleSigningConfig: signingConfig, trustbundle.RoleRecalls: recalls} {
		if p == "" {
			continue
		}
		if err := add(role, p); err != nil {
			return nil, err
		}
	}
	for role, paths := range map[trustbundle.Role][]string{trustbundle.RolePolicy: policies, trustbundle.RoleKey: keyFiles} {
		for _, p := range paths {
			files, err := filesIn(p)
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				if err := add(role, f); err != nil {
					return nil, err
				}
			}
		}
	}
	if len(inputs) == 0 {
		return nil, usageError{errors.New("nothing to bundle: give --trusted-root, --signing-config, --policy, --key or --recalls")}
	}
	return inputs, nil
}

// filesIn is path itself, or the regular files of the directory path.
func filesIn(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(path, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no files", path)
	}
	sort.Strings(out)
	return out, nil
}

// bundleRef names a bundle in a registry: oci://REPO:TAG (or REPO:TAG).
func bundleRef(client *oci.Client, ref string) (name.Tag, error) {
	r, err := client.ParseReference(strings.TrimPrefix(ref, "oci://"))
	if err != nil {
		return name.Tag{}, usageError{err}
	}
	tag, ok := r.(name.Tag)
	bare := strings.TrimPrefix(ref, "oci://")
	if !ok || !strings.Contains(bare[strings.LastIndex(bare, "/")+1:], ":") {
		return name.Tag{}, usageError{fmt.Errorf("%s: name the bundle as oci://REGISTRY/REPO:TAG (with its tag)", ref)}
	}
	return tag, nil
}

func newTrustBundlePushCmd(s *streams) *cobra.Command {
	var reg registryOptions
	var online, rootOut string
	var rootKeys []string
	exp := taghead.DefaultExpiry
	cmd := &cobra.Command{
		Use:   "push DIR oci://REGISTRY/REPO:TAG --root-key root.key [--key online.key]",
		Short: "Push a trust bundle and sign it with the root keys",
		Long: `Push the bundle in DIR to the registry and sign it: its digest and version
become the TUF target trust-bundles/TAG of the repository's signed metadata
(the signet-tuf tag, shared with signed tag heads), signed with the offline
root keys; the online key (--key, default: the first root key) signs the
snapshot and timestamp. The first push creates the metadata and writes its
root (root version 1) to --root-out: give that file to every verifier.
A version not above the one already signed at TAG is refused.

Refresh the timestamp before it expires (--timestamp-expiry, a day by
default), or verifiers refuse the bundle as frozen:
  signet tag refresh REGISTRY/REPO --key online.key`,
		Example: `  signet trust bundle push bundle/ oci://registry.example.com/trust/bundle:prod --root-key root.key --key online.key`,
		Args:    args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if len(rootKeys) == 0 {
				return usageError{errors.New("--root-key is required (at least one): the bundle is signed with the root keys")}
			}
			client := reg.client()
			tag, err := bundleRef(client, a[1])
			if err != nil {
				return err
			}
			b, err := trustbundle.ReadDir(a[0])
			if err != nil {
				return err
			}
			k, err := bundleKeys(cmd, s, rootKeys, online)
			if err != nil {
				return err
			}
			p, err := trustbundle.Publish(cmd.Context(), client, tag, b, k, exp, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(s.out, "Pushed trust bundle version %d to %s@%s, signed\n", p.Version, tag, p.Digest)
			if p.Root != nil {
				if rootOut == "" {
					rootOut = repoFileName(tag.Context()) + ".root.json"
				}
				if err := os.WriteFile(rootOut, p.Root, 0o644); err != nil {
					return err
				}
				fmt.Fprintf(s.out, "Created the repository's signed metadata; its root is in %s: verifiers trust it (--root, --trust-bundle-root)\n", rootOut)
			}
			return nil
		},
	}
	reg.addFlags(cmd)
	cmd.Flags().StringArrayVar(&rootKeys, "root-key", nil, "a root key (repeatable; the threshold is their number); keep it offline")
	cmd.Flags().StringVar(&online, "key", "", "the online key signing snapshot and timestamp (default: the first root key)")
	cmd.Flags().StringVar(&rootOut, "root-out", "", "where the first push writes the trusted root (default REPO.root.json in the working directory)")
	cmd.Flags().DurationVar(&exp.Root, "root-expiry", exp.Root, "how long the root is valid")
	cmd.Flags().DurationVar(&exp.Targets, "targets-expiry", exp.Targets, "how long the signed bundle target is valid")
	cmd.Flags().DurationVar(&exp.Snapshot, "snapshot-expiry", exp.Snapshot, "how long a snapshot is valid")
	cmd.Flags().DurationVar(&exp.Timestamp, "timestamp-expiry", exp.Timestamp, "how long a timestamp is valid: refresh before it runs out")
	return cmd
}

func bundleKeys(cmd *cobra.Command, s *streams, rootKeys []string, online string) (trustbundle.Keys, error) {
	l := keyLoader(s)
	var k trustbundle.Keys
	for _, r := range rootKeys {
		sv, err := l.LoadSigner(cmd.Context(), r)
		if err != nil {
			return k, err
		}
		k.Root = append(k.Root, signature.Signer(sv))
	}
	if online != "" {
		sv, err := l.LoadSigner(cmd.Context(), online)
		if err != nil {
			return k, err
		}
		k.Online = sv
	}
	return k, nil
}

// bundleVerifierOptions are the flags of the commands that verify a bundle.
type bundleVerifierOptions struct {
	reg  registryOptions
	root string
}

func (o *bundleVerifierOptions) addFlags(cmd *cobra.Command, required bool) {
	o.reg.addFlags(cmd)
	what := "the bundle repository's TUF root.json (written by the first push)"
	if !required {
		what += ": verify before listing"
	}
	cmd.Flags().StringVar(&o.root, "root", "", what)
}

// bundleStateDir keeps what bundle verifiers trusted: the newest TUF
// metadata and bundle version per repository and tag.
func bundleStateDir() string { return filepath.Join(signetHome(), "trust-bundles") }

func (o *bundleVerifierOptions) verifier(client *oci.Client) (*trustbundle.Verifier, error) {
	if o.root == "" {
		return nil, usageError{errors.New("--root is required: the TUF root.json the first push wrote")}
	}
	root, err := os.ReadFile(o.root)
	if err != nil {
		return nil, err
	}
	return trustbundle.NewVerifier(client, root, bundleStateDir())
}

// isBundleDir says whether src is a directory (else a registry reference).
func isBundleDir(src string) bool {
	if strings.HasPrefix(src, "oci://") {
		return false
	}
	info, err := os.Stat(src)
	return err == nil && info.IsDir()
}

// verifyBundle verifies src: a pulled directory or oci://REPO:TAG.
func verifyBundle(cmd *cobra.Command, v *trustbundle.Verifier, client *oci.Client, src string) (*trustbundle.Verified, error) {
	if isBundleDir(src) {
		return v.VerifyDir(cmd.Context(), src)
	}
	tag, err := bundleRef(client, src)
	if err != nil {
		return nil, err
	}
	return v.Verify(cmd.Context(), tag.String())
}

func newTrustBundlePullCmd(s *streams) *cobra.Command {
	var o bundleVerifierOptions
	cmd := &cobra.Command{
		Use:   "pull oci://REGISTRY/REPO:TAG DIR --root root.json",
		Short: "Verify a trust bundle and write it to a directory",
		Long: `Verify the bundle (signature, version not older than last seen, metadata
not expired) and write it to DIR with what verifies it again without the
registry (DIR/.signet: the manifest, the reference, the TUF metadata).
State (the newest version seen) is kept in $SIGNET_HOME/trust-bundles.`,
		Example: `  signet trust bundle pull oci://registry.example.com/trust/bundle:prod bundle/ --root bundle.root.json`,
		Args:    args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			client := o.reg.client()
			tag, err := bundleRef(client, a[0])
			if err != nil {
				return err
			}
			v, err := o.verifier(client)
			if err != nil {
				return err
			}
			vb, err := v.PullDir(cmd.Context(), tag.String(), a[1])
			if err != nil {
				return err
			}
			fmt.Fprintf(s.out, "Pulled trust bundle version %d (%s) to %s: verified, valid until %s\n", vb.Version, vb.Digest, a[1], vb.Expires.Format(time.RFC3339))
			return nil
		},
	}
	o.addFlags(cmd, true)
	return cmd
}

func newTrustBundleVerifyCmd(s *streams) *cobra.Command {
	var o bundleVerifierOptions
	var output string
	cmd := &cobra.Command{
		Use:   "verify oci://REGISTRY/REPO:TAG|DIR --root root.json [-o json]",
		Short: "Verify a pushed trust bundle or a pulled directory",
		Long: `Verify a trust bundle: signed by the root keys of --root, its version not
older than the last one seen (state in $SIGNET_HOME/trust-bundles), its
metadata not expired, every file as signed. A refusal names its class:
rollback, freeze, altered, untrusted-root, mix-and-match, wrong-repository,
not-signed (exit 4), or unavailable (exit 5).`,
		Example: `  signet trust bundle verify oci://registry.example.com/trust/bundle:prod --root bundle.root.json
  signet trust bundle verify bundle/ --root bundle.root.json -o json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := outputFormat(output); err != nil {
				return err
			}
			client := o.reg.client()
			v, err := o.verifier(client)
			if err != nil {
				return err
			}
			vb, err := verifyBundle(cmd, v, client, a[0])
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(s, bundleListing(vb.Bundle, vb))
			}
			fmt.Fprintf(s.out, "Verified trust bundle %s version %d (%s), valid until %s\n", vb.Reference, vb.Version, vb.Digest, vb.Expires.Format(time.RFC3339))
			return nil
		},
	}
	o.addFlags(cmd, true)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func newTrustBundleLsCmd(s *streams) *cobra.Command {
	var o bundleVerifierOptions
	var output string
	cmd := &cobra.Command{
		Use:   "ls oci://REGISTRY/REPO:TAG|DIR [--root root.json] [-o json]",
		Short: "List a trust bundle's version and files (verified with --root)",
		Long: `List the bundle's version and its files (name, role, media type, digest,
size). Without --root, the bundle is read as stored and only checked
against its own contents.json: it is not verified.`,
		Example: `  signet trust bundle ls oci://registry.example.com/trust/bundle:prod
  signet trust bundle ls bundle/ --root bundle.root.json -o json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := outputFormat(output); err != nil {
				return err
			}
			client := o.reg.client()
			var b *trustbundle.Bundle
			var vb *trustbundle.Verified
			var err error
			switch {
			case o.root != "":
				var v *trustbundle.Verifier
				if v, err = o.verifier(client); err == nil {
					vb, err = verifyBundle(cmd, v, client, a[0])
				}
				if vb != nil {
					b = vb.Bundle
				}
			case isBundleDir(a[0]):
				b, err = trustbundle.ReadDir(a[0])
			default:
				var tag name.Tag
				if tag, err = bundleRef(client, a[0]); err == nil {
					var p *trustbundle.Pulled
					if p, err = trustbundle.Pull(cmd.Context(), client, tag.String()); err == nil {
						b = p.Bundle
					}
				}
			}
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(s, bundleListing(b, vb))
			}
			verified := "not verified (give --root)"
			if vb != nil {
				verified = "verified, valid until " + vb.Expires.Format(time.RFC3339)
			}
			fmt.Fprintf(s.out, "Trust bundle version %d, created %s; %s\n", b.Contents.Version, b.Contents.Created.Format(time.RFC3339), verified)
			for _, f := range b.Files {
				fmt.Fprintf(s.out, "  %-16s %-24s %s  %d bytes\n", f.Role, f.Name, f.Digest, f.Size)
			}
			return nil
		},
	}
	o.addFlags(cmd, false)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// bundleListing is -o json of verify and ls.
func bundleListing(b *trustbundle.Bundle, vb *trustbundle.Verified) map[string]any {
	out := map[string]any{"version": b.Contents.Version, "created": b.Contents.Created, "files": b.Contents.Files, "verified": vb != nil}
	if vb != nil {
		out["reference"], out["digest"], out["expires"] = vb.Reference, vb.Digest, vb.Expires
		if vb.Dir != "" {
			out["dir"] = vb.Dir
		}
	}
	return out
}
