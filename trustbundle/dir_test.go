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
