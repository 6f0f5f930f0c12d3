package inspect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/signet-dev/signet/inspect"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
)

// TestKeyHintIsAClaim: a keyed bundle's key hint is whatever its maker
// wrote. Inspect shows it as a claim, never as the signer's key.
func TestKeyHintIsAClaim(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registrytest.New(t, true)
	client := oci.New()
	d := reg.PushImage(t, "team/app:v1")
	priv, _ := keys.Generate(keys.ECDSAP256)
	sv, _ := keys.SignerVerifier(priv)
	s, err := sign.New(sv, client)
	if err != nil {
		t.Fatal(err)
	}
	// Claim someone else's key.
	const claimed = "2e+uUkxC0VooR52VkPU7bA3SlL9+WYi3Ru2l+eeoCps="
	b, err := s.Bundle(ctx, "team/app", d.DigestStr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	own, _ := keys.ID(priv.Public())
	b = bytes.Replace(b, []byte(`"hint":"`+own+`"`), []byte(`"hint":"`+claimed+`"`), 1)
	target, _ := client.Resolve(ctx, d.String())
	if _, err := client.AttachBundle(ctx, target, b, sign.BundleAnnotations(oci.CosignSignPredicateType, fixedNow)); err != nil {
		t.Fatal(err)
	}
	rep, err := inspect.Inspect(ctx, client, d.String(), inspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Subject.Artifacts) != 1 || rep.Subject.Artifacts[0].Signer == nil {
		t.Fatalf("artifacts %+v", rep.Subject.Artifacts)
	}
	signer := rep.Subject.Artifacts[0].Signer
	if signer.ClaimedKeyHint != claimed || !strings.Contains(signer.Description, "claims key hint "+claimed+" (unverified)") {
		t.Fatalf("signer %+v: want the hint shown as an unverified claim", signer)
	}
	js, _ := json.Marshal(rep)
	if strings.Contains(string(js), `"keyId"`) {
		t.Fatalf("the report names the claimed hint as a key id: %s", js)
	}
	var text bytes.Buffer
	if err := inspect.WriteText(&text, rep, inspect.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text.String(), "key "+claimed+"\n") || !strings.Contains(text.String(), "(unverified)") {
		t.Fatalf("text shows the hint as the signer's key:\n%s", text.String())
	}
}
