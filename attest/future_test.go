package attest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/verify"
)

// TestFutureDatedReport: a report that says it was made in the future
// (beyond a few minutes' clock skew) is refused before anything is signed:
// verifiers would measure its age from that time, and it would never grow
// old.
func TestFutureDatedReport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, true)
	const far = "2099-01-01T00:00:00Z"
	soon := time.Now().Add(3 * time.Minute).UTC().Format(time.RFC3339)
	later := time.Now().Add(20 * time.Minute).UTC().Format(time.RFC3339)
	redate := func(file, from, to string) []byte { return []byte(strings.Replace(string(read(t, file)), from, to, 1)) }
	cdx, _, _ := attest.ResolveType("cyclonedx")
	cases := []struct {
		name string
		req  attest.Request
		ok   bool
	}{
		{"trivy report dated 2099", attest.Request{Type: "vuln", Predicate: redate("trivy.json", "2026-11-30T10:05:00Z", far)}, false},
		{"trivy report 20 minutes ahead", attest.Request{Type: "vuln", Predicate: redate("trivy.json", "2026-11-30T10:05:00Z", later)}, false},
		{"grype report dated 2099", attest.Request{Type: "vuln", Predicate: redate("grype.json", "2026-11-30T10:06:00Z", far)}, false},
		{"cosign vuln predicate dated 2099", attest.Request{Type: "vuln", Predicate: []byte(`{"scanner":{"uri":"x"},"metadata":{"scanFinishedOn":"` + far + `"}}`)}, false},
		{"cyclonedx sbom dated 2099", attest.Request{Type: "cyclonedx", Predicate: redate("sbom.cdx.json", "2026-11-30T10:00:00Z", far)}, false},
		{"statement dated 2099", attest.Request{Statement: nil}, false}, // filled in below
		{"trivy report within clock skew", attest.Request{Type: "vuln", Predicate: redate("trivy.json", "2026-11-30T10:05:00Z", soon)}, true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := f.reg.PushImage(t, fmt.Sprintf("team/app:future-%d", i))
			req := tc.req
			pt := attest.PredicateVuln
			if tc.req.Type == "cyclonedx" {
				pt = cdx
			}
			if req.Type == "" {
				st, _ := attest.NewStatement("team/app", d.DigestStr(), attest.PredicateVuln, json.RawMessage(`{"metadata":{"scanFinishedOn":"`+far+`"}}`))
				req.Statement, _ = json.Marshal(st)
			}
			_, err := f.attester.AttestImage(ctx, d.String(), req)
			if tc.ok {
				if err != nil {
					t.Fatalf("within skew: %v", err)
				}
				return
			}
			if !errors.Is(err, attest.ErrFutureTime) || !strings.Contains(err.Error(), "clock") {
				t.Fatalf("got %v, want %v saying what to fix", err, attest.ErrFutureTime)
			}
			if _, err := f.verifier.VerifyAttestations(ctx, d.String(), verify.AttestationRequest{PredicateType: pt}); !errors.Is(err, verify.ErrNoAttestations) {
				t.Fatalf("something was attached: %v", err)
			}
		})
	}
}
