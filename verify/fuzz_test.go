package verify_test

import (
	"context"
	"errors"
	"testing"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

func FuzzParseBundle(f *testing.F) {
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		f.Fatal(err)
	}
	sv, _ := keys.SignerVerifier(priv)
	s, err := sign.New(sv, oci.New())
	if err != nil {
		f.Fatal(err)
	}
	good, err := s.Bundle(context.Background(), "r/app:v1", "sha256:aa", map[string]string{"a": "b"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, st, err := verify.ParseBundle(data)
		if err != nil {
			if !errors.Is(err, verify.ErrMalformed) {
				t.Fatalf("error not classified as malformed: %v", err)
			}
			return
		}
		if b == nil || st == nil || len(st.Subject) == 0 {
			t.Fatal("accepted bundle without a subject")
		}
	})
}

func FuzzParseSimpleSigning(f *testing.F) {
	p, _ := sign.SimpleSigningPayload("r/app", "sha256:aa", map[string]string{"k": "v"})
	f.Add(p)
	f.Add([]byte(`{"critical":{"type":"cosign container image signature"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := verify.ParseSimpleSigning(data)
		if err != nil {
			if !errors.Is(err, verify.ErrMalformed) {
				t.Fatalf("error not classified as malformed: %v", err)
			}
			return
		}
		if got.Critical.Image.DockerManifestDigest == "" {
			t.Fatal("accepted payload without a digest")
		}
	})
}
