package migrate

import (
	"strings"
)

// tokKind is what one element of a pattern matches.
type tokKind uint8

const (
	tLit   tokKind = iota // one given character
	tStar                 // any run of characters other than '/' (Signet's *)
	tStars                // any run of characters ('**')
	tAny                  // any one character ('{?,/}')
	// tEvery is alone in a pattern (everyRule): not a pattern Signet
	// matches, but a source rule whose images cannot be told, so its
	// requirements are carried into every rule of the output.
	tEvery
)

// everyRule stands for a source rule's images when the importer cannot
// write them as a pattern (a regex, a variable, a spelling Signet reads
// differently): its requirements then go into every rule written, and it
// makes no rule of its own, so it never admits an image by itself (the
// original matched it, or another rule did; policy-controller denies what
// no policy matches).
var everyRule = pattern{{kind: tEvery}}

// isEvery reports whether p is everyRule.
func (p pattern) isEvery() bool { return len(p) == 1 && p[0].kind == tEvery }

type tok struct {
	kind tokKind
	c    byte
}

// pattern is a Signet image pattern as a sequence of elements; it is what
// the importer writes, so it can reason about which images a pattern
// matches (overlaps between rules) without parsing glob syntax back.
type pattern []tok

// String writes the pattern in Signet's (gobwas/glob) syntax. Literals are
// characters of image references only, which are never special.
func (p pattern) String() string {
	var b strings.Builder
	for _, t := range p {
		switch t.kind {
		case tLit:
			b.WriteByte(t.c)
		case tStar:
			b.WriteByte('*')
		case tStars:
			b.WriteString("**")
		case tAny:
			b.WriteString("{?,/}")
		case tEvery:
			b.WriteString("(every rule)")
		}
	}
	return b.String()
}

func lits(s string) pattern {
	p := make(pattern, len(s))
	for i := 0; i < len(s); i++ {
		p[i] = tok{kind: tLit, c: s[i]}
	}
	return p
}

func concat(ps ...pattern) pattern {
	var out pattern
	for _, p := range ps {
		out = append(out, p...)
	}
	return out
}

// hasWildcard reports whether p has any wildcard.
func (p pattern) hasWildcard() bool {
	for _, t := range p {
		if t.kind != tLit {
			return true
		}
	}
	return false
}

// slashInPath reports whether p can match a '/' before its tag or digest
// (a literal ':' or '@'): whether it can match a name of several segments.
func (p pattern) slashInPath() bool {
	for _, t := range p {
		switch {
		case t.kind == tLit && (t.c == ':' || t.c == '@'):
			return false
		case t.kind == tStars || t.kind == tAny || t.kind == tLit && t.c == '/':
			return true
		}
	}
	return false
}

// wildcardBeforeSlash reports whether a wildcard that can stand for a
// whole first path segment comes before p's first literal '/' (or p has
// no '/'): p could then match a one-segment name.
func (p pattern) wildcardBeforeSlash() bool {
	for _, t := range p {
		if t.kind == tLit && t.c == '/' {
			return false
		}
		if t.kind != tLit {
			return true
		}
	}
	return true
}

// lastSegment returns the elements after p's last literal '/'.
func (p pattern) lastSegment() pattern {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i].kind == tLit && p[i].c == '/' {
			return p[i+1:]
		}
	}
	return p
}

func (p pattern) hasLit(chars string) bool {
	for _, t := range p {
		if t.kind == tLit && strings.IndexByte(chars, t.c) >= 0 {
			return true
		}
	}
	return false
}

// overlaps reports whether some string matches both a and b: a walk over
// the pair of automatons, each element a state (a star loops on itself).
func overlaps(a, b pattern) bool {
	type state struct{ i, j int }
	seen := map[state]bool{}
	var queue []state
	push := func(s state) {
		// Stars match the empty string: close over them.
		for _, ci := range closure(a, s.i) {
			for _, cj := range closure(b, s.j) {
				st := state{ci, cj}
				if !seen[st] {
					seen[st] = true
					queue = append(queue, st)
				}
			}
		}
	}
	push(state{0, 0})
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s.i == len(a) && s.j == len(b) {
			return true
		}
		if s.i == len(a) || s.j == len(b) {
			continue
		}
		ta, tb := a[s.i], b[s.j]
		if !meet(ta, tb) {
			continue
		}
		push(state{next(ta, s.i), next(tb, s.j)})
	}
	return false
}

// closure is the positions reachable from i by skipping stars.
func closure(p pattern, i int) []int {
	out := []int{i}
	for i < len(p) && (p[i].kind == tStar || p[i].kind == tStars) {
		i++
		out = append(out, i)
	}
	return out
}

// next is the position after an element consumes a character: a star
// stays where it is.
func next(t tok, i int) int {
	if t.kind == tStar || t.kind == tStars {
		return i
	}
	return i + 1
}

// meet reports whether one character can be consumed by both elements.
func meet(a, b tok) bool {
	noSlash := func(t tok) bool { return t.kind == tStar }
	switch {
	case a.kind == tLit && b.kind == tLit:
		return a.c == b.c
	case a.kind == tLit:
		return !(noSlash(b) && a.c == '/')
	case b.kind == tLit:
		return !(noSlash(a) && b.c == '/')
	}
	return true
}

// matches reports whether s matches p (for tests and self-checks).
func (p pattern) matches(s string) bool {
	return overlaps(p, lits(s))
}
