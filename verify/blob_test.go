package verify_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
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
