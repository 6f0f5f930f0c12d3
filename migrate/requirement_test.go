package migrate

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/signet-dev/signet/policy"
)

func testSigner(id string) signer {
	return keylessSigner(id, policy.Keyless{Issuer: "https://issuer.example", Subject: id})
}

// TestThreshold checks the one threshold written for a conjunction of
// "n of these signers" clauses against every set of signers that could
// have signed: whatever passes Signet's threshold passes every clause (the
// import is never more permissive), and when no Stricter finding was
// made, whatever passes every clause passes the threshold too (exact).
func TestThreshold(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		clauses []clause
		attOnly []string // signers of attestations only
		want    int
		exact   bool
	}{
		{"one of two", []clause{{1, []string{"a", "b"}}}, nil, 1, true},
		{"two of three", []clause{{2, []string{"a", "b", "c"}}}, nil, 2, true},
		{"all of two sets", []clause{{1, []string{"a"}}, {2, []string{"b", "c"}}}, nil, 3, true},
		{"one of a set and all of another", []clause{{1, []string{"a", "b"}}, {1, []string{"c"}}}, nil, 3, false},
		{"two partial sets", []clause{{1, []string{"a", "b"}}, {2, []string{"c", "d", "e"}}}, nil, 4, false},
		{"overlapping sets", []clause{{1, []string{"a", "b"}}, {1, []string{"b", "c"}}}, nil, 2, false},
		{"the same signer twice", []clause{{1, []string{"a"}}, {1, []string{"a"}}}, nil, 1, true},
		{"attestation signer added", []clause{{1, []string{"a", "b"}}}, []string{"c"}, 2, false},
		{"attestations only", nil, []string{"a", "b"}, 0, true},
		// The same key in two attestors of a set: Kyverno counts both when
		// it signed, so a alone passes "two of a, a, b" but b alone not.
		{"a signer twice in a set", []clause{{2, []string{"a", "a", "b"}}}, nil, 2, false},
		{"a signer twice, all of them", []clause{{3, []string{"a", "a", "b"}}}, nil, 2, true},
		{"a signer twice, one of them", []clause{{1, []string{"a", "a", "b"}}}, nil, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var found []Finding
			req := &requirement{sc: scope{out: &found}, clauses: tc.clauses}
			for _, c := range tc.clauses {
				for _, id := range c.ids {
					req.addSigner(signer{id: id, hint: id})
				}
			}
			for _, id := range tc.attOnly {
				req.addSigner(signer{id: id, hint: id})
				req.attestations = append(req.attestations, attestation{name: "x", predicateType: "custom", signers: []string{id}})
			}
			got := threshold(req, *req)
			if got != tc.want {
				t.Errorf("threshold %d, want %d", got, tc.want)
			}
			if exact := len(found) == 0; exact != tc.exact {
				t.Errorf("exact %v, want %v (findings %v)", exact, tc.exact, found)
			}
			checkThreshold(t, req, got, tc.exact)
		})
	}
}

// checkThreshold tries every set of signers.
func checkThreshold(t *testing.T, req *requirement, th int, exact bool) {
	t.Helper()
	var ids []string
	for _, s := range req.signers {
		ids = append(ids, s.id)
	}
	for mask := 0; mask < 1<<len(ids); mask++ {
		var signed []string
		for i, id := range ids {
			if mask&(1<<i) != 0 {
				signed = append(signed, id)
			}
		}
		clauses := true
		for _, c := range req.clauses {
			n := 0
			for _, id := range c.ids {
				if slices.Contains(signed, id) {
					n++
				}
			}
			clauses = clauses && n >= c.n
		}
		signet := len(signed) >= th
		if signet && !clauses {
			t.Errorf("signed by %v: Signet's threshold %d passes, the original's clauses do not (more permissive)", signed, th)
		}
		if exact && len(req.clauses) > 0 && clauses && !signet {
			t.Errorf("signed by %v: the original passes, Signet's threshold %d does not, yet no Stricter finding says so", signed, th)
		}
	}
}

// TestRenderCarries: a rule carrying another's requirements asks for both
// rules' signers and attestations, the stricter mode and log setting, and
// says where a placeholder came from.
func TestRenderCarries(t *testing.T) {
	t.Parallel()
	var found []Finding
	sc := scope{out: &found}
	a := &requirement{origin: "A", sc: sc, mode: "audit", tlog: "skip"}
	a.clauses = []clause{{1, []string{a.addSigner(testSigner("a"))}}}
	b := &requirement{origin: "B", sc: sc, mode: "enforce", tlog: "required", digestRequired: true}
	b.clauses = []clause{{1, []string{b.addSigner(testSigner("b"))}}}
	b.attestations = []attestation{{name: "sbom", predicateType: "spdx", signers: []string{testSigner("b").id}}}
	b.refuse("something untranslated")
	r := render("ghcr.io/**", []*requirement{a, b})
	rule := r.rule
	if len(rule.Signers) != 2 || rule.Threshold == nil || *rule.Threshold != 2 {
		t.Errorf("signers %v threshold %v: want both signers, both required", rule.Signers, rule.Threshold)
	}
	if rule.Mode != "" || rule.TransparencyLog != "required" || rule.Tags == nil || !rule.Tags.DigestRequired {
		t.Errorf("mode %q tlog %q tags %+v: want enforce (the default), required, digest required", rule.Mode, rule.TransparencyLog, rule.Tags)
	}
	if len(rule.Attestations) != 2 || rule.Attestations[1].Condition != "false" || rule.Attestations[1].PredicateType != placeholderType {
		t.Fatalf("attestations %+v: want B's and a refusing placeholder", rule.Attestations)
	}
	if got := rule.Attestations[0].Signers; !slices.Equal(got, []string{"b"}) {
		t.Errorf("B's attestation may be signed by %v; want only B's signer", got)
	}
	if c := r.attComments[1]; c == "" || !strings.Contains(c, "B: something untranslated") {
		t.Errorf("placeholder comment %q does not say where it came from", c)
	}
}

// TestRenderEmptyCarriedChangesNothing: carrying a requirement that asks
// for nothing (a static pass) leaves the mode as it was.
func TestRenderEmptyCarriedChangesNothing(t *testing.T) {
	t.Parallel()
	sc := scope{out: new([]Finding)}
	a := &requirement{origin: "A", sc: sc, mode: "audit", tlog: "required"}
	a.clauses = []clause{{1, []string{a.addSigner(testSigner("a"))}}}
	pass := &requirement{origin: "P", sc: sc, mode: "enforce", tlog: "optional"}
	r := render("ghcr.io/**", []*requirement{a, pass})
	if r.rule.Mode != "audit" {
		t.Errorf("mode %q, want audit: an empty requirement decides nothing", r.rule.Mode)
	}
}

func TestNameSigners(t *testing.T) {
	t.Parallel()
	got := nameSigners([]signer{{id: "1", hint: "verify custom attestation"}, {id: "2", hint: "verify custom attestation"}, {id: "3", hint: "¡!"}})
	want := map[string]string{"1": "verify-custom-attestation", "2": "verify-custom-attestation-2", "3": "signer"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("names %v, want %v", got, want)
	}
}
