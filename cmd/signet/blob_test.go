package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBlobCommands(t *testing.T) {
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("SIGNET_HOME", t.TempDir())
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	generateKey(t, key)
	art := filepath.Join(dir, "app.tgz")
	data := []byte("the artifact")
	os.WriteFile(art, data, 0o644)
	sum := sha256.Sum256(data)
	stmt := filepath.Join(dir, "st.json")
	os.WriteFile(stmt, []byte(fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app.tgz","digest":{"sha256":"%x"}}],"predicateType":"https://example.com/p","predicate":{}}`, sum)), 0o644)
	b, ab := filepath.Join(dir, "b.json"), filepath.Join(dir, "ab.json")
	if out, stderr, code := signet(t, "sign-blob", "--no-tlog", "--key", key+".key", "--bundle", b, art); code != exitOK {
		t.Fatalf("sign-blob: %s %s", out, stderr)
	}
	if out, stderr, code := signet(t, "attest-blob", "--no-tlog", "--key", key+".key", "--statement", stmt, "--bundle", ab); code != exitOK {
		t.Fatalf("attest-blob: %s %s", out, stderr)
	}
	other := filepath.Join(dir, "other")
	os.WriteFile(other, []byte("x"), 0o644)
	cases := []struct {
		args []string
		code int
		text string
	}{
		{[]string{"verify-blob", "--key", key + ".pub", "--bundle", b, art}, exitOK, "verified with key"},
		{[]string{"verify-bundle", "--key", key + ".pub", "--bundle", b, fmt.Sprintf("sha256:%x", sum)}, exitOK, "verified with key"},
		{[]string{"verify-blob", "--key", key + ".pub", "--bundle", ab, art}, exitOK, "verified with key"},
		{[]string{"verify-blob", "--key", key + ".pub", "--bundle", b, other}, exitInvalid, "NOT verified"},
		{[]string{"verify-blob", "--key", key + ".pub", "--bundle", ab, other}, exitInvalid, "NOT verified"},
		{[]string{"verify-blob", "--key", key + ".pub", "--bundle", b, "sha256:abc"}, exitUsage, "not a sha256 digest"},
		{[]string{"attest-blob", "--no-tlog", "--key", key + ".key", "--statement", art, "--bundle", ab}, exitError, "parsing in-toto statement"},
	}
	for _, tc := range cases {
		out, stderr, code := signet(t, tc.args...)
		if code != tc.code || !strings.Contains(out+stderr, tc.text) {
			t.Errorf("%v: exit %d (want %d), lacks %q:\n%s%s", tc.args, code, tc.code, tc.text, out, stderr)
		}
	}
}
