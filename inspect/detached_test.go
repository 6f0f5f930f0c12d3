package inspect_test

import (
	"context"
	"strings"
	"testing"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/inspect"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
)

// TestDetachedListedOnce: a detached predicate is one attestation, of the
// document's type, with its artifact folded in; an artifact no statement
// names is listed apart as other.
func TestDetachedListedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registrytest.New(t, true)
	d := reg.PushImage(t, "team/app:v1")
	client := oci.New()
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	sv, _ := keys.SignerVerifier(priv)
	s, err := sign.New(sv, client)
	if err != nil {
		t.Fatal(err)
	}
	out, err := attest.New(s, client).AttestImage(ctx, d.String(), attest.Request{Type: "cyclonedx", PredicatePath: "../attest/testdata/sbom.cdx.json", Detached: true})
	if err != nil {
		t.Fatal(err)
	}
	target, err := client.Resolve(ctx, d.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.AttachDetachedPredicate(ctx, target, "", []byte(`{"orphan":true}`), "application/json", "https://example.com/x"); err != nil {
		t.Fatal(err)
	}
	rep, err := inspect.Inspect(ctx, client, d.String(), inspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	arts := rep.Subject.Artifacts
	if len(arts) != 2 {
		t.Fatalf("want the attestation and the orphan, got %d: %+v", len(arts), arts)
	}
	var att, orphan *inspect.Artifact
	for _, a := range arts {
		if a.Kind == inspect.KindAttestation {
			att = a
		} else {
			orphan = a
		}
	}
	if att == nil || att.PredicateType != attest.PredicateCycloneDX || att.Detached == nil || !att.Detached.Found ||
		att.Detached.Artifact != out[0].Detached.Digest.String() || !strings.Contains(att.Summary, "detached application/vnd.cyclonedx+json document") {
		t.Fatalf("attestation %+v", att)
	}
	if orphan == nil || orphan.Kind != inspect.KindOther || !strings.Contains(orphan.Summary, "no signed statement names") {
		t.Fatalf("orphan %+v", orphan)
	}
}
