package tlog_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/tlog"
)

// TestLoadKeyRefusals: a log key that is missing is fs.ErrNotExist (the log
// makes one); one that cannot be used says what it is not and what to do,
// in words, not the parser's.
func TestLoadKeyRefusals(t *testing.T) {
	dir := t.TempDir()
	if _, err := tlog.LoadKey(tlog.KeyPath(dir)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing key: %v, want fs.ErrNotExist", err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ec)
	for _, tc := range []struct {
		name, content, want string
	}{
		{"not PEM", "hello", "is not PEM"},
		{"not PKCS #8", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")})), "does not hold a PKCS #8 private key"},
		{"not Ed25519", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})), "is not an Ed25519 key"},
	} {
		p := filepath.Join(t.TempDir(), "log.key")
		if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := tlog.LoadKey(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "restore the log's own key") ||
			strings.Contains(err.Error(), "x509:") || strings.Contains(err.Error(), "*ecdsa") {
			t.Errorf("%s: %v, want %q and what to do, without the parser's words", tc.name, err, tc.want)
		}
	}
}
