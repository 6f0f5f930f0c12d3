package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/registrytest"
)

// TestFirstMistakesRead: the mistakes a new user makes first — the wrong
// key, a malformed reference — print one human sentence each, in text and
// JSON, with no library internals.
func TestFirstMistakesRead(t *testing.T) {
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("SIGNET_HOME", t.TempDir())
	dir := t.TempDir()
	reg := registrytest.New(t, true)
	img := reg.PushImage(t, "team/app:v1").String()
	release, other := filepath.Join(dir, "release"), filepath.Join(dir, "other")
	for _, p := range []string{release, other} {
		if _, stderr, code := signet(t, "keys", "generate", "--output-prefix", p); code != exitOK {
			t.Fatalf("keys generate: %d %s", code, stderr)
		}
	}
	if _, stderr, code := signet(t, "sign", "--no-tlog", "--key", release+".key", img); code != exitOK {
		t.Fatalf("sign: %d %s", code, stderr)
	}
	internals := []string{"[", "Found:", "Expected", "threshold", "failed to", "could not", "name.Insecure", "proto"}
	bad := reg.Host + "/Team/App:v1"
	cases := []struct {
		name string
		args []string
		code int // -1: not checked here (the exit code table decides it)
		want string
		once string // said exactly once
	}{
		{"wrong key", []string{"verify", "--key", other + ".pub", img}, exitInvalid,
			"refused: signature does not verify with any trusted key: signed by a key that is not among the trusted keys (the signature claims key id ", ""},
		{"wrong key, json", []string{"verify", "--key", other + ".pub", "-o", "json", img}, exitInvalid,
			"; trusted: " + other + ".pub = ", ""},
		{"malformed reference, verify", []string{"verify", "--key", release + ".pub", bad}, -1,
			bad + ": invalid image reference: repository names must be lower case: Team/App (write team/app)", bad},
		{"malformed reference, sign", []string{"sign", "--no-tlog", "--key", release + ".key", bad}, -1,
			"invalid image reference: repository names must be lower case: Team/App", bad},
		{"malformed reference, inspect", []string{"inspect", bad}, -1,
			"invalid image reference: repository names must be lower case: Team/App", ""},
		{"scheme", []string{"verify", "--key", release + ".pub", "http://" + img}, -1,
			`drop the scheme "http://" (write ` + img + "); for a plain-HTTP registry use --allow-insecure-registry", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := signet(t, tc.args...)
			text := out + stderr
			if (tc.code >= 0 && code != tc.code) || !strings.Contains(text, tc.want) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s", code, tc.code, tc.want, text)
			}
			for _, frag := range internals {
				if strings.Contains(strings.ReplaceAll(text, "[\n", ""), frag) {
					t.Errorf("output carries %q:\n%s", frag, text)
				}
			}
			if tc.once != "" && strings.Count(text, tc.once) != 1 {
				t.Errorf("%q said %d times, want once:\n%s", tc.once, strings.Count(text, tc.once), text)
			}
		})
	}
}
