package trustbundle

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Pulling into a directory with symbolic links planted in it writes only
// inside it: a file's link is replaced, never followed; a linked .signet
// is refused.
func TestPullDirSymlinks(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.publish(1, "v1")
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("file links", func(t *testing.T) {
		dir := t.TempDir()
		for _, n := range []string{"policy.yaml", ContentsFile} {
			if err := os.Symlink(victim, filepath.Join(dir, n)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.verifier(t.TempDir()).PullDir(context.Background(), w.tag.String(), dir); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(victim); string(b) != "keep" {
			t.Fatalf("the pull wrote through a link outside its directory: %q", b)
		}
		if info, err := os.Lstat(filepath.Join(dir, "policy.yaml")); err != nil || !info.Mode().IsRegular() {
			t.Fatalf("policy.yaml is not a regular file: %v %v", info, err)
		}
	})
	t.Run("linked .signet", func(t *testing.T) {
		dir := t.TempDir()
		target := t.TempDir()
		if err := os.MkdirAll(filepath.Join(target, "tuf"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dir, ".signet")); err != nil {
			t.Fatal(err)
		}
		_, err := w.verifier(t.TempDir()).PullDir(context.Background(), w.tag.String(), dir)
		if err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Fatalf("got %v, want a refusal of the linked .signet", err)
		}
		if _, err := os.Stat(filepath.Join(target, "tuf")); err != nil {
			t.Fatalf("the pull removed through the link: %v", err)
		}
	})
}

// Keep writes what was verified, not what the directory holds after the
// verification (its owner can change it), and only the listed files.
func TestKeep(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.publish(1, "v1")
	dir := t.TempDir()
	v := w.verifier(t.TempDir())
	if _, err := v.PullDir(context.Background(), w.tag.String(), dir); err != nil {
		t.Fatal(err)
	}
	vb, err := v.VerifyDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	// Swapped after the verification, and a file planted.
	if err := os.WriteFile(filepath.Join(dir, "recalls.yaml"), []byte("swapped"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "extra.pub"), []byte("planted"), 0o644); err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	kept, err := vb.Keep(parent)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(kept, "recalls.yaml")); string(b) != "v1" {
		t.Fatalf("kept recalls.yaml is %q, want the verified v1", b)
	}
	if _, err := os.Stat(filepath.Join(kept, "extra.pub")); !os.IsNotExist(err) {
		t.Fatalf("an unlisted file was kept: %v", err)
	}
	again, err := vb.Keep(parent)
	if err != nil || again != kept {
		t.Fatalf("kept again at %s (%v), want %s", again, err, kept)
	}
	if _, err := ReadDir(kept); err != nil {
		t.Fatalf("the kept directory does not read as the bundle: %v", err)
	}
}

// A directory's files are read only as regular files, no more than their
// listed size: a link (to /dev/zero, or to a copy elsewhere) is refused.
func TestVerifyDirReadsRegularFiles(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.publish(1, "v1")
	for _, n := range []string{"recalls.yaml", ContentsFile, ".signet/manifest.json"} {
		t.Run(n, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			v := w.verifier(t.TempDir())
			if _, err := v.PullDir(context.Background(), w.tag.String(), dir); err != nil {
				t.Fatal(err)
			}
			// The same bytes, through a link to a copy outside the directory.
			p := filepath.Join(dir, n)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			cp := filepath.Join(t.TempDir(), "copy")
			if err := os.WriteFile(cp, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(cp, p); err != nil {
				t.Fatal(err)
			}
			_, err = v.VerifyDir(context.Background(), dir)
			wantClass(t, err, ClassAltered)
			if !strings.Contains(err.Error(), "not a regular file") {
				t.Fatalf("got %v, want a refusal of the link", err)
			}
		})
	}
}

// A directory names its own reference: with ExpectReference, a directory
// holding another tag's bundle (signed by the same keys) is refused.
func TestVerifyDirExpectReference(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.publish(1, "prod")
	staging := *w
	staging.tag = w.tag.Context().Tag("staging")
	staging.publish(1, "staging")
	dir := t.TempDir()
	if _, err := w.verifier("").PullDir(context.Background(), staging.tag.String(), dir); err != nil {
		t.Fatal(err)
	}
	// Without an expected reference, the staging bundle passes.
	if got, err := w.verifier("").VerifyDir(context.Background(), dir); err != nil || got.Reference != staging.tag.String() {
		t.Fatalf("%+v %v", got, err)
	}
	_, err := w.verifier("").ExpectReference("oci://"+w.tag.String()).VerifyDir(context.Background(), dir)
	wantClass(t, err, ClassWrongRepository)
	if got, err := w.verifier("").ExpectReference(staging.tag.String()).VerifyDir(context.Background(), dir); err != nil || got.Version != 1 {
		t.Fatalf("the expected reference: %+v %v", got, err)
	}
}
