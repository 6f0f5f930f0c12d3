package oci

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/google/go-containerregistry/pkg/name"
)

// ErrInvalidReference marks an image reference that does not parse.
var ErrInvalidReference = errors.New("invalid image reference")

// ReferenceError says why an image reference does not parse: what is wrong
// with it and how to write it. It matches ErrInvalidReference and
// go-containerregistry's *name.ErrBadName.
type ReferenceError struct {
	// Ref is the reference as given.
	Ref string
	// Reason names the part that is wrong and says how to write it.
	Reason string

	err error // go-containerregistry's error
}

// Error does not repeat Ref: callers print the reference beside it, and
// Reason names the part that is wrong.
func (e *ReferenceError) Error() string { return ErrInvalidReference.Error() + ": " + e.Reason }

// Unwrap lets errors.Is and errors.As see ErrInvalidReference and the
// parser's own error.
func (e *ReferenceError) Unwrap() []error { return []error{ErrInvalidReference, e.err} }

// refForm is what a reference looks like, for the messages.
const refForm = "REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST"

// ParseReference parses an image reference as name.ParseReference does;
// when it does not parse, the error is a *ReferenceError that says why.
func ParseReference(ref string, opts ...name.Option) (name.Reference, error) {
	if why := explainScheme(ref); why != "" {
		// go-containerregistry refuses only a lower-case scheme, and
		// reads HTTPS://host/app as the registry "HTTPS:".
		return nil, &ReferenceError{Ref: ref, Reason: why, err: &name.ErrBadName{}}
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, &ReferenceError{Ref: ref, Reason: explainReference(ref), err: err}
	}
	return r, nil
}

// ParseRepository parses a repository name (no tag or digest) as
// name.NewRepository does; when it does not parse, the error is a
// *ReferenceError that says why.
func ParseRepository(repo string, opts ...name.Option) (name.Repository, error) {
	if why := explainScheme(repo); why != "" {
		return name.Repository{}, &ReferenceError{Ref: repo, Reason: why, err: &name.ErrBadName{}}
	}
	r, err := name.NewRepository(repo, opts...)
	if err != nil {
		return name.Repository{}, &ReferenceError{Ref: repo, Reason: explainName(repo), err: err}
	}
	return r, nil
}

// explainReference says what is wrong with a reference go-containerregistry
// refused, in the order a reader would fix it.
func explainReference(ref string) string {
	if ref == "" {
		return "the reference is empty; write " + refForm
	}
	if why := explainScheme(ref); why != "" {
		return why
	}
	if why := explainCharacters(ref); why != "" {
		return why
	}
	base, dig, hasDigest := strings.Cut(ref, "@")
	if hasDigest {
		if strings.Contains(dig, "@") {
			return "it has more than one '@'; write REGISTRY/REPOSITORY@sha256:DIGEST"
		}
		if why := explainDigest(dig); why != "" {
			return why
		}
	}
	return explainName(base)
}

// explainScheme refuses a URL where a reference belongs.
func explainScheme(ref string) string {
	lower := strings.ToLower(ref)
	for _, scheme := range []string{"http://", "https://"} {
		if strings.HasPrefix(lower, scheme) {
			return fmt.Sprintf("drop the scheme %q (write %s); for a plain-HTTP registry use --allow-insecure-registry",
				ref[:len(scheme)], quoteIfNeeded(ref[len(scheme):]))
		}
	}
	return ""
}

// explainCharacters finds a space or an invisible character.
func explainCharacters(ref string) string {
	for i, r := range ref {
		if unicode.IsSpace(r) || !unicode.IsGraphic(r) {
			return fmt.Sprintf("it has %q at position %d; a reference has no spaces or control characters", r, i+1)
		}
	}
	return ""
}

// explainName explains a reference without its digest: [registry/]repository[:tag].
func explainName(base string) string {
	repoPart, tag, hasTag := base, "", false
	if i := strings.LastIndex(base, ":"); i >= 0 && !strings.Contains(base[i+1:], "/") {
		repoPart, tag, hasTag = base[:i], base[i+1:], true
	}
	switch {
	case hasTag && tag == "":
		return "the tag after ':' is empty; write REPOSITORY:TAG, or leave out the ':' for the tag latest"
	case hasTag:
		if why := explainTag(tag); why != "" {
			return why
		}
	}
	registry, repo := splitRegistry(repoPart)
	if registry != "" {
		if u, err := url.Parse("//" + registry); err != nil || u.Host != registry {
			return fmt.Sprintf("the registry %s is not a host name or address with an optional :port", quoteIfNeeded(registry))
		}
	}
	if why := explainRepository(repo); why != "" {
		return why
	}
	return "it is not " + refForm
}

// splitRegistry splits a name as go-containerregistry does: the first part
// is a registry when it is localhost or has a '.' or ':'.
func splitRegistry(s string) (registry, repo string) {
	first, rest, ok := strings.Cut(s, "/")
	if ok && (first == "localhost" || strings.ContainsAny(first, ".:")) {
		return first, rest
	}
	return "", s
}

const (
	repositoryChars = "abcdefghijklmnopqrstuvwxyz0123456789_-./"
	tagChars        = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."
)

func explainRepository(repo string) string {
	switch {
	case repo == "":
		return "it names no repository; write " + refForm
	case len(repo) > 255:
		return fmt.Sprintf("the repository name is %d characters long; at most 255", len(repo))
	}
	if i := strings.IndexFunc(repo, notIn(repositoryChars)); i >= 0 {
		lower := strings.ToLower(repo)
		if strings.IndexFunc(lower, notIn(repositoryChars)) < 0 {
			return fmt.Sprintf("repository names must be lower case: %s (write %s)", repo, lower)
		}
		r := []rune(repo[i:])[0]
		return fmt.Sprintf("the repository %s has the character %q; a repository name has lower-case letters, digits, '.', '_', '-' and '/'",
			quoteIfNeeded(repo), r)
	}
	return ""
}

func explainTag(tag string) string {
	if len(tag) > 128 {
		return fmt.Sprintf("the tag is %d characters long; at most 128", len(tag))
	}
	if i := strings.IndexFunc(tag, notIn(tagChars)); i >= 0 {
		return fmt.Sprintf("the tag %s has the character %q; a tag has letters, digits, '_', '.' and '-'", quoteIfNeeded(tag), []rune(tag[i:])[0])
	}
	return ""
}

// digestHexLen is the length in hex digits of each digest algorithm a
// reference may name.
var digestHexLen = map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}

func explainDigest(d string) string {
	alg, hex, ok := strings.Cut(d, ":")
	want, known := digestHexLen[alg]
	switch {
	case d == "":
		return "the digest after '@' is empty; write REGISTRY/REPOSITORY@sha256: followed by 64 hex digits"
	case !ok:
		return fmt.Sprintf("the digest %s names no algorithm; write sha256: followed by 64 hex digits", quoteIfNeeded(d))
	case !known:
		return fmt.Sprintf("the digest algorithm %s is not sha256, sha384 or sha512", quoteIfNeeded(alg))
	case strings.IndexFunc(hex, notIn("0123456789abcdef")) >= 0:
		return fmt.Sprintf("the digest %s is not lower-case hexadecimal", quoteIfNeeded(d))
	case len(hex) != want:
		return fmt.Sprintf("the digest has %d hex digits; a %s digest has %d (was it cut short?)", len(hex), alg, want)
	}
	return ""
}

func notIn(allowed string) func(rune) bool {
	return func(r rune) bool { return !strings.ContainsRune(allowed, r) }
}

// quoteIfNeeded returns s as it is, or quoted when it holds anything a
// terminal would not show as written.
func quoteIfNeeded(s string) string {
	for _, r := range s {
		if unicode.IsSpace(r) || !unicode.IsGraphic(r) || r == '"' {
			return fmt.Sprintf("%q", s)
		}
	}
	return s
}
