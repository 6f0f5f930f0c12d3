package verify_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// TestRecalledPlatformByDigest: an index named by digest, signed and
// attested, whose arm64 manifest a recall list names, is refused as
// recalled by Verify and VerifyAttestations — the digest reference is
// asked of the registry (its media type says it is an index) when a recall
// list names digests, not taken as given to save the round trip.
func TestRecalledPlatformByDigest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	idx, byPlatform := w.reg.PushPlatforms(t, "team/multi:v1", v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64"})
	w.sign(t, "alice", idx.String())
	w.attest(t, "alice", idx.String(), "cyclonedx", "sbom.cdx.json")
	recalls, err := policy.ParseRecalls([]byte(fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: 1\ndigests:\n  - digest: %s\n    reason: bad build\n",
		byPlatform["linux/arm64"].DigestStr())))
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(w.client, []verify.Key{{Name: "alice", PublicKey: w.signers["alice"].PublicKey()}}, verify.WithRecalls(recalls))
	if err != nil {
		t.Fatal(err)
	}
	for name, run := range map[string]func() error{
		"verify": func() error { _, err := v.Verify(ctx, idx.String(), verify.Request{}); return err },
		"verify-attestation": func() error {
			_, err := v.VerifyAttestations(ctx, idx.String(), verify.AttestationRequest{PredicateType: attest.PredicateCycloneDX})
			return err
		},
	} {
		if err := run(); !errors.Is(err, verify.ErrRecalled) {
			t.Errorf("%s of an index by digest listing a recalled manifest: %v, want an error matching ErrRecalled", name, err)
		}
	}
}
