package sign_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/internal/sigstoretest"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// TestKeylessSignVerify signs keylessly with a certificate from a test
// Fulcio and a timestamp from a test TSA, then verifies by identity.
func TestKeylessSignVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ss := sigstoretest.Start(t)
	reg := registrytest.New(t, true)
	client := oci.New()
	fulcio := sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: ss.URL})
	tsa := sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: ss.TSAURL})
	s, err := sign.NewKeyless(client, fulcio, sigstoretest.Token("dev@example.com", "https://accounts.example.com"), sign.WithTimestampAuthority(tsa))
	if err != nil {
		t.Fatal(err)
	}
	if s.PublicKey() != nil {
		t.Fatal("a keyless signer gave a public key: its key is ephemeral, nothing it signed can be checked against it later")
	}
	d := reg.PushImage(t, "team/app:v1")
	if _, err := s.SignImage(ctx, d.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignImage(ctx, d.String(), sign.Request{Layout: sign.LayoutLegacy}); err == nil || !strings.Contains(err.Error(), "bundles only") {
		t.Fatalf("keyless legacy layout: %v", err)
	}
	tr, err := ss.TrustedRoot()
	if err != nil {
		t.Fatal(err)
	}
	ok := verify.Identity{Name: "dev", Subject: "dev@example.com", Issuer: "https://accounts.example.com"}
	v, _ := verify.New(client, nil, verify.WithTrustedRoot(tr), verify.WithIdentities(ok))
	res, err := v.Verify(ctx, d.String(), verify.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Signatures[0].Identity, "dev@example.com") {
		t.Fatalf("%+v", res.Signatures[0])
	}
	other := verify.Identity{Name: "ci", Subject: "ci@example.com", Issuer: "https://accounts.example.com"}
	v2, _ := verify.New(client, nil, verify.WithTrustedRoot(tr), verify.WithIdentities(other))
	if _, err := v2.Verify(ctx, d.String(), verify.Request{}); !errors.Is(err, verify.ErrIdentityMismatch) ||
		!strings.Contains(err.Error(), "expected subject ci@example.com") || !strings.Contains(err.Error(), "found subject dev@example.com") {
		t.Fatalf("wrong identity: %v", err)
	}
	if _, err := sign.NewKeyless(client, fulcio, ""); err == nil {
		t.Fatal("keyless signer without a token")
	}
}
