package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/registrytest"
)

// TestKeysGeneratePlantedSymlinks: symlinks planted at PREFIX.key.tmp (the
// name key files used to go through) and at PREFIX.key, pointing at a file
// of the user's, are never written through.
func TestKeysGeneratePlantedSymlinks(t *testing.T) {
	t.Setenv("SIGNET_PASSWORD", "pw")
	dir, outside := t.TempDir(), t.TempDir()
	victim := filepath.Join(outside, "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	prefix := filepath.Join(dir, "release")
	os.Symlink(victim, prefix+".key.tmp")
	if _, stderr, code := signet(t, "keys", "generate", "--output-prefix", prefix); code != exitOK {
		t.Fatalf("generate beside a planted temporary-file symlink: %d %s", code, stderr)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("the key was written through %s.key.tmp: %q", prefix, b)
	}
	if st, err := os.Lstat(prefix + ".key"); err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s.key: %v %v, want a regular file of mode 0600", prefix, st, err)
	}

	other := filepath.Join(dir, "other")
	os.Symlink(victim, other+".key")
	if _, stderr, code := signet(t, "keys", "generate", "--output-prefix", other); code != exitError || !strings.Contains(stderr, "use --force") {
		t.Fatalf("generate onto a planted symlink: %d %s", code, stderr)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("the key was written through %s.key: %q", other, b)
	}
}

// TestKeysGenerateEmptyPassword: an empty password is allowed, as in cosign,
// but said; a password is not.
func TestKeysGenerateEmptyPassword(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SIGNET_PASSWORD", "")
	_, stderr, code := signet(t, "keys", "generate", "--output-prefix", filepath.Join(dir, "open"))
	if code != exitOK || !strings.Contains(stderr, "Warning: the password is empty") {
		t.Fatalf("empty password: %d %q, want a warning", code, stderr)
	}
	t.Setenv("SIGNET_PASSWORD", "pw")
	if _, stderr, code := signet(t, "keys", "generate", "--output-prefix", filepath.Join(dir, "closed")); code != exitOK || strings.Contains(stderr, "Warning") {
		t.Fatalf("with a password: %d %q", code, stderr)
	}
}

// TestSignMissingKeySaysOnlyThat: signing with a key file that is not there
// says so, without the no-log warning first (it is about a signature that
// will not be made).
func TestSignMissingKeySaysOnlyThat(t *testing.T) {
	t.Setenv("SIGNET_HOME", t.TempDir())
	reg := registrytest.New(t, true)
	img := reg.PushImage(t, "team/app:v1")
	_, stderr, code := signet(t, "sign", "--key", filepath.Join(t.TempDir(), "nope.key"), img.String())
	if code != exitError || !strings.Contains(stderr, "nope.key") || strings.Contains(stderr, "Warning") {
		t.Fatalf("sign with a missing key: %d %q", code, stderr)
	}
}

// TestUnknownFlagSuggestion: a misspelt flag gets the flag it most likely
// meant, as a misspelt command gets its command; a flag like none gets none.
func TestUnknownFlagSuggestion(t *testing.T) {
	_, stderr, code := signet(t, "verify", "--kee", "k.pub", "registry.example.com/app:v1")
	if code != exitUsage || !strings.Contains(stderr, "unknown flag: --kee; did you mean --key?") {
		t.Fatalf("--kee: %d %q", code, stderr)
	}
	_, stderr, code = signet(t, "verify", "--zzzzzz", "registry.example.com/app:v1")
	if code != exitUsage || strings.Contains(stderr, "did you mean") {
		t.Fatalf("--zzzzzz: %d %q", code, stderr)
	}
}
