package verify

import (
	"fmt"
	"slices"
	"testing"
)

func TestMatchPrincipals(t *testing.T) {
	n := 0
	sig := func(verified bool, ps ...string) Signature {
		n++
		s := Signature{Verified: verified, Principals: ps, signerID: fmt.Sprint("signer ", n)}
		if len(ps) > 0 {
			s.Key = ps[0]
		}
		return s
	}
	by := func(id string, ps ...string) Signature {
		return Signature{Verified: true, Key: ps[0], Principals: ps, signerID: id}
	}
	cases := []struct {
		name string
		sigs []Signature
		want int
	}{
		{"none", nil, 0},
		{"one signature for two principals counts once", []Signature{sig(true, "p1", "p2")}, 1},
		{"same principal twice counts once", []Signature{sig(true, "p1"), sig(true, "p1")}, 1},
		{"an unverified signature counts for nobody", []Signature{sig(true, "p1"), sig(false, "p2")}, 1},
		// Greedy would give A to p1 and then find nothing for B.
		{"a matching greedy misses", []Signature{sig(true, "p1", "p2"), sig(true, "p1")}, 2},
		{"three ways", []Signature{sig(true, "a", "b"), sig(true, "a", "c"), sig(true, "a")}, 3},
		{"key name without principals", []Signature{{Verified: true, Key: "k"}, sig(true, "k")}, 1},
		// One signer whom two overlapping principals accept, signing twice
		// (two formats, two envelopes), is one signer.
		{"one signer signing twice counts once", []Signature{by("x", "p1", "p2"), by("x", "p1", "p2")}, 1},
		{"one signer, two formats, other principals", []Signature{by("x", "p1"), by("x", "p2"), by("y", "p1")}, 2},
		// One key is one signer whatever else names it: a cosign key that
		// is also a Notation leaf's, and signers joined through a key.
		{"one key, two formats, counts once", []Signature{
			{Verified: true, Key: "dave", signerID: "key:k1", KeyID: "k1"},
			{Verified: true, Key: "ca", Principals: []string{"ca"}, signerID: "notation:cn=x", KeyID: "k1"}}, 1},
		{"signers joined through a shared key", []Signature{
			{Verified: true, Key: "p1", Principals: []string{"p1"}, signerID: "notation:cn=x", KeyID: "k1"},
			{Verified: true, Key: "p2", Principals: []string{"p2"}, signerID: "notation:cn=y", KeyID: "k1"},
			{Verified: true, Key: "p3", Principals: []string{"p3"}, signerID: "notation:cn=y", KeyID: "k2"}}, 1},
		{"unknown signers count apart", []Signature{by("", "p1", "p2"), by("", "p1", "p2")}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := matchPrincipals(tc.sigs)
			got := countedPrincipals(tc.sigs, m)
			if len(got) != tc.want {
				t.Fatalf("counted %v, want %d principals", got, tc.want)
			}
			seen := map[string]bool{}
			for i, p := range m {
				if seen[p] {
					t.Fatalf("principal %s counted twice", p)
				}
				seen[p] = true
				if !slices.Contains(principalsOf(tc.sigs[i]), p) {
					t.Fatalf("signature %d counted for %s, which it does not verify for", i, p)
				}
			}
		})
	}
}
