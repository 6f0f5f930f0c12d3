package sign_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/notarytest"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/notary"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
)

// TestNotationSignVerify signs an index and its platforms in Notation format,
// with and without the referrers API, and verifies every envelope found.
func TestNotationSignVerify(t *testing.T) {
	t.Parallel()
	for _, referrers := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers API", false: "fallback tag"}[referrers], func(t *testing.T) {
			ctx := context.Background()
			reg := registrytest.New(t, referrers)
			d := reg.PushIndex(t, "app:v1")
			client := oci.New()
			pki := notarytest.New(t, "Acme CA", "Release")
			s, err := sign.NewNotation(pki.Key, pki.Chain, client, notary.SignOptions{Envelope: "cose"})
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.SignImages(ctx, []string{d.String()}, sign.Request{Recursive: true, Annotations: map[string]string{"git": "abc"}}, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 || len(res[0].Signed) != 3 || res[0].Signed[1].Platform == "" {
				t.Fatalf("result %+v", res)
			}
			v, err := notary.NewVerifier([]notary.Principal{{Name: "release", Certificates: []*x509.Certificate{pki.CA}}})
			if err != nil {
				t.Fatal(err)
			}
			targets, err := client.Targets(ctx, d.String(), true)
			if err != nil {
				t.Fatal(err)
			}
			for _, tg := range targets {
				arts, err := client.Discover(ctx, tg)
				if err != nil {
					t.Fatal(err)
				}
				if len(arts) != 1 || arts[0].Kind != oci.KindNotation || arts[0].MediaType != notary.MediaTypeCOSE {
					t.Fatalf("%s: artifacts %+v", tg.Digest, arts)
				}
				out, err := v.Verify(ctx, sign.ManifestDescriptor(tg), tg.Digest.String(), arts[0].Content, arts[0].MediaType)
				if err != nil {
					t.Fatalf("%s: %v", tg.Digest, err)
				}
				if out.Principals[0] != "release" {
					t.Errorf("principals %v", out.Principals)
				}
				// A signature of one manifest does not verify for another.
				other := targets[(indexOf(targets, tg)+1)%len(targets)]
				if _, err := v.Verify(ctx, sign.ManifestDescriptor(other), "", arts[0].Content, arts[0].MediaType); !errors.Is(err, notary.ErrNotVerified) {
					t.Errorf("%s's signature verified for %s", tg.Digest, other.Digest)
				}
			}
		})
	}
}

func indexOf(ts []*oci.Target, t *oci.Target) int {
	for i := range ts {
		if ts[i] == t {
			return i
		}
	}
	return -1
}

func TestNotationRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registrytest.New(t, true)
	d := reg.PushImage(t, "app:v1")
	client := oci.New()
	pki := notarytest.New(t, "Acme CA", "Release")
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := sign.NewNotation(other, pki.Chain, client, notary.SignOptions{}); err == nil || !strings.Contains(err.Error(), "the key does not match the chain's first certificate") {
		t.Errorf("foreign key: got %v", err)
	}
	if _, err := sign.NewNotation(pki.Key, nil, client, notary.SignOptions{}); err == nil || !strings.Contains(err.Error(), "no certificate chain") {
		t.Errorf("no chain: got %v", err)
	}
	s, err := sign.NewNotation(pki.Key, pki.Chain, client, notary.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []sign.Layout{sign.LayoutLegacy, sign.LayoutBoth} {
		if _, err := s.SignImage(ctx, d.String(), sign.Request{Layout: l}); !errors.Is(err, sign.ErrNotationLayout) {
			t.Errorf("%s: got %v", l, err)
		}
	}
	arts, err := client.Discover(ctx, mustResolve(t, client, d.String()))
	if err != nil || len(arts) != 0 {
		t.Fatalf("something was attached: %v %v", arts, err)
	}
}

func mustResolve(t *testing.T, c *oci.Client, ref string) *oci.Target {
	t.Helper()
	tg, err := c.Resolve(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}
