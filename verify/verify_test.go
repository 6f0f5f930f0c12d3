package verify_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

type fixture struct {
	reg      *registrytest.Registry
	client   *oci.Client
	signer   *sign.Signer
	verifier *verify.Verifier
	other    *verify.Verifier // trusts an unrelated key
}

func newFixture(t *testing.T, referrers bool, typ keys.Type) *fixture {
	t.Helper()
	f := &fixture{reg: registrytest.New(t, referrers), client: oci.New(oci.WithLayoutDirs(true))}
	priv, err := keys.Generate(typ)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := keys.SignerVerifier(priv)
	if err != nil {
		t.Fatal(err)
	}
	if f.signer, err = sign.New(sv, f.client); err != nil {
		t.Fatal(err)
	}
	if f.verifier, err = verify.New(f.client, []verify.Key{{Name: "release.pub", PublicKey: priv.Public()}}); err != nil {
		t.Fatal(err)
	}
	otherKey, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	if f.other, err = verify.New(f.client, []verify.Key{{Name: "other.pub", PublicKey: otherKey.Public()}}); err != nil {
		t.Fatal(err)
	}
	return f
}

func registries(t *testing.T, fn func(t *testing.T, referrers bool)) {
	for _, referrers := range []bool{true, false} {
		t.Run(fmt.Sprintf("referrers=%v", referrers), func(t *testing.T) {
			t.Parallel()
			fn(t, referrers)
		})
	}
}

func wantLayout(referrers bool) oci.Layout {
	if referrers {
		return oci.LayoutReferrersAPI
	}
	return oci.LayoutFallbackTag
}

func TestSignVerifyEachKeyType(t *testing.T) {
	t.Parallel()
	for _, typ := range keys.Types {
		t.Run(string(typ), func(t *testing.T) {
			t.Parallel()
			registries(t, func(t *testing.T, referrers bool) {
				ctx := context.Background()
				f := newFixture(t, referrers, typ)
				d := f.reg.PushImage(t, "team/app:v1")
				tagRef := f.reg.Host + "/team/app:v1"
				sres, err := f.signer.SignImage(ctx, tagRef, sign.Request{Annotations: map[string]string{"env": "prod"}})
				if err != nil {
					t.Fatal(err)
				}
				if sres.Tag != "v1" || sres.Signed[0].Digest != d.DigestStr() {
					t.Fatalf("sign result %+v, want tag v1 digest %s", sres, d.DigestStr())
				}
				if got := sres.Signed[0].Attached[0].Layout; got != wantLayout(referrers) {
					t.Fatalf("written to %s, want %s", got, wantLayout(referrers))
				}
				res, err := f.verifier.Verify(ctx, d.String(), verify.Request{Annotations: map[string]string{"env": "prod"}})
				if err != nil {
					t.Fatal(err)
				}
				if !res.Verified || len(res.Signatures) != 1 {
					t.Fatalf("result %+v", res)
				}
				s := res.Signatures[0]
				if s.Layout != wantLayout(referrers) || s.Key != "release.pub" || s.SignedName != tagRef || s.SignedDigest != d.DigestStr() {
					t.Fatalf("signature %+v", s)
				}
				// The wrong key is refused, with the reason.
				_, err = f.other.Verify(ctx, d.String(), verify.Request{})
				if !errors.Is(err, verify.ErrNoValidSignature) || !errors.Is(err, verify.ErrBadSignature) {
					t.Fatalf("wrong key: got %v", err)
				}
			})
		})
	}
}

func TestFallbackTagEntryCarriesArtifactType(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, false, keys.ECDSAP256)
	d := f.reg.PushImage(t, "app:v1")
	for range 2 { // a second signature must be appended, not replace the first
		if _, err := f.signer.SignImage(ctx, d.String(), sign.Request{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := remote.Get(oci.FallbackTag(d))
	if err != nil {
		t.Fatal(err)
	}
	if got.MediaType != types.OCIImageIndex {
		t.Fatalf("fallback tag media type %s", got.MediaType)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(got.Manifest, &im); err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 {
		t.Fatalf("fallback index has %d entries, want 2", len(im.Manifests))
	}
	for _, m := range im.Manifests {
		if m.ArtifactType != oci.BundleMediaType || m.MediaType != types.OCIManifestSchema1 || m.Annotations[oci.AnnotationPredicateType] != oci.CosignSignPredicateType {
			t.Fatalf("fallback entry %+v", m)
		}
	}
}

func TestLegacyLayout(t *testing.T) {
	t.Parallel()
	registries(t, func(t *testing.T, referrers bool) {
		ctx := context.Background()
		f := newFixture(t, referrers, keys.ECDSAP256)
		d := f.reg.PushImage(t, "app:v1")
		res, err := f.signer.SignImage(ctx, d.String(), sign.Request{Layout: sign.LayoutBoth, Annotations: map[string]string{"team": "a"}})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(res.Signed[0].Attached); n != 2 {
			t.Fatalf("attached %d, want 2", n)
		}
		vres, err := f.verifier.Verify(ctx, d.String(), verify.Request{Annotations: map[string]string{"team": "a"}})
		if err != nil {
			t.Fatal(err)
		}
		// A verified bundle settles it: the legacy tag is not read.
		if len(vres.Signatures) != 1 || !vres.Signatures[0].Verified || vres.Signatures[0].Layout != wantLayout(referrers) {
			t.Fatalf("signatures %+v", vres.Signatures)
		}
		// Both are there, and the legacy one verifies on its own.
		tg, _ := f.client.Resolve(ctx, d.String())
		arts, _ := f.client.Discover(ctx, tg)
		layouts := map[oci.Layout]bool{}
		for _, a := range arts {
			layouts[a.Layout] = true
		}
		if !layouts[oci.LayoutLegacyTag] || !layouts[wantLayout(referrers)] {
			t.Fatalf("layouts found %v", layouts)
		}
		legacyOnly := f.reg.PushImage(t, "app:v2")
		if _, err := f.signer.SignImage(ctx, legacyOnly.String(), sign.Request{Layout: sign.LayoutLegacy}); err != nil {
			t.Fatal(err)
		}
		vres, err = f.verifier.Verify(ctx, legacyOnly.String(), verify.Request{})
		if err != nil || vres.Signatures[0].Layout != oci.LayoutLegacyTag {
			t.Fatalf("legacy only: %v %+v", err, vres)
		}
	})
}

// TestRejections covers each way a signature must be refused, with its reason.
func TestRejections(t *testing.T) {
	t.Parallel()
	registries(t, func(t *testing.T, referrers bool) {
		ctx := context.Background()
		f := newFixture(t, referrers, keys.ECDSAP256)
		signedImg := f.reg.PushImage(t, "app:signed")
		if _, err := f.signer.SignImage(ctx, signedImg.String(), sign.Request{}); err != nil {
			t.Fatal(err)
		}
		goodBundle, err := f.signer.Bundle(ctx, "app", signedImg.DigestStr(), nil)
		if err != nil {
			t.Fatal(err)
		}
		annotations := map[string]string{oci.AnnotationBundleContent: "dsse-envelope", oci.AnnotationPredicateType: oci.CosignSignPredicateType}

		cases := []struct {
			name   string
			attach func(t *testing.T, target *oci.Target)
			req    verify.Request
			want   []error
		}{
			{"no signatures", func(*testing.T, *oci.Target) {}, verify.Request{}, []error{verify.ErrNoSignatures}},
			{"modified payload", func(t *testing.T, target *oci.Target) {
				attach(t, f, target, tamperPayload(t, goodBundle, signedImg.DigestStr(), target.Digest.DigestStr()), annotations)
			}, verify.Request{}, []error{verify.ErrNoValidSignature, verify.ErrBadSignature}},
			{"signature copied from another digest", func(t *testing.T, target *oci.Target) {
				attach(t, f, target, goodBundle, annotations)
			}, verify.Request{}, []error{verify.ErrNoValidSignature, verify.ErrDigestMismatch}},
			{"truncated bundle", func(t *testing.T, target *oci.Target) {
				attach(t, f, target, goodBundle[:len(goodBundle)/2], annotations)
			}, verify.Request{}, []error{verify.ErrNoValidSignature, verify.ErrMalformed}},
			{"garbage bundle", func(t *testing.T, target *oci.Target) {
				attach(t, f, target, []byte("\x00\xffnot json"), annotations)
			}, verify.Request{}, []error{verify.ErrNoValidSignature, verify.ErrMalformed}},
			{"garbage artifact in referrers", func(t *testing.T, target *oci.Target) {
				pushForeignReferrer(t, target)
			}, verify.Request{}, []error{verify.ErrNoSignatures}},
			{"legacy signature copied from another digest", func(t *testing.T, target *oci.Target) {
				copyLegacy(t, f, signedImg.DigestStr(), target)
			}, verify.Request{}, []error{verify.ErrNoValidSignature, verify.ErrDigestMismatch}},
			{"legacy modified payload", func(t *testing.T, target *oci.Target) {
				payload, _ := sign.SimpleSigningPayload("app", target.Digest.DigestStr(), nil)
				sig := base64.StdEncoding.EncodeToString([]byte("not a signature over this"))
				if _, err := f.client.AttachLegacySignature(context.Background(), target, payload, sig); err != nil {
					t.Fatal(err)
				}
			}, verify.Request{}, []error{verify.ErrNoValidSignature, verify.ErrBadSignature}},
			{"missing annotation", func(t *testing.T, target *oci.Target) {
				if _, err := f.signer.SignImage(context.Background(), target.Digest.String(), sign.Request{Annotations: map[string]string{"env": "dev"}}); err != nil {
					t.Fatal(err)
				}
			}, verify.Request{Annotations: map[string]string{"env": "prod"}}, []error{verify.ErrNoValidSignature, verify.ErrAnnotationMismatch}},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				d := f.reg.PushImage(t, fmt.Sprintf("app:case%d", i))
				target, err := f.client.Resolve(ctx, d.String())
				if err != nil {
					t.Fatal(err)
				}
				tc.attach(t, target)
				res, err := f.verifier.Verify(ctx, d.String(), tc.req)
				if err == nil {
					t.Fatalf("verified, want %v", tc.want)
				}
				for _, w := range tc.want {
					if !errors.Is(err, w) {
						t.Errorf("error %q does not match %q", err, w)
					}
				}
				if res == nil || res.Verified || res.Digest != d.DigestStr() {
					t.Fatalf("result %+v", res)
				}
			})
		}

		t.Run("valid signature beside garbage", func(t *testing.T) {
			target, err := f.client.Resolve(ctx, signedImg.String())
			if err != nil {
				t.Fatal(err)
			}
			pushForeignReferrer(t, target)
			attach(t, f, target, []byte("garbage"), annotations)
			res, err := f.verifier.Verify(ctx, signedImg.String(), verify.Request{})
			if err != nil || !res.Verified {
				t.Fatalf("got %v, %+v", err, res)
			}
			if res.Ignored != 1 {
				t.Fatalf("ignored %d artifacts, want the foreign one", res.Ignored)
			}
			var malformed int
			for _, s := range res.Signatures {
				if errors.Is(s.Err(), verify.ErrMalformed) {
					malformed++
				}
			}
			if malformed != 1 {
				t.Fatalf("%d malformed signatures reported, want the garbage bundle: %+v", malformed, res.Signatures)
			}
		})
	})
}

func TestRecursiveIndex(t *testing.T) {
	t.Parallel()
	registries(t, func(t *testing.T, referrers bool) {
		ctx := context.Background()
		f := newFixture(t, referrers, keys.ECDSAP256)
		idx := f.reg.PushIndex(t, "multi:v1")
		res, err := f.signer.SignImage(ctx, idx.String(), sign.Request{Recursive: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Signed) != 3 {
			t.Fatalf("signed %d digests, want index + 2 platforms", len(res.Signed))
		}
		for _, s := range res.Signed {
			ref := idx.Context().Digest(s.Digest).String()
			vres, err := f.verifier.Verify(ctx, ref, verify.Request{})
			if err != nil || !vres.Verified {
				t.Fatalf("%s (%s): %v", ref, s.Platform, err)
			}
		}
		if res.Signed[1].Platform != "linux/amd64" || res.Signed[2].Platform != "linux/arm64" {
			t.Fatalf("platforms %q %q", res.Signed[1].Platform, res.Signed[2].Platform)
		}
	})
}

func TestRegistryErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true, keys.ECDSAP256)
	_, err := f.verifier.Verify(context.Background(), f.reg.Host+"/missing:v1", verify.Request{})
	if !errors.Is(err, oci.ErrNotFound) {
		t.Fatalf("missing image: got %v", err)
	}
	_, err = f.verifier.Verify(context.Background(), "127.0.0.1:1/app:v1", verify.Request{})
	if !errors.Is(err, oci.ErrRegistry) {
		t.Fatalf("unreachable registry: got %v", err)
	}
}

func attach(t *testing.T, f *fixture, target *oci.Target, bundle []byte, ann map[string]string) {
	t.Helper()
	if _, err := f.client.AttachBundle(context.Background(), target, bundle, ann); err != nil {
		t.Fatal(err)
	}
}

// tamperPayload rewrites the DSSE payload of a bundle so it names another
// digest, keeping the original signature.
func tamperPayload(t *testing.T, bundle []byte, from, to string) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	env := b["dsseEnvelope"].(map[string]any)
	payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	fromHex, toHex := strings.TrimPrefix(from, "sha256:"), strings.TrimPrefix(to, "sha256:")
	env["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(string(payload), fromHex, toHex)))
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pushForeignReferrer attaches an artifact of another type (as an SBOM tool
// would) whose only layer is not JSON.
func pushForeignReferrer(t *testing.T, target *oci.Target) {
	t.Helper()
	registrytest.PushArtifact(t, target.Digest, target.Descriptor, "application/vnd.example.sbom", []byte("\x00garbage"))
}

func copyLegacy(t *testing.T, f *fixture, signedDigest string, target *oci.Target) {
	t.Helper()
	// Sign the other digest with the trusted key in the legacy layout, then
	// move that layer to the target's .sig tag.
	src := target.Digest.Context().Digest(signedDigest)
	if _, err := f.signer.SignImage(context.Background(), src.String(), sign.Request{Layout: sign.LayoutLegacy}); err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(oci.LegacySignatureTag(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(oci.LegacySignatureTag(target.Digest), img); err != nil {
		t.Fatal(err)
	}
}
