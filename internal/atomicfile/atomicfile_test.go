package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestNeverThroughSymlinks: Create refuses whatever is at the path (a
// symlink too, even a dangling one) and Replace replaces a symlink rather
// than writing through it; the file a symlink points at is never written,
// the mode is the one asked for, and no temporary file is left behind.
func TestNeverThroughSymlinks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		write    func(string, []byte, fs.FileMode) error
		plant    string // "file", "symlink", "dangling" or ""
		wantErr  error
		wantFile bool
	}{
		{"create, nothing there", Create, "", nil, true},
		{"create over a file", Create, "file", fs.ErrExist, false},
		{"create over a symlink", Create, "symlink", fs.ErrExist, false},
		{"create over a dangling symlink", Create, "dangling", fs.ErrExist, false},
		{"replace, nothing there", Replace, "", nil, true},
		{"replace a file", Replace, "file", nil, true},
		{"replace a symlink", Replace, "symlink", nil, true},
		{"replace a dangling symlink", Replace, "dangling", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, outside := t.TempDir(), t.TempDir()
			path, victim := filepath.Join(dir, "secret"), filepath.Join(outside, "victim")
			switch tc.plant {
			case "file":
				os.WriteFile(path, []byte("old"), 0o644)
			case "symlink":
				os.WriteFile(victim, []byte("victim"), 0o644)
				os.Symlink(victim, path)
			case "dangling":
				os.Symlink(victim, path)
			}
			err := tc.write(path, []byte("new"), 0o600)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
			if b, err := os.ReadFile(victim); tc.plant == "symlink" && string(b) != "victim" || tc.plant == "dangling" && err == nil {
				t.Fatalf("written through the symlink: %q", b)
			}
			if tc.wantFile {
				st, err := os.Lstat(path)
				if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
					t.Fatalf("%s: %v %v, want a regular file of mode 0600", path, st, err)
				}
				if b, _ := os.ReadFile(path); string(b) != "new" {
					t.Fatalf("content %q", b)
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Fatalf("left behind: %v", entries)
			}
		})
	}
}
