package keys

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteKeyPairPlantedSymlinks: someone who can write in the output
// directory plants symlinks where the key files (or the temporary files
// they used to go through, PREFIX.key.tmp) will be, pointing at a file of
// the user's. Writing a key pair never writes through them: the file they
// point at is unchanged, and a key file that is written is a regular file
// of mode 0600.
func TestWriteKeyPairPlantedSymlinks(t *testing.T) {
	t.Parallel()
	priv, err := Generate(ED25519)
	if err != nil {
		t.Fatal(err)
	}
	const precious = "precious, not a key\n"
	for _, tc := range []struct {
		name      string
		link      string // planted next to the prefix, pointing at the victim
		dangling  bool   // the link points at a file that does not exist
		overwrite bool
		wantErr   error // nil: written
	}{
		{name: "at the old temporary private key", link: "release.key.tmp"},
		{name: "at the old temporary public key", link: "release.pub.tmp"},
		{name: "at the old temporary private key, with --force", link: "release.key.tmp", overwrite: true},
		{name: "at the private key", link: "release.key", wantErr: ErrExists},
		{name: "at the public key", link: "release.pub", wantErr: ErrExists},
		{name: "at the private key, with --force", link: "release.key", overwrite: true},
		{name: "at the private key, pointing nowhere", link: "release.key", dangling: true, wantErr: ErrExists},
		{name: "at the private key, pointing nowhere, with --force", link: "release.key", dangling: true, overwrite: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, outside := t.TempDir(), t.TempDir()
			victim := filepath.Join(outside, "victim")
			if !tc.dangling {
				if err := os.WriteFile(victim, []byte(precious), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(victim, filepath.Join(dir, tc.link)); err != nil {
				t.Fatal(err)
			}
			keyPath, pubPath, err := WriteKeyPair(filepath.Join(dir, "release"), priv, []byte("pw"), tc.overwrite)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got error %v, want %v", err, tc.wantErr)
			}
			got, rerr := os.ReadFile(victim)
			switch {
			case tc.dangling && rerr == nil:
				t.Fatalf("a file was created through the dangling symlink: %q", got)
			case !tc.dangling && string(got) != precious:
				t.Fatalf("the file behind the symlink was written: %q", got)
			}
			if err != nil {
				return
			}
			for _, p := range []string{keyPath, pubPath} {
				st, err := os.Lstat(p)
				if err != nil || !st.Mode().IsRegular() {
					t.Fatalf("%s is not a regular file: %v %v", p, st.Mode(), err)
				}
			}
			if st, _ := os.Lstat(keyPath); st.Mode().Perm() != 0o600 {
				t.Fatalf("private key mode %v, want 0600", st.Mode().Perm())
			}
			if _, err := ParsePrivateKey(mustRead(t, keyPath), []byte("pw")); err != nil {
				t.Fatalf("the key written does not load: %v", err)
			}
		})
	}
}
