package policy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/signet-dev/signet/policy"
)

// TestRecallsOneDocument: a recall list is one YAML document; a second one
// (two lists concatenated) would be ignored, its recalls silently not
// applied, so it is refused.
func TestRecallsOneDocument(t *testing.T) {
	t.Parallel()
	doc := "apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: 1\n"
	second := "---\napiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: 2\ndigests:\n  - {digest: sha256:" + strings.Repeat("ab", 32) + ", reason: CVE}\n"
	if _, err := policy.ParseRecalls([]byte(doc)); err != nil {
		t.Fatalf("one document: %v", err)
	}
	if _, err := policy.ParseRecalls([]byte(doc + "---\n")); err != nil {
		t.Fatalf("one document and a trailing separator: %v", err)
	}
	_, err := policy.ParseRecalls([]byte(doc + second))
	if !errors.Is(err, policy.ErrInvalidRecalls) || !strings.Contains(err.Error(), "more than one document") {
		t.Fatalf("got %v, want %v saying it has more than one document", err, policy.ErrInvalidRecalls)
	}
}
