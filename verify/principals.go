package verify

// principalsOf is every policy signer a verified signature counts for: the
// trusted key it verified with, each keyless identity its certificate
// matches, each Notation principal whose trust store and identity accept
// it. A signature that names none counts for nobody.
func principalsOf(s Signature) []string {
	if !s.Verified {
		return nil
	}
	if len(s.Principals) > 0 {
		return s.Principals
	}
	if s.Key != "" {
		return []string{s.Key}
	}
	return nil
}

// matchPrincipals assigns verified signatures to the principals they
// verify for, each signature counting for at most one principal and each
// principal at most once, whatever format, layout or envelope the
// signatures came in: a maximum matching between signatures and
// principals. It returns, by signature index, the principal each counts
// for; its size is how many distinct principals signed.
//
// Counting signers per signature instead would let one signature that two
// overlapping identities accept pass a threshold of two; matching greedily
// could miss a matching that exists (signature A verifies for P1 or P2, B
// only for P1: A→P2, B→P1 is two).
func matchPrincipals(sigs []Signature) map[int]string {
	owner := map[string]int{} // principal -> the signature it is matched to
	var augment func(i int, seen map[string]bool) bool
	augment = func(i int, seen map[string]bool) bool {
		for _, p := range principalsOf(sigs[i]) {
			if seen[p] {
				continue
			}
			seen[p] = true
			j, taken := owner[p]
			if !taken || augment(j, seen) {
				owner[p] = i
				return true
			}
		}
		return false
	}
	for i := range sigs {
		augment(i, map[string]bool{})
	}
	out := make(map[int]string, len(owner))
	for p, i := range owner {
		out[i] = p
	}
	return out
}

// countedPrincipals lists the matched principals in signature order.
func countedPrincipals(sigs []Signature, m map[int]string) []string {
	var out []string
	for i := range sigs {
		if p, ok := m[i]; ok {
			out = append(out, p)
		}
	}
	return out
}
