package trustbundle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/taghead"
)

// sigDir holds, in a pulled bundle's directory, what verifies it: the
// manifest, the reference it was pulled from and the TUF metadata. Bundle
// file names cannot start with a dot, so it never clashes with one.
const sigDir = ".signet"

// PullDir verifies the bundle at ref and writes it to dir with what
// verifies it again without the registry (VerifyDir). The metadata is
// copied first and the bundle verified against that copy, so what is kept
// is exactly what was verified.
func (v *Verifier) PullDir(ctx context.Context, ref, dir string) (*Verified, error) {
	tag, err := bundleTag(v.client, ref)
	if err != nil {
		return nil, err
	}
	sd := filepath.Join(dir, sigDir)
	if err := plainDir(sd); err != nil {
		return nil, err
	}
	tufDir := filepath.Join(sd, "tuf")
	if err := os.RemoveAll(tufDir); err != nil {
		return nil, err
	}
	if err := taghead.CopyMetadata(ctx, v.client, tag.Context(), tufDir); err != nil {
		if errors.Is(err, oci.ErrNotFound) {
			return nil, &Error{Class: ClassNotSigned, Err: err}
		}
		return nil, &Error{Class: ClassUnavailable, Err: err}
	}
	t, sb, err := v.target(ctx, tag, taghead.DirSource(tufDir))
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
	if err := replaceFile(filepath.Join(sd, "manifest.json"), p.Manifest); err != nil {
		return nil, err
	}
	if err := replaceFile(filepath.Join(sd, "reference"), []byte(tag.String()+"\n")); err != nil {
		return nil, err
	}
	vb.manifest = p.Manifest
	return vb, vb.WriteDir(dir)
}

// plainDir refuses a symbolic link (or anything but a directory) at p, so
// that pulling never removes or writes through one; nothing there is fine.
func plainDir(p string) error {
	info, err := os.Lstat(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !info.IsDir():
		return fmt.Errorf("%s is not a directory (a symbolic link?): pull into a new directory", p)
	}
	return nil
}

// VerifyDir verifies a bundle directory written by PullDir, reading
// nothing from the network: the TUF metadata it holds (against this
// verifier's root and state) names the manifest's digest, the manifest
// names contents.json, and contents.json names every file.
func (v *Verifier) VerifyDir(ctx context.Context, dir string) (*Verified, error) {
	sd := filepath.Join(dir, sigDir)
	refB, err := readFileMax(filepath.Join(sd, "reference"), maxSmallFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s is not a pulled trust bundle (no %s/reference: pull it with signet trust bundle pull): %w", dir, sigDir, err)
		}
		return nil, err
	}
	tag, err := bundleTag(v.client, strings.TrimSpace(string(refB)))
	if err != nil {
		return nil, err
	}
	if v.expect != "" {
		want, err := bundleTag(v.client, v.expect)
		if err != nil {
			return nil, err
		}
		if tag.String() != want.String() {
			return nil, &Error{Class: ClassWrongRepository, Err: fmt.Errorf("%s holds the bundle of %s, not %s (another tag or repository signed by the same keys?)", dir, tag, want)}
		}
	}
	t, sb, err := v.target(ctx, tag, taghead.DirSource(filepath.Join(sd, "tuf")))
	if err != nil {
		return nil, err
	}
	manifest, err := readFileMax(filepath.Join(sd, "manifest.json"), maxSmallFile)
	if err != nil {
		return nil, &Error{Class: ClassAltered, Err: err}
	}
	if got := digestOf(manifest); got != t.Digest {
		return nil, &Error{Class: ClassAltered, Err: fmt.Errorf("%s/manifest.json is %s, the signed bundle %s", sd, got, t.Digest)}
	}
	contents, err := readFileMax(filepath.Join(dir, ContentsFile), maxSmallFile)
	if err != nil {
		return nil, &Error{Class: ClassAltered, Err: err}
	}
	if _, _, err := checkManifest(manifest, contents); err != nil {
		return nil, &Error{Class: ClassAltered, Err: err}
	}
	b, err := ReadDir(dir)
	if err != nil {
		return nil, &Error{Class: ClassAltered, Err: err}
	}
	vb, err := v.accept(tag, t, sb, b)
	if err != nil {
		return nil, err
	}
	vb.Dir = dir
	vb.manifest = manifest
	return vb, nil
}

// Keep writes the verified bundle's files, as verified, to a directory of
// their own under parent (named by the bundle's digest, written once) and
// returns it. A verifier that reads the files by path afterwards (a
// policy, its keys) reads these, not the directory it verified, which its
// owner may change after the verification; only the listed files are
// there.
func (vb *Verified) Keep(parent string) (string, error) {
	dir := filepath.Join(parent, strings.TrimPrefix(vb.Digest, "sha256:"))
	if _, err := os.Stat(filepath.Join(dir, ContentsFile)); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(parent, ".keep-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := vb.WriteDir(tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, ContentsFile)); serr == nil {
			return dir, nil // kept by another process meanwhile
		}
		return "", err
	}
	return dir, nil
}
