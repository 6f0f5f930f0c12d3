package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestAdmissionWatchesThePolicysRecallList: a recall list the policy names
// outside its directory (a subdirectory, an absolute path) is watched too,
// so a recall added to it reloads the policy.
func TestAdmissionWatchesThePolicysRecallList(t *testing.T) {
	t.Parallel()
	dir, elsewhere := t.TempDir(), t.TempDir()
	for _, tc := range []struct{ name, recalls, want string }{
		{"subdirectory", "lists/recalls.yaml", filepath.Join(dir, "lists", "recalls.yaml")},
		{"absolute", filepath.Join(elsewhere, "recalls.yaml"), filepath.Join(elsewhere, "recalls.yaml")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := filepath.Join(dir, tc.name+".yaml")
			doc := "apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages: []\nrecalls: " + tc.recalls + "\n"
			if err := os.WriteFile(pol, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			o := admissionOptions{polFile: pol}
			if got := o.watched(); !slices.Contains(got, tc.want) {
				t.Fatalf("watched %v, want %s among them", got, tc.want)
			}
		})
	}
}
