package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/taghead"
	"github.com/signet-dev/signet/verify"
)

func newTagCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tag",
		Short: "Signed tag heads: a tag cannot be moved back to an older signed digest, nor frozen",
		Long: `Signed tag heads keep, per repository, TUF metadata (root, targets, snapshot,
timestamp) mapping each signed tag to its digest, stored in the registry at
the repository's signet-tuf tag. A policy with tags.signedHeads admits a tag
only at its signed head, and refuses replayed (rollback), expired (freeze)
and inconsistent (mix-and-match) metadata, and another repository's copied in
(wrong-repository: each head names its repository).

  signet tag init  REPO --root-key root.key --key online.key   # once, root key offline
  signet tag sign  REPO:TAG --key online.key                    # after signing the image
  signet tag refresh REPO --key online.key                      # from a cron job, before the timestamp expires
  signet tag ls    REPO [--root root.json]`,
	}
	cmd.AddCommand(newTagInitCmd(s), newTagSignCmd(s), newTagRefreshCmd(s), newTagLsCmd(s))
	return cmd
}

// tagKeyOptions are the keys and expiry periods the publishing commands take.
type tagKeyOptions struct {
	reg      registryOptions
	logs     logUploadOptions
	online   string
	rootKeys []string
	exp      taghead.Expiry
	sv       signature.SignerVerifier // the loaded online key
}

func (o *tagKeyOptions) addFlags(cmd *cobra.Command, root bool) {
	o.reg.addFlags(cmd)
	o.logs.addFlags(cmd)
	cmd.Flags().StringVar(&o.online, "key", "", "the online key signing targets, snapshot and timestamp (required)")
	if root {
		cmd.Flags().StringArrayVar(&o.rootKeys, "root-key", nil, "a root key (repeatable; the threshold is their number); keep it offline")
		cmd.Flags().DurationVar(&o.exp.Root, "root-expiry", taghead.DefaultExpiry.Root, "how long the root is valid")
	}
	cmd.Flags().DurationVar(&o.exp.Targets, "targets-expiry", taghead.DefaultExpiry.Targets, "how long targets (the tag heads) are valid")
	cmd.Flags().DurationVar(&o.exp.Snapshot, "snapshot-expiry", taghead.DefaultExpiry.Snapshot, "how long a snapshot is valid")
	cmd.Flags().DurationVar(&o.exp.Timestamp, "timestamp-expiry", taghead.DefaultExpiry.Timestamp, "how long a timestamp is valid: refresh before it runs out")
}

func (o *tagKeyOptions) keys(cmd *cobra.Command, s *streams) (taghead.Keys, error) {
	if o.online == "" {
		return taghead.Keys{}, usageError{errors.New("--key (the online key) is required")}
	}
	l := keyLoader(s)
	sv, err := l.LoadSigner(cmd.Context(), o.online)
	if err != nil {
		return taghead.Keys{}, err
	}
	o.sv = sv
	k := taghead.Keys{Targets: sv, Snapshot: sv, Timestamp: sv}
	for _, r := range o.rootKeys {
		rk, err := l.LoadSigner(cmd.Context(), r)
		if err != nil {
			return taghead.Keys{}, err
		}
		k.Root = append(k.Root, signature.Signer(rk))
	}
	return k, nil
}

// logger records each new targets version in the transparency log the
// flags (or the signing config) name, signed with the online key; nil when
// no log is configured.
func (o *tagKeyOptions) logger(cmd *cobra.Command, s *streams, client *oci.Client) (taghead.Logger, error) {
	opts, _, err := o.logs.signerOptions(cmd.Context(), time.Now())
	if err != nil || len(opts) == 0 {
		return nil, err
	}
	signer, err := sign.New(o.sv, client, opts...)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, targets []byte) ([]byte, error) {
		bundle, entries, err := signer.SignBlob(ctx, targets)
		for _, e := range entries {
			fmt.Fprintf(s.err, "Targets version logged at index %d (%s)\n", e.Index, e.Kind)
		}
		return bundle, err
	}, nil
}

// open loads the keys and names the repository a publishing command works on.
func (o *tagKeyOptions) open(cmd *cobra.Command, s *streams, ref string) (taghead.Keys, *oci.Client, name.Repository, error) {
	k, err := o.keys(cmd, s)
	if err != nil {
		return k, nil, name.Repository{}, err
	}
	client := o.reg.client()
	repo, err := repository(client, ref)
	return k, client, repo, err
}

func repository(client *oci.Client, ref string) (name.Repository, error) {
	r, err := client.ParseReference(ref)
	if err != nil {
		// A bare repository parses as a tag reference (":latest"); anything else is wrong.
		return name.Repository{}, usageError{err}
	}
	return r.Context(), nil
}

func newTagInitCmd(s *streams) *cobra.Command {
	var o tagKeyOptions
	cmd := &cobra.Command{
		Use:   "init REPO --root-key root.key --key online.key",
		Short: "Create a repository's signed-tag-head metadata (root version 1) and publish it",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if len(o.rootKeys) == 0 {
				return usageError{errors.New("--root-key is required (at least one)")}
			}
			if err := checkReferences(o.reg.client(), a[0]); err != nil {
				return err
			}
			k, client, repo, err := o.open(cmd, s, a[0])
			if err != nil {
				return err
			}
			log, err := o.logger(cmd, s, client)
			if err != nil {
				return err
			}
			r, err := taghead.Init(cmd.Context(), client, repo, k, o.exp, time.Now(), log)
			if err != nil {
				return err
			}
			rootJSON, err := r.Roots[0].ToBytes(true)
			if err != nil {
				return err
			}
			out := filepath.Join(".", repoFileName(repo)+".root.json")
			if err := os.WriteFile(out, rootJSON, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "Initialised signed tag heads for %s (%s:%s)\nTrusted root written to %s: name it in policies (tags.signedHeads.root)\n", repo, repo, taghead.MetadataTag, out)
			return nil
		},
	}
	o.addFlags(cmd, true)
	return cmd
}

func repoFileName(repo name.Repository) string {
	b := []byte(repo.Name())
	for i, c := range b {
		if c == '/' || c == ':' {
			b[i] = '_'
		}
	}
	return string(b)
}

func newTagSignCmd(s *streams) *cobra.Command {
	var o tagKeyOptions
	var sigKeys []string
	var allowUnsigned bool
	cmd := &cobra.Command{
		Use:   "sign REPO:TAG --key online.key [--signature-key release.pub]",
		Short: "Record the digest a tag resolves to now as its signed head (targets version + 1)",
		Long: `Resolve REPO:TAG, check the digest is signed (by --signature-key when given,
else that a signature is attached), and publish new metadata naming that
digest as the tag's head.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := checkReferences(o.reg.client(), a[0]); err != nil {
				return err
			}
			k, err := o.keys(cmd, s)
			if err != nil {
				return err
			}
			client := o.reg.client()
			ref, err := client.ParseReference(a[0])
			if err != nil {
				return usageError{err}
			}
			tag, ok := ref.(name.Tag)
			if !ok {
				return usageError{errors.New("give REPO:TAG: a signed head names a tag")}
			}
			t, err := client.Resolve(cmd.Context(), a[0])
			if err != nil {
				return err
			}
			if !allowUnsigned {
				if err := checkSigned(cmd, s, client, t, sigKeys); err != nil {
					return err
				}
			}
			r, err := taghead.Read(cmd.Context(), client, tag.Context())
			if err != nil {
				return err
			}
			now := time.Now()
			if err := r.SetHead(k, o.exp, now, taghead.Head{Tag: tag.TagStr(), Digest: t.Digest.DigestStr(), Size: t.Descriptor.Size}); err != nil {
				return err
			}
			log, err := o.logger(cmd, s, client)
			if err != nil {
				return err
			}
			if err := taghead.Publish(cmd.Context(), client, tag.Context(), r, log); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "Signed head %s -> %s (targets version %d, timestamp expires %s)\n", tag, t.Digest.DigestStr(),
				r.Targets.Signed.Version, r.Timestamp.Signed.Expires.Format(time.RFC3339))
			return nil
		},
	}
	o.addFlags(cmd, false)
	cmd.Flags().StringArrayVar(&sigKeys, "signature-key", nil, "public key the image's signature must verify with (repeatable)")
	cmd.Flags().BoolVar(&allowUnsigned, "allow-unsigned", false, "record the head even if the digest is not signed")
	return cmd
}

// checkSigned refuses a digest without a signature (verified with keys when
// given).
func checkSigned(cmd *cobra.Command, s *streams, client *oci.Client, t *oci.Target, keyRefs []string) error {
	if len(keyRefs) == 0 {
		arts, err := client.Discover(cmd.Context(), t)
		if err != nil {
			return err
		}
		for _, a := range arts {
			if a.Kind == oci.KindSimpleSigning || (a.Kind == oci.KindBundle && a.PredicateType() == oci.CosignSignPredicateType) {
				return nil
			}
		}
		return fmt.Errorf("%s: %w: sign it first (or --allow-unsigned)", t.Digest, verify.ErrNoSignatures)
	}
	var ks []verify.Key
	for _, ref := range keyRefs {
		_, pub, err := keyLoader(s).LoadVerifier(cmd.Context(), ref)
		if err != nil {
			return err
		}
		ks = append(ks, verify.Key{Name: ref, PublicKey: pub})
	}
	v, err := verify.New(client, ks)
	if err != nil {
		return err
	}
	if _, err := v.Verify(cmd.Context(), t.Digest.String(), verify.Request{}); err != nil {
		return fmt.Errorf("refusing to sign the head: %w", err)
	}
	return nil
}

func newTagRefreshCmd(s *streams) *cobra.Command {
	var o tagKeyOptions
	cmd := &cobra.Command{
		Use:   "refresh REPO --key online.key",
		Short: "Re-sign the timestamp so the metadata does not expire (run it from a cron job)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := checkReferences(o.reg.client(), a[0]); err != nil {
				return err
			}
			k, client, repo, err := o.open(cmd, s, a[0])
			if err != nil {
				return err
			}
			r, err := taghead.Read(cmd.Context(), client, repo)
			if err != nil {
				return err
			}
			if err := r.Refresh(k, o.exp, time.Now()); err != nil {
				return err
			}
			if err := taghead.Publish(cmd.Context(), client, repo, r); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "Refreshed %s: timestamp version %d, expires %s\n", repo, r.Timestamp.Signed.Version, r.Timestamp.Signed.Expires.Format(time.RFC3339))
			return nil
		},
	}
	o.addFlags(cmd, false)
	return cmd
}

func newTagLsCmd(s *streams) *cobra.Command {
	var reg registryOptions
	var rootFile, output string
	var hist bool
	cmd := &cobra.Command{
		Use:   "ls REPO [--root root.json] [--history]",
		Short: "List a repository's signed tag heads with versions and expiry (verified with --root)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := outputFormat(output); err != nil {
				return err
			}
			client := reg.client()
			repo, err := repository(client, a[0])
			if err != nil {
				return err
			}
			if hist {
				return printTagHistory(cmd, s, client, repo, output)
			}
			r, err := taghead.Read(cmd.Context(), client, repo)
			if err != nil {
				return err
			}
			heads := r.Heads()
			sort.Slice(heads, func(i, j int) bool { return heads[i].Tag < heads[j].Tag })
			verified := "not verified (give --root)"
			if rootFile != "" {
				root, err := os.ReadFile(rootFile)
				if err != nil {
					return err
				}
				v, err := taghead.NewVerifier(client, root, filepath.Join(signetHome(), "tag-heads"))
				if err != nil {
					return err
				}
				for i, h := range heads {
					vh, err := v.Head(cmd.Context(), repo, h.Tag)
					if err != nil {
						return err
					}
					heads[i] = *vh
				}
				verified = "verified against " + rootFile
			}
			if output == "json" {
				return printJSON(s, map[string]any{"repository": repo.Name(), "heads": heads, "targetsVersion": r.Targets.Signed.Version,
					"timestampVersion": r.Timestamp.Signed.Version, "timestampExpires": r.Timestamp.Signed.Expires, "rootVersion": r.Root().Signed.Version})
			}
			fmt.Fprintf(s.out, "%s: root v%d, targets v%d (expires %s), timestamp v%d (expires %s); %s\n", repo, r.Root().Signed.Version,
				r.Targets.Signed.Version, r.Targets.Signed.Expires.Format(time.RFC3339), r.Timestamp.Signed.Version,
				r.Timestamp.Signed.Expires.Format(time.RFC3339), verified)
			for _, h := range heads {
				fmt.Fprintf(s.out, "  %s\t%s\n", h.Tag, h.Digest)
			}
			return nil
		},
	}
	reg.addFlags(cmd)
	cmd.Flags().StringVar(&rootFile, "root", "", "trusted root.json: run the TUF client workflow (with rollback state in $SIGNET_HOME/tag-heads)")
	cmd.Flags().BoolVar(&hist, "history", false, "every targets version the repository keeps, with its transparency-log entry")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// printTagHistory lists every targets version kept, oldest first.
func printTagHistory(cmd *cobra.Command, s *streams, client *oci.Client, repo name.Repository, output string) error {
	vs, err := taghead.History(cmd.Context(), client, repo)
	if err != nil {
		return err
	}
	type row struct {
		taghead.Version
		LogIndex *int64 `json:"logIndex,omitempty"`
	}
	var rows []row
	for _, v := range vs {
		r := row{Version: v}
		var b bundle.Bundle
		if len(v.Bundle) > 0 && b.UnmarshalJSON(v.Bundle) == nil {
			for _, e := range b.GetVerificationMaterial().GetTlogEntries() {
				idx := e.GetLogIndex()
				r.LogIndex = &idx
			}
		}
		rows = append(rows, r)
	}
	if output == "json" {
		return printJSON(s, rows)
	}
	for _, r := range rows {
		logged := "not logged"
		if r.LogIndex != nil {
			logged = fmt.Sprintf("log index %d", *r.LogIndex)
		}
		fmt.Fprintf(s.out, "targets v%d (%s)\n", r.Version.Version, logged)
		for _, h := range r.Heads {
			fmt.Fprintf(s.out, "  %s\t%s\n", h.Tag, h.Digest)
		}
	}
	return nil
}
