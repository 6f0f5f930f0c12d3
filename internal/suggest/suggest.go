// Package suggest finds the name a person most likely meant: the "did you
// mean" of a misspelt policy field, predicate type, schema field or flag.
package suggest

import "strings"

// Nearest returns the candidate that name is most likely a typo of, or ""
// when none is close. Case and the separators - and _ are ignored; a
// candidate of which name is a prefix of four letters or more counts as
// one edit away (workflowRepo for workflowRepository); otherwise a
// candidate is close within one edit of a name of up to four letters, and
// within two edits, or a third of its length, of a longer one. The
// first of equally close candidates wins; name itself is never suggested.
func Nearest(name string, candidates []string) string {
	fold := strings.NewReplacer("-", "", "_", "")
	a := fold.Replace(strings.ToLower(name))
	best, bestD := "", -1
	for _, c := range candidates {
		if c == name {
			continue
		}
		b := fold.Replace(strings.ToLower(c))
		d := Distance(a, b)
		if len(a) >= 4 && strings.HasPrefix(b, a) {
			d = 1
		}
		if len(a) <= 4 && d > 1 || d > 2 && d > len(b)/3 {
			continue // a short name within one edit; a longer one within two, or a third
		}
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// Distance is the number of edits between a and b: letters inserted,
// deleted or replaced, and two neighbouring letters swapped counting as one.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
