package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// TestVerifyFromLayout signs an image in a registry, copies it with what is
// attached into an OCI layout (go-containerregistry's writer, not ours) and
// verifies it there, for each way the signature can be listed.
func TestVerifyFromLayout(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		referrers  bool
		signLayout sign.Layout
		fallback   bool // referrers listed only through the fallback tag
		want       oci.Layout
	}{
		{"referrer listed in index.json", true, sign.LayoutReferrers, false, oci.LayoutOCI},
		{"referrers fallback tag", false, sign.LayoutReferrers, true, oci.LayoutOCI},
		{"cosign v2 legacy .sig tag", true, sign.LayoutLegacy, false, oci.LayoutLegacyTag},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, tc.referrers, keys.ECDSAP256)
			d := f.reg.PushImage(t, "team/app:v1")
			if _, err := f.signer.SignImage(ctx, d.String(), sign.Request{Layout: tc.signLayout, Annotations: map[string]string{"env": "prod"}}); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			registrytest.CopyToLayout(t, dir, d, registrytest.LayoutCopy{Tag: "v1", FallbackTag: tc.fallback})
			for _, ref := range []string{"oci-layout:" + dir + ":v1", "oci-layout:" + dir + "@" + d.DigestStr()} {
				res, err := f.verifier.Verify(ctx, ref, verify.Request{Annotations: map[string]string{"env": "prod"}})
				if err != nil {
					t.Fatalf("%s: %v", ref, err)
				}
				if !res.Verified || res.Digest != d.DigestStr() || res.Signatures[0].Layout != tc.want {
					t.Fatalf("%s: verified=%v digest=%s layout=%s, want a signature of %s found in %s", ref, res.Verified, res.Digest, res.Signatures[0].Layout, d.DigestStr(), tc.want)
				}
			}
			if _, err := f.other.Verify(ctx, "oci-layout:"+dir+":v1", verify.Request{}); !errors.Is(err, verify.ErrBadSignature) {
				t.Fatalf("another key: got %v, want %v", err, verify.ErrBadSignature)
			}
		})
	}
}

// TestLayoutRefusals: a missing signature is not-found, a changed blob is
// refused as corrupt (not retried as a registry hiccup), a missing tag lists
// the tags the layout has.
func TestLayoutRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, true, keys.ECDSAP256)
	signed := f.reg.PushImage(t, "team/app:v1")
	unsigned := f.reg.PushImage(t, "team/app:v2")
	if _, err := f.signer.SignImage(ctx, signed.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	newLayout := func(t *testing.T) string {
		dir := t.TempDir()
		registrytest.CopyToLayout(t, dir, signed, registrytest.LayoutCopy{Tag: "v1"})
		registrytest.CopyToLayout(t, dir, unsigned, registrytest.LayoutCopy{Tag: "v2"})
		return dir
	}

	t.Run("no signature", func(t *testing.T) {
		dir := newLayout(t)
		_, err := f.verifier.Verify(ctx, "oci-layout:"+dir+":v2", verify.Request{})
		if !errors.Is(err, verify.ErrNoSignatures) {
			t.Fatalf("got %v, want %v", err, verify.ErrNoSignatures)
		}
	})
	t.Run("bundle blob changed", func(t *testing.T) {
		dir := newLayout(t)
		bundle := bundleBlob(t, dir, signed)
		tamper(t, dir, bundle)
		_, err := f.verifier.Verify(ctx, "oci-layout:"+dir+":v1", verify.Request{})
		if !errors.Is(err, verify.ErrNoValidSignature) || !errors.Is(err, oci.ErrCorrupt) || !strings.Contains(err.Error(), bundle.Hex) {
			t.Fatalf("got %v, want %v and %v naming blob %s", err, verify.ErrNoValidSignature, oci.ErrCorrupt, bundle)
		}
	})
	t.Run("image manifest changed", func(t *testing.T) {
		dir := newLayout(t)
		h, _ := v1.NewHash(signed.DigestStr())
		tamper(t, dir, h)
		_, err := f.verifier.Verify(ctx, "oci-layout:"+dir+":v1", verify.Request{})
		if !errors.Is(err, oci.ErrCorrupt) || errors.Is(err, oci.ErrRegistry) {
			t.Fatalf("got %v, want %v (not a registry error)", err, oci.ErrCorrupt)
		}
	})
	t.Run("missing tag lists the tags", func(t *testing.T) {
		dir := newLayout(t)
		_, err := f.verifier.Verify(ctx, "oci-layout:"+dir+":v3", verify.Request{})
		if !errors.Is(err, oci.ErrNotFound) || !strings.Contains(err.Error(), "its tags: v1, v2") {
			t.Fatalf("got %v, want not found listing v1, v2", err)
		}
	})
	t.Run("not a layout", func(t *testing.T) {
		dir := t.TempDir()
		_, err := f.verifier.Verify(ctx, "oci-layout:"+dir+":v1", verify.Request{})
		if !errors.Is(err, oci.ErrNotLayout) || !strings.Contains(err.Error(), "no oci-layout file") {
			t.Fatalf("got %v, want %v saying the oci-layout file is missing", err, oci.ErrNotLayout)
		}
	})
}

// bundleBlob finds the bundle layer of the signature on d in the layout.
func bundleBlob(t *testing.T, dir string, d name.Digest) v1.Hash {
	t.Helper()
	l, err := oci.OpenLayout(dir, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	im, _, err := l.Referrers(context.Background(), d)
	if err != nil || len(im.Manifests) != 1 {
		t.Fatalf("referrers: %v, %d entries, want 1", err, len(im.Manifests))
	}
	m, err := l.Get(context.Background(), d.Context().Digest(im.Manifests[0].Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	var man v1.Manifest
	if err := json.Unmarshal(m.Raw, &man); err != nil {
		t.Fatal(err)
	}
	return man.Layers[0].Digest
}

// tamper flips one byte of a blob, keeping its size.
func tamper(t *testing.T, dir string, h v1.Hash) {
	t.Helper()
	p := filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

const layoutPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    signers:
      - {name: release, key: alice.pub}
    attestations:
      - name: sbom
        predicateType: cyclonedx
        signers: [release]
        condition: size(predicate.components) > 1
  - pattern: "**"
    mode: audit
`

// TestLayoutPolicy: a layout image is judged by the rule of the repository
// it is named in (--layout-repository), never by a rule it matches by
// accident: without a repository it is refused, even with a catch-all rule.
func TestLayoutPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	img := w.reg.PushImage(t, "team/app:v1")
	w.sign(t, "alice", img.String())
	w.attest(t, "alice", img.String(), "cyclonedx", "sbom.cdx.json")
	dir := t.TempDir()
	registrytest.CopyToLayout(t, dir, img, registrytest.LayoutCopy{Tag: "v1"})
	ref := "oci-layout:" + dir + ":v1"

	t.Run("no repository: refused, not matched by the catch-all", func(t *testing.T) {
		d := w.engine(t, layoutPolicy).Decide(ctx, ref)
		if d.Allowed || d.Class != verify.ClassInvalid || !strings.Contains(d.Reason, "--layout-repository") {
			t.Fatalf("got allowed=%v class=%q reason=%q, want refused (invalid) naming --layout-repository", d.Allowed, d.Class, d.Reason)
		}
	})
	t.Run("an engine whose client reads no layouts (admission, gate) refuses it", func(t *testing.T) {
		w2 := *w
		w2.client = oci.New()
		d := w2.engine(t, layoutPolicy).Decide(ctx, ref)
		if d.Allowed || d.Class != verify.ClassInvalid || !strings.Contains(d.Reason, "not read here") {
			t.Fatalf("got allowed=%v class=%q reason=%q, want refused (invalid): layouts not read", d.Allowed, d.Class, d.Reason)
		}
	})
	named := func(t *testing.T, repo string) *verify.Decision {
		t.Helper()
		w2 := *w
		w2.client = oci.New(oci.WithLayoutDirs(true), oci.WithLayoutRepository(repo))
		return w2.engine(t, layoutPolicy).Decide(ctx, ref)
	}
	t.Run("named: its repository's rule, with the attestation read from the layout", func(t *testing.T) {
		d := named(t, w.reg.Host+"/team/app")
		if !d.Allowed || d.RuleIndex != 0 || d.Digest != img.DigestStr() {
			t.Fatalf("got allowed=%v rule=%d digest=%s reason=%q, want allowed by images[0] at %s", d.Allowed, d.RuleIndex, d.Digest, d.Reason, img.DigestStr())
		}
	})
	t.Run("named, signature missing: not-found", func(t *testing.T) {
		bare := w.reg.PushImage(t, "team/app:v2")
		registrytest.CopyToLayout(t, dir, bare, registrytest.LayoutCopy{Tag: "v2"})
		w2 := *w
		w2.client = oci.New(oci.WithLayoutDirs(true), oci.WithLayoutRepository(w.reg.Host+"/team/app"))
		d := w2.engine(t, layoutPolicy).Decide(ctx, "oci-layout:"+dir+":v2")
		if d.Allowed || d.Class != verify.ClassNotFound {
			t.Fatalf("got allowed=%v class=%q reason=%q, want refused as not-found", d.Allowed, d.Class, d.Reason)
		}
	})
}

// TestSignAndAttestIntoLayout writes through the seam's write half: a
// signature and an attestation attached to an image in a layout, then
// verified from it.
func TestSignAndAttestIntoLayout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	img := w.reg.PushImage(t, "team/app:v1")
	dir := t.TempDir()
	registrytest.CopyToLayout(t, dir, img, registrytest.LayoutCopy{Tag: "v1"})
	ref := "oci-layout:" + dir + ":v1"
	w.sign(t, "alice", ref)
	w.attest(t, "alice", ref, "cyclonedx", "sbom.cdx.json")
	w2 := *w
	w2.client = oci.New(oci.WithLayoutDirs(true), oci.WithLayoutRepository(w.reg.Host+"/team/app"))
	d := w2.engine(t, layoutPolicy).Decide(ctx, ref)
	if !d.Allowed {
		t.Fatalf("got %s, want allowed", d.Reason)
	}
	// Nothing was written to the registry.
	arts, err := w.client.Discover(ctx, &oci.Target{Digest: img, Descriptor: v1.Descriptor{Digest: mustHash(t, img.DigestStr())}})
	if err != nil || len(arts) != 0 {
		t.Fatalf("registry: %d artifacts (%v), want none", len(arts), err)
	}
	// The legacy layout is refused rather than half-written.
	_, err = w.signers["alice"].SignImage(ctx, ref, sign.Request{Layout: sign.LayoutLegacy})
	if err == nil || !strings.Contains(err.Error(), "registries only") {
		t.Fatalf("legacy signature into a layout: got %v, want refused", err)
	}
}

func mustHash(t *testing.T, s string) v1.Hash {
	t.Helper()
	h, err := v1.NewHash(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestVerifyThroughAStore: signing, attesting and judging by policy read
// and write through oci.Store alone — an in-memory store, no registry (the
// registry named does not exist), no layout.
func TestVerifyThroughAStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := registrytest.NewMemStore()
	repo, _ := name.NewRepository("registry.invalid/team/app")
	img, _ := random.Image(128, 1)
	d := store.PutImage(t, repo, "v1", img)
	w := newWorld(t)
	w2 := *w
	w2.client = oci.New(oci.WithStore(store))
	w2.signers = map[string]*sign.Signer{}
	for n := range w.signers {
		priv, _ := keys.Generate(keys.ECDSAP256)
		pub, _ := keys.PublicKeyPEM(priv.Public())
		os.WriteFile(filepath.Join(w.dir, n+".pub"), pub, 0o644)
		sv, _ := keys.SignerVerifier(priv)
		s, err := sign.New(sv, w2.client)
		if err != nil {
			t.Fatal(err)
		}
		w2.signers[n] = s
	}
	ref := repo.Name() + ":v1"
	w2.sign(t, "alice", ref)
	w2.attest(t, "alice", ref, "cyclonedx", "sbom.cdx.json")
	pol := strings.ReplaceAll(layoutPolicy, "REG/team/**", "registry.invalid/team/**")
	dec := w2.engine(t, pol).Decide(ctx, ref)
	if !dec.Allowed || dec.Digest != d.String() {
		t.Fatalf("got allowed=%v digest=%s reason=%q, want allowed at %s", dec.Allowed, dec.Digest, dec.Reason, d)
	}
	refs, _, err := store.Referrers(ctx, repo.Digest(d.String()))
	if err != nil || len(refs.Manifests) != 2 {
		t.Fatalf("the store holds %d referrers (%v), want the signature and the attestation", len(refs.Manifests), err)
	}
	// A changed bundle in the store is refused as corrupt.
	for _, r := range refs.Manifests {
		m, _ := store.Get(ctx, repo.Digest(r.Digest.String()))
		var man v1.Manifest
		json.Unmarshal(m.Raw, &man)
		store.Tamper(man.Layers[0].Digest)
	}
	dec = w2.engine(t, pol).Decide(ctx, ref)
	if dec.Allowed || !strings.Contains(dec.Reason, "does not match its digest") {
		t.Fatalf("after tampering: allowed=%v reason=%q, want refused as corrupt", dec.Allowed, dec.Reason)
	}
}
