//go:build !signet_kms_linked

package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/signet-dev/signet/internal/registrytest"
)

// TestKMSPlugin checks that a KMS key reference reaches the provider
// program on PATH (sigstore's plugin protocol), that its answer is signet's,
// and what signet says when the program is missing. The program here is a
// shell script; the real ones (cmd/sigstore-kms-*) run in the e2e suite.
func TestKMSPlugin(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := cryptoutils.MarshalPublicKeyToPEM(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := `#!/bin/sh
printf '%s' "$2" > "` + filepath.Join(dir, "request.json") + `"
case "$2" in
*'"methodName":"publicKey"'*) printf '{"publicKey":{"publicKeyPEM":"` + base64.StdEncoding.EncodeToString(pubPEM) + `"}}' ;;
*) printf '{"errorMessage":"the fake vault refuses this"}' ;;
esac
`
	if err := os.WriteFile(filepath.Join(dir, "sigstore-kms-hashivault"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))

	out, stderr, code := signet(t, "keys", "public", "--key", "hashivault://transit/release")
	if code != exitOK || out != string(pubPEM) {
		t.Fatalf("keys public through the plugin: exit %d, %q (want the plugin's key)\n%s", code, out, stderr)
	}
	req, err := os.ReadFile(filepath.Join(dir, "request.json"))
	if err != nil || !strings.Contains(string(req), `"keyResourceID":"transit/release"`) {
		t.Fatalf("the plugin was asked %s (%v), want the key transit/release", req, err)
	}

	img := registrytest.New(t, false).PushImage(t, "team/app:v1")
	_, stderr, code = signet(t, "sign", "--key", "hashivault://transit/release", img.String())
	if code == exitOK || !strings.Contains(stderr, "the fake vault refuses this") {
		t.Fatalf("sign with a refusing plugin: exit %d, want its refusal:\n%s", code, stderr)
	}

	t.Setenv("PATH", t.TempDir())
	_, stderr, code = signet(t, "keys", "public", "--key", "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k")
	if code != exitError || !strings.Contains(stderr, "need the program sigstore-kms-gcpkms") {
		t.Fatalf("keys public with no plugin: exit %d, want the program named:\n%s", code, stderr)
	}
}
