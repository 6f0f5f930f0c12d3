// Package lazyre holds package-level regular expressions that are compiled
// on first use rather than when the program starts. Every signet command
// pays for every linked package's variable initialisation; a pattern with a
// bounded repetition such as [A-Za-z0-9_.-]{0,127} costs about 0.1 ms and
// 100 kB to compile, which a command that never matches it need not pay.
package lazyre

import (
	"regexp"
	"sync"
)

// Regexp is a regular expression compiled on its first use. Its methods are
// those of regexp.Regexp that Signet's packages use. An invalid expression
// panics on first use, as regexp.MustCompile would at start-up; each
// package's tests use its expressions.
type Regexp struct {
	expr string
	once sync.Once
	re   *regexp.Regexp
}

// New returns expr, to be compiled when first used.
func New(expr string) *Regexp { return &Regexp{expr: expr} }

// Compiled compiles the expression if it was not yet and returns it.
func (r *Regexp) Compiled() *regexp.Regexp {
	r.once.Do(func() { r.re = regexp.MustCompile(r.expr) })
	return r.re
}

// MatchString reports whether s contains a match.
func (r *Regexp) MatchString(s string) bool { return r.Compiled().MatchString(s) }

// FindStringSubmatch returns the leftmost match and its submatches.
func (r *Regexp) FindStringSubmatch(s string) []string { return r.Compiled().FindStringSubmatch(s) }

// ReplaceAllString replaces the matches in src with repl.
func (r *Regexp) ReplaceAllString(src, repl string) string {
	return r.Compiled().ReplaceAllString(src, repl)
}

// String returns the expression's source text.
func (r *Regexp) String() string { return r.expr }
