package oci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
)

// TestAttestationArtifacts: attestation artifacts written by
// AttachAttestation are found (both layouts) with their document; their
// Notation signatures are read only when asked, bounded per artifact and in
// number of artifacts, and the caps are said.
func TestAttestationArtifacts(t *testing.T) {
	t.Parallel()
	for _, referrers := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers API", false: "fallback tag"}[referrers], func(t *testing.T) {
			ctx := context.Background()
			reg := registrytest.New(t, referrers)
			d := reg.PushImage(t, "app:v1")
			c := oci.New()
			target, err := c.Resolve(ctx, d.String())
			if err != nil {
				t.Fatal(err)
			}
			doc := []byte(`{"spdxVersion":"SPDX-2.3"}`)
			att, err := c.AttachAttestation(ctx, target, doc, oci.SPDXMediaType, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.AttachAttestation(ctx, target, doc, "application/json", nil); err == nil {
				t.Fatal("attached a document of an unknown type")
			}
			signed := target.Child(att.Descriptor)
			for i := range 10 {
				if _, err := c.AttachNotation(ctx, signed, []byte(fmt.Sprintf(`{"n":%d}`, i)), "application/jose+json", nil); err != nil {
					t.Fatal(err)
				}
			}
			arts, err := c.Discover(ctx, target)
			if err != nil || len(arts) != 1 {
				t.Fatalf("%d artifacts, %v", len(arts), err)
			}
			a := &arts[0]
			if a.Kind != oci.KindAttestationArtifact || a.Err != nil || a.MediaType != oci.SPDXMediaType || !bytes.Equal(a.Content, doc) ||
				a.ManifestSize != att.Descriptor.Size || a.ManifestMediaType != string(att.Descriptor.MediaType) || a.Signatures != nil {
				t.Fatalf("artifact %+v", a)
			}
			if err := c.ReadAttestationSignatures(ctx, target, arts, func(*oci.Artifact) bool { return false }); err != nil || a.SignaturesRead {
				t.Fatalf("read signatures not asked for: %v", err)
			}
			if err := c.ReadAttestationSignatures(ctx, target, arts, nil); err != nil {
				t.Fatal(err)
			}
			if len(a.Signatures) != 8 || !strings.Contains(a.Unread, "more than 8 Notation signatures") {
				t.Fatalf("%d signatures, unread %q", len(a.Signatures), a.Unread)
			}
			for _, s := range a.Signatures {
				if s.Kind != oci.KindNotation || s.Err != nil || len(s.Content) == 0 {
					t.Fatalf("signature %+v", s)
				}
			}
		})
	}
}

// TestAttestationArtifactsCapped: the signatures of at most 32 attestation
// artifacts are read; the others say they were not.
func TestAttestationArtifactsCapped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registrytest.New(t, true)
	d := reg.PushImage(t, "app:v1")
	c := oci.New()
	target, err := c.Resolve(ctx, d.String())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 34 {
		if _, err := c.AttachAttestation(ctx, target, []byte(fmt.Sprintf(`{"n":%d}`, i)), oci.CycloneDXMediaType, nil); err != nil {
			t.Fatal(err)
		}
	}
	arts, err := c.Discover(ctx, target)
	if err != nil || len(arts) != 34 {
		t.Fatalf("%d artifacts, %v", len(arts), err)
	}
	if err := c.ReadAttestationSignatures(ctx, target, arts, nil); err != nil {
		t.Fatal(err)
	}
	read, capped := 0, 0
	for _, a := range arts {
		switch {
		case a.SignaturesRead:
			read++
		case strings.Contains(a.Unread, "more than 32 attestation artifacts"):
			capped++
		}
	}
	if read != 32 || capped != 2 {
		t.Fatalf("read %d, capped %d", read, capped)
	}
}

// TestAttestationArtifactShape: what an attestation artifact must be.
func TestAttestationArtifactShape(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registrytest.New(t, false)
	d := reg.PushImage(t, "app:v1")
	other := reg.PushImage(t, "app:other")
	c := oci.New()
	target, err := c.Resolve(ctx, d.String())
	if err != nil {
		t.Fatal(err)
	}
	otherT, err := c.Resolve(ctx, other.String())
	if err != nil {
		t.Fatal(err)
	}
	// An artifact about the other image, listed in this image's fallback tag.
	att, err := c.AttachAttestation(ctx, otherT, []byte(`{}`), oci.InTotoMediaType, nil)
	if err != nil {
		t.Fatal(err)
	}
	listed := att.Descriptor
	listed.ArtifactType = oci.InTotoMediaType
	appendFallback(t, d, listed)
	arts, err := c.Discover(ctx, target)
	if err != nil || len(arts) != 1 {
		t.Fatalf("%d artifacts, %v", len(arts), err)
	}
	if a := arts[0]; a.Kind != oci.KindAttestationArtifact || a.Content != nil || a.Err == nil ||
		!strings.Contains(a.Err.Error(), "is about "+other.DigestStr()+", not "+d.DigestStr()) {
		t.Fatalf("artifact about another image: %+v", a)
	}
}

// appendFallback writes image's referrers fallback tag listing desc alone.
func appendFallback(t *testing.T, image name.Digest, desc v1.Descriptor) {
	t.Helper()
	raw, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{desc}})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(oci.FallbackTag(image), rawIndex(raw)); err != nil {
		t.Fatal(err)
	}
}
