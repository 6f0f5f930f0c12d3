package verify

import (
	"slices"
)

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

// matchPrincipals assigns the signers behind verified signatures to the
// principals they verify for: each signer (one key, one keyless identity,
// one Notation certificate subject) counts for at most one principal, and
// each principal at most once, whatever format, layout or envelope the
// signatures came in — a maximum matching between signers and principals.
// It returns, by signature index, the principal each counting signature
// stands for; its size is how many distinct principals signed.
//
// Counting per signature instead would let one signer whom two
// overlapping principals accept (a catch-all identity and a named one)
// pass a threshold of two by signing twice; matching greedily could miss a
// matching that exists (signer A verifies for P1 or P2, B only for P1:
// A→P2, B→P1 is two).
func matchPrincipals(sigs []Signature) map[int]string {
	// One node per signer: the principals any of its signatures verifies
	// for, and its signatures in order.
	type node struct {
		sigs       []int
		principals []string
	}
	var nodes []*node
	parent := []int{}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	byID := map[string]int{}
	for i, s := range sigs {
		ps := principalsOf(s)
		if len(ps) == 0 {
			continue
		}
		n := len(nodes)
		nodes = append(nodes, &node{sigs: []int{i}, principals: slices.Clone(ps)})
		parent = append(parent, n)
		// A signature's signer is known by each of its names; signatures
		// sharing any name (the same key in two formats, the same
		// certificate subject under two CAs) are one signer.
		for _, id := range signerIDs(s) {
			j, ok := byID[id]
			if !ok {
				byID[id] = n
				continue
			}
			if a, b := find(j), find(n); a != b {
				parent[b] = a
			}
		}
	}
	// Fold each signer's signatures and principals into its root node.
	var merged []*node
	at := map[int]*node{}
	for i, n := range nodes {
		r := find(i)
		m := at[r]
		if m == nil {
			m = &node{}
			at[r] = m
			merged = append(merged, m)
		}
		m.sigs = append(m.sigs, n.sigs...)
		for _, p := range n.principals {
			if !slices.Contains(m.principals, p) {
				m.principals = append(m.principals, p)
			}
		}
	}
	nodes = merged
	for _, n := range nodes {
		slices.Sort(n.sigs)
	}
	owner := map[string]int{} // principal -> the node it is matched to
	var augment func(i int, seen map[string]bool) bool
	augment = func(i int, seen map[string]bool) bool {
		for _, p := range nodes[i].principals {
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
	for i := range nodes {
		augment(i, map[string]bool{})
	}
	out := make(map[int]string, len(owner))
	for p, i := range owner {
		// The signer's first signature that verifies for p stands for it.
		for _, j := range nodes[i].sigs {
			if slices.Contains(principalsOf(sigs[j]), p) {
				out[j] = p
				break
			}
		}
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

// signerIDs is every name a signature's signer is known by: its signerID
// and the key it signed with. None: an unknown signer, counted apart.
func signerIDs(s Signature) []string {
	var ids []string
	if s.signerID != "" {
		ids = append(ids, s.signerID)
	}
	if s.KeyID != "" && s.signerID != "key:"+s.KeyID {
		ids = append(ids, "key:"+s.KeyID)
	}
	return ids
}
