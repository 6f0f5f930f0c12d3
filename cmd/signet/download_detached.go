package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/verify"
)

// detachedDownload is download attestation's --predicate-file: where to
// write a detached predicate's document.
type detachedDownload struct {
	path string
	max  int64
}

func (d *detachedDownload) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&d.path, "predicate-file", "", "write the detached predicate's document (attest --detached) to this file, checked against the digest and size its statement names")
	cmd.Flags().Int64Var(&d.max, "max-predicate-size", verify.DefaultMaxDetachedBytes, maxPredicateUsage)
}

func (d *detachedDownload) check() error {
	if d.max < 1 {
		return usageError{fmt.Errorf("--max-predicate-size must be at least 1 byte, not %d (the default is %d, 2 GiB)", d.max, verify.DefaultMaxDetachedBytes)}
	}
	return nil
}

// detachedLine says where a detached predicate's document is.
func detachedLine(f attest.Found) string {
	p := f.Detached
	return fmt.Sprintf("%s %s: the predicate is detached: a %s document (%s) of %d bytes, %s, in artifact %s; write it with --predicate-file PATH",
		f.Layout, f.Manifest, p.PredicateType, p.MediaType, p.Size, p.Digest, p.Artifact)
}

// write writes the document of the one detached predicate among found to
// d.path (nothing without --predicate-file): into a file beside it, renamed
// to d.path only once the digest and size check passed.
func (d *detachedDownload) write(ctx context.Context, s *streams, client *oci.Client, t *oci.Target, found []attest.Found) error {
	if d.path == "" {
		return nil
	}
	p, err := oneDetached(found)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(d.path), "."+filepath.Base(d.path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := attest.WriteDetached(ctx, client, t, p, tmp, d.max); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), d.path); err != nil {
		return err
	}
	fmt.Fprintf(s.err, "wrote the %s document %s (%d bytes, %s) to %s (its statement NOT verified: verify-attestation trusts it)\n", p.PredicateType, p.Digest, p.Size, p.MediaType, d.path)
	return nil
}

// oneDetached is the document the detached predicates among found name:
// there must be one (several statements naming the same document count as
// one).
func oneDetached(found []attest.Found) (*attest.DetachedPredicate, error) {
	var docs []*attest.DetachedPredicate
	for _, f := range found {
		if f.Detached != nil && !containsDoc(docs, f.Detached) {
			docs = append(docs, f.Detached)
		}
	}
	switch len(docs) {
	case 0:
		return nil, errors.New("--predicate-file: none of the attestations found has a detached predicate (signet attest --detached): the statements above hold their predicates")
	case 1:
		return docs[0], nil
	}
	var names []string
	for _, p := range docs {
		names = append(names, fmt.Sprintf("%s %s in artifact %s", p.PredicateType, p.Digest, p.Artifact))
	}
	return nil, usageError{fmt.Errorf("--predicate-file: %d detached predicates were found (%s): name the one to write with --type", len(docs), strings.Join(names, "; "))}
}

func containsDoc(docs []*attest.DetachedPredicate, p *attest.DetachedPredicate) bool {
	for _, d := range docs {
		if d.PredicateType == p.PredicateType && d.Digest == p.Digest && d.Size == p.Size && d.MediaType == p.MediaType {
			return true
		}
	}
	return false
}
