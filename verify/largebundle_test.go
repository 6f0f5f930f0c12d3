package verify_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/verify"
)

// TestLargeAttachedAttestation: an attached attestation over the size from
// which bundles are read split (its payload decoded as it streams from the
// registry) verifies as a small one does; the same bundle with one
// character of its payload changed, or checked against another key, is
// refused for its signature.
func TestLargeAttachedAttestation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	sbom := writeSBOM(t, 12000) // about 1.9 MB: a bundle of about 2.6 MB
	img := w.reg.PushImage(t, "team/app:large")
	if _, err := attest.New(w.signers["alice"], w.client).AttestImage(ctx, img.String(),
		attest.Request{Type: "cyclonedx", PredicatePath: sbom}); err != nil {
		t.Fatal(err)
	}
	target, err := w.client.Resolve(ctx, img.String())
	if err != nil {
		t.Fatal(err)
	}
	arts, err := w.client.Discover(ctx, target)
	if err != nil || len(arts) != 1 || arts[0].Parts == nil {
		t.Fatalf("want one attestation read split, got %+v, %v", arts, err)
	}
	bundle := arts[0].BundleJSON()

	req := verify.AttestationRequest{PredicateType: attest.PredicateCycloneDX}
	res, err := w.detachedVerifier(t).VerifyAttestations(ctx, img.String(), req)
	if err != nil || len(res.Signatures) != 1 || res.Signatures[0].Key != "alice" {
		t.Fatalf("want verified with alice, got %+v, %v", res, err)
	}
	bob, err := verify.New(w.client, []verify.Key{{Name: "bob", PublicKey: w.signers["bob"].PublicKey()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.VerifyAttestations(ctx, img.String(), req); !errors.Is(err, verify.ErrBadSignature) {
		t.Fatalf("another key: want a bad signature, got %v", err)
	}

	// The same bundle, one component renamed in its payload, on another
	// image (the subject is the first image: that is refused too, but
	// the signature is checked first).
	parts := *arts[0].Parts
	parts.Payload = bytes.Replace(bytes.Clone(parts.Payload), []byte(`"package-7"`), []byte(`"evil-pkg!"`), 1)
	tampered := parts.Join()
	if bytes.Equal(tampered, bundle) || len(tampered) != len(bundle) {
		t.Fatal("the payload was not changed in place")
	}
	other := w.reg.PushImage(t, "team/app:tampered")
	ot, err := w.client.Resolve(ctx, other.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.client.AttachBundle(ctx, ot, tampered, arts[0].Annotations); err != nil {
		t.Fatal(err)
	}
	_, err = w.detachedVerifier(t).VerifyAttestations(ctx, other.String(), req)
	if !errors.Is(err, verify.ErrBadSignature) || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("tampered payload: want a bad signature, got %v", err)
	}
}
