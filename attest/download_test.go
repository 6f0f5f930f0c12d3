package attest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/attest"
)

// TestStatementsOfLargeAttestation: an attached attestation large enough
// to be read split from the registry (its payload decoded apart from the
// bundle's JSON) is downloaded whole, as a small one is.
func TestStatementsOfLargeAttestation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, true)
	var sb strings.Builder
	sb.WriteString(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[`)
	for i := 0; sb.Len() < 1<<20; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"type":"library","name":"package-%d","version":"1.0.%d"}`, i, i)
	}
	sb.WriteString(`]}`)
	path := filepath.Join(t.TempDir(), "sbom.cdx.json")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	d := f.reg.PushImage(t, "team/app:large")
	if _, err := f.attester.AttestImage(ctx, d.String(), attest.Request{Type: "cyclonedx", PredicatePath: path}); err != nil {
		t.Fatal(err)
	}
	found, err := attest.Statements(ctx, f.client, d.String(), attest.PredicateCycloneDX)
	if err != nil || len(found) != 1 {
		t.Fatalf("want one statement, got %+v, %v", found, err)
	}
	if found[0].Error != "" {
		t.Fatalf("the large attestation was not read: %s", found[0].Error)
	}
	var st struct {
		Predicate json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(found[0].Statement, &st); err != nil || string(st.Predicate) != sb.String() {
		t.Fatalf("the statement's predicate differs from the file (%v)", err)
	}
}
