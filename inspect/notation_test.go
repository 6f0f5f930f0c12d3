package inspect_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/inspect"
	"github.com/signet-dev/signet/internal/notarytest"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/notary"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
)

// notationSignedImage pushes an image and signs it in Notation's format
// (envelope jws or cose) with a leaf CN=Release certified by "Acme CA".
func notationSignedImage(t *testing.T, envelope string) (*oci.Client, name.Digest) {
	t.Helper()
	reg := registrytest.New(t, true)
	d := reg.PushImage(t, "team/app:v1")
	client := oci.New()
	pki := notarytest.New(t, "Acme CA", "Release")
	s, err := sign.NewNotation(pki.Key, pki.Chain, client, notary.SignOptions{Envelope: envelope})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignImage(context.Background(), d.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	return client, d
}

// TestNotationListed: inspect lists a Notation signature with its envelope,
// certificate subject and issuer, signing time and timestamp presence; a
// Notation manifest that is not one envelope is a signature, unreadable.
func TestNotationListed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client, d := notationSignedImage(t, "cose")
	target, err := client.Resolve(ctx, d.String())
	if err != nil {
		t.Fatal(err)
	}
	// A second "signature" whose envelope is garbage.
	if _, err := client.AttachNotation(ctx, target, []byte("not an envelope"), notary.MediaTypeJWS, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := inspect.Inspect(ctx, client, d.String(), inspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var good, bad *inspect.Artifact
	for _, a := range rep.Subject.Artifacts {
		if a.Format != "notation" || a.Kind != inspect.KindSignature {
			t.Fatalf("artifact %+v", a)
		}
		if a.Unreadable != "" {
			bad = a
		} else {
			good = a
		}
	}
	if good == nil || bad == nil {
		t.Fatalf("artifacts %+v", rep.Subject.Artifacts)
	}
	n := good.Notation
	if n == nil || n.Envelope != "cose" || n.Subject != "CN=Release,O=Acme,ST=WA,C=US" || n.Issuer != "CN=Acme CA,O=Acme" || n.Timestamped || n.SigningTime.IsZero() || n.SigningScheme != "notary.x509" {
		t.Fatalf("notation %+v", n)
	}
	if !strings.Contains(good.Summary, target.Descriptor.Digest.String()) {
		t.Errorf("summary %q", good.Summary)
	}
	if !strings.Contains(bad.Unreadable, "not a Notation signature envelope") {
		t.Errorf("unreadable %q", bad.Unreadable)
	}
	var text, html bytes.Buffer
	if err := inspect.WriteText(&text, rep, inspect.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := inspect.WriteHTML(&html, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cose envelope, notary.x509, signed ", "no timestamp", `certificate "CN=Release,O=Acme,ST=WA,C=US" issued by "CN=Acme CA,O=Acme"`} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if !strings.Contains(html.String(), "cose envelope, notary.x509") {
		t.Errorf("html lacks the notation line")
	}
}

// TestNotationAttestationListed: an attestation artifact (an in-toto
// statement signed with Notation, and a raw SPDX document nobody signed)
// is listed as an attestation with its predicate and who signed it.
func TestNotationAttestationListed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registrytest.New(t, true)
	d := reg.PushImage(t, "team/app:v1")
	client := oci.New()
	pki := notarytest.New(t, "Acme CA", "Scanner")
	s, err := sign.NewNotation(pki.Key, pki.Chain, client, notary.SignOptions{Envelope: "jws"})
	if err != nil {
		t.Fatal(err)
	}
	sbom, err := os.ReadFile("../attest/testdata/sbom.cdx.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := attest.NewNotation(s, client).AttestImage(ctx, d.String(), attest.Request{Type: "cyclonedx", Predicate: sbom}); err != nil {
		t.Fatal(err)
	}
	target, err := client.Resolve(ctx, d.String())
	if err != nil {
		t.Fatal(err)
	}
	spdx, err := os.ReadFile("../attest/testdata/sbom.spdx.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.AttachAttestation(ctx, target, spdx, oci.SPDXMediaType, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := inspect.Inspect(ctx, client, d.String(), inspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*inspect.Artifact{}
	for _, a := range rep.Subject.Artifacts {
		got[a.PredicateType] = a
	}
	cdx, raw := got["https://cyclonedx.org/bom"], got["https://spdx.dev/Document"]
	if cdx == nil || raw == nil || cdx.Kind != inspect.KindAttestation || raw.Kind != inspect.KindAttestation {
		t.Fatalf("artifacts %+v", rep.Subject.Artifacts)
	}
	if cdx.Signer == nil || !strings.Contains(cdx.Signer.Description, `Notation: certificate "CN=Scanner,O=Acme,ST=WA,C=US" issued by "CN=Acme CA,O=Acme"`) || cdx.SBOM == nil {
		t.Fatalf("signed statement: signer %+v sbom %+v", cdx.Signer, cdx.SBOM)
	}
	if raw.Signer == nil || !strings.Contains(raw.Signer.Description, "no Notation signature") || raw.SBOM == nil {
		t.Fatalf("unsigned SPDX document: signer %+v sbom %+v", raw.Signer, raw.SBOM)
	}
}

// TestNotationDownloaded: `signet download signature` includes Notation
// signatures, their envelope as stored (base64) with its media type.
func TestNotationDownloaded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client, d := notationSignedImage(t, "cose")
	raws, err := inspect.Signatures(ctx, client, d.String())
	if err != nil || len(raws) != 1 || raws[0].Format != "notation" {
		t.Fatalf("signatures %+v, %v", raws, err)
	}
	var data struct{ MediaType, Envelope string }
	if err := json.Unmarshal(raws[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	env, err := base64.StdEncoding.DecodeString(data.Envelope)
	if err != nil || data.MediaType != notary.MediaTypeCOSE {
		t.Fatalf("data %+v: %v", data, err)
	}
	if info, err := notary.Describe(env, data.MediaType); err != nil || info.Subject != "CN=Release,O=Acme,ST=WA,C=US" {
		t.Fatalf("the downloaded envelope: %+v, %v", info, err)
	}
}
