package attest_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/attest"
)

// TestEmptyInput: an empty predicate or statement file is refused as empty,
// whatever its --type, not with a parser's complaint about JSON.
func TestEmptyInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty, blank := write("empty", ""), write("blank", "\n  \n")
	for _, tc := range []struct {
		name      string
		req       attest.Request
		want      string
		predicate bool
	}{
		{"vuln", attest.Request{Type: "vuln", PredicatePath: empty}, "the predicate file is empty", true},
		{"cyclonedx", attest.Request{Type: "cyclonedx", PredicatePath: empty}, "the predicate file is empty", true},
		{"spdx", attest.Request{Type: "spdx", PredicatePath: empty}, "the predicate file is empty", true},
		{"custom", attest.Request{Type: "custom", PredicatePath: empty}, "the predicate file is empty", true},
		{"uri", attest.Request{Type: "https://example.com/review/v1", PredicatePath: empty}, "the predicate file is empty", true},
		{"white space", attest.Request{Type: "slsaprovenance1", PredicatePath: blank}, "the predicate file holds only white space", true},
		{"in memory", attest.Request{Type: "openvex", Predicate: []byte{}}, "the predicate file is empty", true},
		{"statement", attest.Request{Statement: []byte(" ")}, "the statement file holds only white space", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := attest.Check(tc.req)
			if !errors.Is(err, attest.ErrEmptyFile) || errors.Is(err, attest.ErrInvalidPredicate) != tc.predicate || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrEmptyFile saying %q", err, tc.want)
			}
		})
	}
}

// TestCheckNeedsNoSigner: Check reads and checks the input with neither a
// key nor a registry, and says which predicate type it found.
func TestCheckNeedsNoSigner(t *testing.T) {
	t.Parallel()
	c, err := attest.Check(attest.Request{Type: "vuln", PredicatePath: "testdata/trivy.json"})
	if err != nil || c.PredicateType() != attest.PredicateVuln {
		t.Fatalf("got %v, %v", c, err)
	}
	// Streamed (a 1-byte threshold): checked while streaming, just the same.
	if _, err := attest.Check(attest.Request{Type: "cyclonedx", PredicatePath: "testdata/trivy.json"}, attest.WithStreamingThreshold(1)); !errors.Is(err, attest.ErrInvalidPredicate) {
		t.Fatalf("streamed: got %v", err)
	}
}
