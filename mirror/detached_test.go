package mirror_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/mirror"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// TestCopyDetachedPredicate: copying only attestations takes a detached
// predicate's document artifact along (by the digest its statement names),
// so the attestation verifies at the destination, with and without the
// referrers API there and through a layout; an artifact the source lacks
// stops the copy with its reason.
func TestCopyDetachedPredicate(t *testing.T) {
	ctx := context.Background()
	c := oci.New(oci.WithLayoutDirs(true))
	src := registrytest.New(t, true)
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	sv, _ := keys.SignerVerifier(priv)
	signer, err := sign.New(sv, c)
	if err != nil {
		t.Fatal(err)
	}
	sbom := filepath.Join(t.TempDir(), "sbom.cdx.json")
	if err := os.WriteFile(sbom, []byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"library","name":"a"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	attestDetached := func(repo string) (string, string) {
		img := src.PushImage(t, repo+":v1")
		out, err := attest.New(signer, c).AttestImage(ctx, img.String(), attest.Request{Type: "cyclonedx", PredicatePath: sbom, Detached: true})
		if err != nil || len(out) != 1 || out[0].Detached == nil {
			t.Fatalf("attest --detached: %v %+v", err, out)
		}
		return img.String(), out[0].Detached.Digest.String()
	}
	verifier, err := verify.New(c, []verify.Key{{Name: "release", PublicKey: priv.Public()}})
	if err != nil {
		t.Fatal(err)
	}
	cond, err := verify.CompileCondition(`size(predicate.components) == 1`)
	if err != nil {
		t.Fatal(err)
	}
	verifies := func(image string) error {
		_, err := verifier.VerifyAttestations(ctx, image, verify.AttestationRequest{PredicateType: attest.PredicateCycloneDX, Condition: cond})
		return err
	}
	img, artifact := attestDetached("team/app")
	only := []mirror.Kind{mirror.KindAttestation}
	for _, referrers := range []bool{true, false} {
		t.Run(fmt.Sprintf("referrers API %v", referrers), func(t *testing.T) {
			dst := registrytest.New(t, referrers)
			lay := "oci-layout:" + filepath.Join(t.TempDir(), "app")
			// The image itself first, so the destination has the subject.
			copyRefs(t, ctx, c, img, dst.Host+"/mirror/app:v1", []mirror.Kind{mirror.KindImage})
			copyRefs(t, ctx, c, img, lay+":v1", []mirror.Kind{mirror.KindImage})
			if err := verifies(dst.Host + "/mirror/app:v1"); !errors.Is(err, verify.ErrNoAttestations) {
				t.Fatalf("before copying attestations: want none found, got %v", err)
			}
			res := copyRefs(t, ctx, c, img, dst.Host+"/mirror/app", only)
			if got := kinds(res, true); got[mirror.KindAttestation] != 2 || len(got) != 1 || !hasItem(res, artifact) {
				t.Fatalf("copied %v (items %+v); want the statement and its document artifact %s, as attestations", got, res.Items, artifact)
			}
			if err := verifies(dst.Host + "/mirror/app:v1"); err != nil {
				t.Fatalf("at the destination: %v", err)
			}
			// Through a layout and out again.
			copyRefs(t, ctx, c, img, lay, only)
			if err := verifies(lay + ":v1"); err != nil {
				t.Fatalf("in the layout: %v", err)
			}
			// Again: nothing left, each item reported once.
			res = copyRefs(t, ctx, c, img, dst.Host+"/mirror/app", only)
			if res.Copied != 0 || res.Skipped != 2 {
				t.Fatalf("re-run: copied %d, skipped %d; want 0, 2 (%+v)", res.Copied, res.Skipped, res.Items)
			}
			// Everything: the artifact is copied once (as an attestation).
			res = copyRefs(t, ctx, c, img, registrytest.New(t, referrers).Host+"/all/app", nil)
			if n := countItem(res, artifact); n != 1 {
				t.Fatalf("copying everything: the artifact reported %d times, want once (%+v)", n, res.Items)
			}
		})
	}
	t.Run("the source lacks the artifact", func(t *testing.T) {
		img, artifact := attestDetached("team/gone")
		ref := mustRef(t, img).Context().Digest(artifact)
		if err := remote.Delete(ref); err != nil {
			t.Fatal(err)
		}
		dst := registrytest.New(t, true)
		req, err := mirror.Endpoints(c, img, dst.Host+"/mirror/gone", 0)
		if err != nil {
			t.Fatal(err)
		}
		req.Only = only
		_, err = mirror.Copy(ctx, req)
		if !errors.Is(err, oci.ErrNotFound) || !strings.Contains(err.Error(), "which the source does not hold") || !strings.Contains(err.Error(), artifact) {
			t.Fatalf("want refused naming the missing artifact %s, got %v", artifact, err)
		}
	})
}

func countItem(res *mirror.Result, digest string) int {
	n := 0
	for _, it := range res.Items {
		if it.Digest == digest {
			n++
		}
	}
	return n
}

func hasItem(res *mirror.Result, digest string) bool { return countItem(res, digest) > 0 }
