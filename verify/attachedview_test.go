package verify_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// TestAttachedPartialCondition: a condition over an attached attestation
// whose statement is over the memory cap sees the predicate's small members
// and its summary, as over a detached predicate, and is refused when it
// reads a member left out.
func TestAttachedPartialCondition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	sbom := writeSBOM(t, 8000) // about 1.3 MB: components over the 1 MiB kept
	img := w.reg.PushImage(t, "team/app:attached-large")
	if _, err := attest.New(w.signers["alice"], w.client).AttestImage(ctx, img.String(), attest.Request{Type: "cyclonedx", PredicatePath: sbom}); err != nil {
		t.Fatal(err)
	}
	small := []verify.Option{verify.WithDetachedMemoryBytes(4096)}
	tests := []struct {
		name    string
		opts    []verify.Option
		cond    string
		wantErr error
		reason  string
	}{
		{"whole statement", nil, `size(predicate.components) == 8000 && summary.counts.components == 8000`, nil, ""},
		{"whole statement, false", nil, `size(predicate.components) == 3`, verify.ErrConditionFalse, "size(predicate.components) == 3"},
		{"over the memory cap: summary and kept members", small,
			`summary.counts.components == 8000 && summary.licenses == ["Apache-2.0", "MIT"] && predicate.specVersion == "1.5" && statement.predicateType == "` + attest.PredicateCycloneDX + `"`, nil, ""},
		{"over the memory cap: false", small, `!("MIT" in summary.licenses)`, verify.ErrConditionFalse, "the statement is"},
		{"over the memory cap: a member left out", small, `size(predicate.components) > 0`, policy.ErrPartialDocument, "predicate.components was left out"},
		{"over the memory cap: has() of a member left out", small, `!has(predicate.components)`, policy.ErrPartialDocument, "over the size a condition sees its predicate whole"},
		{"over the memory cap: the statement as a whole", small, `size(statement) > 0`, policy.ErrPartialDocument, "as a whole"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := verify.CompileConditionFor(attest.PredicateCycloneDX, tc.cond)
			if err != nil {
				t.Fatal(err)
			}
			req := verify.AttestationRequest{PredicateType: attest.PredicateCycloneDX, Condition: c}
			res, err := w.detachedVerifier(t, tc.opts...).VerifyAttestations(ctx, img.String(), req)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("want verified, got %v", err)
				}
				if len(res.Signatures) != 1 || res.Signatures[0].Detached != nil {
					t.Fatalf("want one attached attestation, got %+v", res.Signatures)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("want %v (%q), got %v", tc.wantErr, tc.reason, err)
			}
		})
	}
}
