package verify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

func TestVerifyBlob(t *testing.T) {
	t.Parallel()
	priv, _ := keys.Generate(keys.ECDSAP256)
	sv, _ := keys.SignerVerifier(priv)
	kp, _ := keys.NewKeypair(sv)
	artifact := []byte("release-1.4.tar.gz contents")
	pb, err := sgsign.Bundle(&sgsign.PlainData{Data: artifact}, kp, sgsign.BundleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := protojson.Marshal(pb)
	v, _ := verify.New(oci.New(), []verify.Key{{Name: "release", PublicKey: priv.Public()}})
	sum := sha256.Sum256(artifact)
	for name, blob := range map[string]verify.Blob{
		"content": {Content: bytes.NewReader(artifact)},
		"digest":  {Digest: "sha256:" + hex.EncodeToString(sum[:])},
	} {
		if who, err := v.VerifyBlob(b, blob); err != nil || who != "verified with key release" {
			t.Errorf("%s: %q %v", name, who, err)
		}
	}
	if _, err := v.VerifyBlob(b, verify.Blob{Content: bytes.NewReader([]byte("another file"))}); !errors.Is(err, verify.ErrBadSignature) {
		t.Errorf("other artifact: got %v", err)
	}
	other, _ := keys.Generate(keys.ECDSAP256)
	v2, _ := verify.New(oci.New(), []verify.Key{{Name: "other", PublicKey: other.Public()}})
	if _, err := v2.VerifyBlob(b, verify.Blob{Content: bytes.NewReader(artifact)}); !errors.Is(err, verify.ErrBadSignature) {
		t.Errorf("wrong key: got %v", err)
	}
	if _, err := v.VerifyBlob([]byte("{nope"), verify.Blob{Content: bytes.NewReader(artifact)}); !errors.Is(err, verify.ErrMalformed) {
		t.Errorf("garbage bundle: got %v", err)
	}
}

func TestOpenBlob(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	digest := "sha256:" + strings.Repeat("ab", 32)
	os.WriteFile(digest, []byte("a file named like a digest"), 0o644)
	os.WriteFile("plain.txt", []byte("x"), 0o644)
	cases := []struct {
		arg       string
		file, dig bool
		err       error
	}{
		{"plain.txt", true, false, nil},
		{digest, true, false, nil}, // an existing file wins
		{"sha256:" + strings.Repeat("cd", 32), false, true, nil},
		{"sha256:" + strings.Repeat("CD", 32), false, true, nil},
		{"sha256:abcd", false, false, verify.ErrBadDigest},
		{"sha256:" + strings.Repeat("zz", 32), false, false, verify.ErrBadDigest},
		{"missing.txt", false, false, os.ErrNotExist},
	}
	for _, tc := range cases {
		b, c, err := verify.OpenBlob(tc.arg)
		if !errors.Is(err, tc.err) || (b.Content != nil) != tc.file || (b.Digest != "") != tc.dig {
			t.Errorf("%s: blob %+v, err %v", tc.arg, b, err)
		}
		if c != nil {
			c.Close()
		}
	}
}

// A DSSE bundle whose statement does not name the artifact is refused.
func TestVerifyBlobStatementSubject(t *testing.T) {
	t.Parallel()
	priv, _ := keys.Generate(keys.ECDSAP256)
	sv, _ := keys.SignerVerifier(priv)
	s, _ := sign.New(sv, oci.New())
	artifact := []byte("the release tarball")
	sum := sha256.Sum256(artifact)
	stmt := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"release.tgz","digest":{"sha256":"%x"}}],"predicateType":"https://example.com/p","predicate":{}}`, sum)
	b, _, err := s.SignStatement(context.Background(), []byte(stmt))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := verify.New(oci.New(), []verify.Key{{Name: "k", PublicKey: priv.Public()}})
	if _, err := v.VerifyBlob(b, verify.Blob{Content: bytes.NewReader(artifact)}); err != nil {
		t.Fatalf("named artifact: %v", err)
	}
	if _, err := v.VerifyBlob(b, verify.Blob{Content: bytes.NewReader([]byte("another file"))}); !errors.Is(err, verify.ErrBadSignature) {
		t.Fatalf("artifact the statement does not name: %v", err)
	}
}

// TestVerifyBlobSeveralKeys: each trusted key is tried against the whole
// artifact — a blob signed by the second key verifies, from a file and
// from a plain reader — and a blob signed by none is refused in a sentence,
// with no library internals.
func TestVerifyBlobSeveralKeys(t *testing.T) {
	t.Parallel()
	first, _ := keys.Generate(keys.ECDSAP256)
	second, _ := keys.Generate(keys.ECDSAP256)
	sv, _ := keys.SignerVerifier(second)
	kp, _ := keys.NewKeypair(sv)
	artifact := []byte("release-1.5.tar.gz contents")
	pb, err := sgsign.Bundle(&sgsign.PlainData{Data: artifact}, kp, sgsign.BundleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := protojson.Marshal(pb)
	path := t.TempDir() + "/release.tar.gz"
	os.WriteFile(path, artifact, 0o644)
	v, _ := verify.New(oci.New(), []verify.Key{{Name: "first.pub", PublicKey: first.Public()}, {Name: "second.pub", PublicKey: second.Public()}})
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, blob := range map[string]verify.Blob{"file": {Content: f}, "reader": {Content: strings.NewReader(string(artifact))}} {
		if who, err := v.VerifyBlob(b, blob); err != nil || who != "verified with key second.pub" {
			t.Errorf("%s: %q %v; want verified with the second key", name, who, err)
		}
	}
	only, _ := verify.New(oci.New(), []verify.Key{{Name: "first.pub", PublicKey: first.Public()}})
	_, err = only.VerifyBlob(b, verify.Blob{Content: bytes.NewReader(artifact)})
	if !errors.Is(err, verify.ErrBadSignature) || !strings.Contains(err.Error(), "not among the trusted keys") {
		t.Fatalf("wrong key: %v; want a refusal that says the key is not trusted", err)
	}
	for _, frag := range []string{"threshold", "Found:", "[", "failed to verify"} {
		if strings.Contains(err.Error(), frag) {
			t.Errorf("the refusal carries %q: %v", frag, err)
		}
	}
}
