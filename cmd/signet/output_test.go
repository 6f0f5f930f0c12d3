package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/signet-dev/signet/verify"
)

// TestDecisionHeader: a decision's first line names what was verified only
// when something was (no "()" for an image that never resolved), and the
// default action as such.
func TestDecisionHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    verify.Decision
		want string
	}{
		{"tag resolved", verify.Decision{Allowed: true, Image: "r/app:v1", Tag: "v1", Digest: "sha256:ab", Rule: "r/**", Mode: "enforce"},
			`✓ ALLOWED r/app:v1 (tag v1 → sha256:ab) by rule "r/**" (enforce)`},
		{"digest", verify.Decision{Allowed: true, Image: "r/app@sha256:ab", Digest: "sha256:ab", Rule: "r/**", Mode: "enforce"},
			`✓ ALLOWED r/app@sha256:ab (sha256:ab) by rule "r/**" (enforce)`},
		{"not resolved", verify.Decision{Image: "r/app:v9", Rule: "r/**", Mode: "enforce", Class: verify.ClassNotFound},
			`✗ DENIED r/app:v9 by rule "r/**" (enforce)`},
		{"default action", verify.Decision{Image: "x/app:v1", Mode: "enforce", Class: verify.ClassPolicyDenied},
			`✗ DENIED x/app:v1 by the policy's default action`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			printDecision(&streams{out: &out}, &tc.d, false)
			if got, _, _ := strings.Cut(out.String(), "\n"); got != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 entries", 1: "1 entry", 7: "7 entries"} {
		if got := count(n, "entry", "entries"); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}
