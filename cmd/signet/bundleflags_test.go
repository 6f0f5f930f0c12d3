package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
)

// TestVerifyBundleFiles: --bundle adds signatures kept in files, with --key
// and with --policy; one made for another image is refused, and a file
// that holds no bundle is a bad input file.
func TestVerifyBundleFiles(t *testing.T) {
	t.Setenv("SIGNET_HOME", t.TempDir())
	dir := t.TempDir()
	reg := registrytest.New(t, true)
	a := reg.PushImage(t, "team/app:a")
	b := reg.PushImage(t, "team/app:b")
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := keys.PublicKeyPEM(priv.Public())
	sv, _ := keys.SignerVerifier(priv)
	s, err := sign.New(sv, oci.New())
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := s.Bundle(context.Background(), "team/app", a.DigestStr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := write("release.pub", string(pub))
	file := write("a.jsonl", string(bundle)+"\n")
	bad := write("bad.jsonl", string(bundle)+"\n{oops\n")
	pol := write("policy.yaml", "apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: \""+reg.Host+"/team/**\"\n    signers:\n      - {name: release, key: release.pub}\n")
	cases := []struct {
		name string
		args []string
		code int
		text []string
	}{
		{"key, bundle file", []string{"verify", "--key", key, "--bundle", file, a.String()}, exitOK, []string{"verified"}},
		{"key, no bundle file", []string{"verify", "--key", key, a.String()}, exitNoSignatures, nil},
		{"key, bundle for another image", []string{"verify", "--key", key, "--bundle", file, b.String()}, exitInvalid,
			[]string{"the bundle file holds a signature made for another image"}},
		{"policy, bundle file", []string{"verify", "--policy", pol, "--bundle", file, a.String()}, exitOK, nil},
		{"policy, bundle for another image", []string{"verify", "--policy", pol, "--bundle", file, b.String()}, exitPolicyDenied,
			[]string{"the bundle file holds a signature made for another image"}},
		{"malformed line", []string{"verify", "--key", key, "--bundle", bad, a.String()}, exitError, []string{"bad.jsonl line 2 is not JSON"}},
		{"missing file", []string{"verify", "--policy", pol, "--bundle", filepath.Join(dir, "missing"), a.String()}, exitError, []string{"missing"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := signet(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, stdout, stderr)
			}
			for _, text := range tc.text {
				if !strings.Contains(stdout+stderr, text) {
					t.Errorf("output does not say %q:\n%s%s", text, stdout, stderr)
				}
			}
		})
	}
}
