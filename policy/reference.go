package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/internal/lazyre"
	"github.com/signet-dev/signet/oci"
)

// ErrReference marks an image reference that has no single canonical
// spelling, so no rule can be matched against it safely. It is never the
// same as "no rule matches": callers refuse the image.
var ErrReference = errors.New("image reference cannot be matched to a policy rule")

// DockerHub is the name references and patterns use for Docker Hub,
// whichever of its names they were written with.
const DockerHub = "docker.io"

// dockerHubNames are the registry names that reach Docker Hub: docker.io
// and index.docker.io (the default and legacy domains of Docker's
// distribution/reference), registry-1.docker.io (the endpoint Docker and
// containerd contact for docker.io) and registry.hub.docker.com (Docker's
// older name for its registry).
var dockerHubNames = map[string]bool{
	"docker.io":               true,
	"index.docker.io":         true,
	"registry-1.docker.io":    true,
	"registry.hub.docker.com": true,
}

var (
	// pathComponent is a repository path component in Docker's
	// distribution/reference grammar, which containerd applies: no empty,
	// "." or ".." components, no leading or trailing separators.
	pathComponent = lazyre.New(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	dnsLabel      = lazyre.New(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`)
	// numericLabel is a last label that makes a host an IPv4 address to
	// inet_aton (127.1, 2130706433, 0x7f.1): no DNS name ends so.
	numericLabel = lazyre.New(`^(?:[0-9]+|0x[0-9a-f]*)$`)
)

// NormalizeReference returns the canonical spelling of an image reference,
// the form policy patterns are matched against:
//
//   - the registry in lower case, without a trailing dot, without the
//     default port (:443, also written :0443 or as an empty port), an IPv6
//     address in its RFC 5952 form and an IPv4-mapped one as IPv4;
//   - Docker Hub, under any of its names (index.docker.io,
//     registry-1.docker.io, registry.hub.docker.com), as docker.io, with
//     library/ before the name of an official image;
//   - a short name in full: nginx is docker.io/library/nginx:latest,
//     team/app is docker.io/team/app:latest;
//   - then the tag (latest when none is given) or the digest. A reference
//     with both a tag and a digest is the digest reference: the digest is
//     what is pulled, and the tag is dropped.
//
// Any other port is kept: registry.example.com:5000 and
// registry.example.com:80 are other registries than registry.example.com.
// A one-label host other than localhost keeps :443 (registry. and
// registry:443 are registry:443), as without it the name would read as a
// Docker Hub namespace.
// A reference with no single canonical spelling is an error wrapping
// ErrReference: a path with empty, "." or ".." components, a host outside
// ASCII or DNS syntax, an IPv4 address not in dotted-quad form (127.1).
func NormalizeReference(ref string) (string, error) {
	r, err := oci.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrReference, err)
	}
	repo, err := normalizeRepository(r.Context())
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrReference, err)
	}
	if d, ok := r.(name.Digest); ok {
		return repo + "@" + d.DigestStr(), nil
	}
	return repo + ":" + r.Identifier(), nil
}

// NormalizeRepository is NormalizeReference for a repository name without
// a tag or digest: REGISTRY.EXAMPLE.COM:443/team/app is
// registry.example.com/team/app, nginx is docker.io/library/nginx.
func NormalizeRepository(repo string) (string, error) {
	r, err := oci.ParseRepository(repo)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrReference, err)
	}
	out, err := normalizeRepository(r)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrReference, err)
	}
	return out, nil
}

func normalizeRepository(r name.Repository) (string, error) {
	host, err := NormalizeRegistry(r.RegistryStr())
	if err != nil {
		return "", err
	}
	path := r.RepositoryStr()
	if host == DockerHub && !strings.Contains(path, "/") {
		path = "library/" + path
	}
	// The name was checked as written (at most 255 characters); Docker
	// Hub's library/ prefix may take it over, as no reference written out
	// in full may be.
	if len(path) > 255 {
		return "", fmt.Errorf("the repository name %s is %d characters long as Docker Hub names it (library/ added to a name without a slash); at most 255: a registry holds no such repository", path[:16]+"…", len(path))
	}
	for _, c := range strings.Split(path, "/") {
		if !pathComponent.MatchString(c) {
			return "", fmt.Errorf("repository path %q has the component %q, which is not a repository name (lower-case letters and digits, joined by '.', '_', '__' or '-'); write the repository's own path", path, c)
		}
	}
	return host + "/" + path, nil
}

// NormalizeRegistry returns the canonical spelling of a registry host[:port]
// as NormalizeReference writes it: REGISTRY.EXAMPLE.COM.:443 is
// registry.example.com, index.docker.io is docker.io.
func NormalizeRegistry(reg string) (string, error) {
	for i := 0; i < len(reg); i++ {
		if reg[i] >= 0x80 {
			return "", fmt.Errorf("registry %q has characters outside ASCII; write an international host name in its xn-- (punycode) form", reg)
		}
	}
	host, port, err := splitHostPort(asciiLower(reg))
	if err != nil {
		return "", err
	}
	if host, err = canonicalHost(host); err != nil {
		return "", err
	}
	if port, err = canonicalPort(reg, port); err != nil {
		return "", err
	}
	switch {
	case port != "":
		return host + ":" + port, nil
	case dockerHubNames[host]:
		return DockerHub, nil
	case host != "localhost" && !strings.ContainsAny(host, ".:"):
		// Without its dot or port a one-label host (registry.,
		// registry:443) would read as a Docker Hub namespace.
		return host + ":443", nil
	}
	return host, nil
}

func splitHostPort(reg string) (host, port string, err error) {
	if strings.HasPrefix(reg, "[") {
		end := strings.IndexByte(reg, ']')
		if end < 0 || (end+1 < len(reg) && reg[end+1] != ':') {
			return "", "", fmt.Errorf("registry %q is not [IPv6 address] or [IPv6 address]:port", reg)
		}
		return reg[:end+1], strings.TrimPrefix(reg[end+1:], ":"), nil
	}
	host, port, _ = strings.Cut(reg, ":")
	if strings.Contains(port, ":") {
		return "", "", fmt.Errorf("registry %q has more than one ':'; write an IPv6 address in brackets, [::1]:5000", reg)
	}
	return host, port, nil
}

// canonicalHost writes an IP address in its one canonical form and checks a
// DNS name's syntax, dropping the trailing dot of a fully qualified name.
func canonicalHost(host string) (string, error) {
	if strings.HasPrefix(host, "[") {
		a, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", fmt.Errorf("registry address %q is not an IPv6 address without a zone", host)
		}
		if a.Is4In6() {
			return a.Unmap().String(), nil
		}
		return "[" + a.String() + "]", nil
	}
	host = strings.TrimSuffix(host, ".")
	labels := strings.Split(host, ".")
	if numericLabel.MatchString(labels[len(labels)-1]) {
		if a, err := netip.ParseAddr(host); err != nil || !a.Is4() || a.String() != host {
			return "", fmt.Errorf("registry host %q looks like an IPv4 address but is not in dotted-quad form (four numbers 0-255 without leading zeros, e.g. 127.0.0.1)", host)
		}
		return host, nil
	}
	for _, l := range labels {
		if !dnsLabel.MatchString(l) {
			return "", fmt.Errorf("registry host %q is not a DNS name or IP address (labels of letters, digits and '-', joined by single dots)", host)
		}
	}
	return host, nil
}

// canonicalPort drops the default port 443 (and an empty port, which means
// it) and leading zeros; any other port names another registry.
func canonicalPort(reg, port string) (string, error) {
	if port == "" {
		return "", nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strings.TrimLeft(port, "0123456789") != "" {
		return "", fmt.Errorf("registry %q has the port %q, which is not a number from 1 to 65535", reg, port)
	}
	if n == 443 {
		return "", nil
	}
	return strconv.Itoa(n), nil
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// globChars are gobwas/glob's special characters.
const globChars = `*?[]{}\`

// normalizePattern spells a pattern's registry as NormalizeReference spells
// a reference's, so that a rule written for one spelling of a registry
// matches all of them. A pattern that starts with a wildcard is left as
// written; a registry part with wildcards (registry-*.example.com) is only
// lower-cased. A pattern whose first part is no registry is a Docker Hub
// short name, and a single name on Docker Hub is an official image:
// nginx:* and docker.io/nginx:* are docker.io/library/nginx:*.
// A pattern no normalized reference can match (a URL scheme, white space,
// ***, upper case before the tag) is an *unmatchableError.
func normalizePattern(p string) (string, error) {
	if why := unmatchable(p); why != "" {
		return "", &unmatchableError{why}
	}
	norm, err := spellPattern(p)
	if err != nil {
		return "", err
	}
	if why := unmatchableCase(norm); why != "" {
		return "", &unmatchableError{why}
	}
	return norm, nil
}

func spellPattern(p string) (string, error) {
	if p == "" || strings.ContainsAny(p[:1], globChars) {
		return p, nil
	}
	host, rest, found := strings.Cut(p, "/")
	switch {
	case !found || !(strings.EqualFold(host, "localhost") || strings.ContainsAny(host, ".:")):
		// As for references: the first part is a registry only when it
		// is localhost or has a '.' or ':'.
		host, rest = DockerHub, p
	case strings.ContainsAny(host, globChars):
		if !strings.Contains(host, "[") { // [A-Z] would change meaning
			host = asciiLower(host)
		}
		return host + "/" + rest, nil
	default:
		h, err := NormalizeRegistry(host)
		if err != nil {
			return "", err
		}
		host = h
	}
	if host == DockerHub && !strings.Contains(rest, "/") && !strings.Contains(rest, "**") {
		rest = "library/" + rest
	}
	return host + "/" + rest, nil
}

// unmatchableError is a pattern that no image reference can ever match.
type unmatchableError struct{ why string }

func (e *unmatchableError) Error() string {
	return "the pattern can never match an image reference: " + e.why
}

// unmatchable says why no reference can match p as written, or "".
func unmatchable(p string) string {
	if i := strings.Index(p, "://"); i >= 0 {
		rest := p[i+3:]
		if lower := lowerUpToTag(rest); lower != rest {
			return fmt.Sprintf("%q is a URL scheme; image references have none, and are lower case up to the tag: write %s", p[:i+3], lower)
		}
		return fmt.Sprintf("%q is a URL scheme; image references have none: write %s", p[:i+3], rest)
	}
	for i, r := range []rune(p) {
		if unicode.IsSpace(r) {
			return fmt.Sprintf("it has %s at position %d; image references never contain white space", spaceName(r), i+1)
		}
	}
	if strings.Contains(p, "***") {
		return `"***" is not a wildcard: write * (within one path segment) or ** (across segments)`
	}
	return ""
}

func spaceName(r rune) string {
	switch r {
	case ' ':
		return "a space"
	case '\t':
		return "a tab"
	case '\n', '\r':
		return "a line break"
	}
	return fmt.Sprintf("the white space character %U", r)
}

// unmatchableCase says why a normalized pattern can never match because of
// upper case: normalized references are lower case up to the tag (the
// registry is lower-cased, repositories are lower case by their grammar),
// and a digest is lower-case hex. Bracket expressions ([A-Z]) are left
// alone; only literal letters count.
func unmatchableCase(norm string) string {
	name, _, digest, hasDigest := splitNameTag(norm)
	if hasUpper(name) {
		what := "the registry"
		if i := strings.Index(name, "/"); i >= 0 && hasUpper(name[i:]) {
			what = "the repository path " + strconv.Quote(name[i+1:])
		}
		return fmt.Sprintf("%s has upper-case letters, but image references are lower case up to the tag: write %s", what, lowerUpToTag(norm))
	}
	if hasDigest && hasUpper(digest) {
		return fmt.Sprintf("the digest %q has upper-case letters, but digests are lower-case hex", digest)
	}
	return ""
}

// splitNameTag splits a pattern into its name (registry and repository),
// its tag (with its ':') and its digest (after '@').
func splitNameTag(p string) (name, tag, digest string, hasDigest bool) {
	name, digest, hasDigest = strings.Cut(p, "@")
	if slash := strings.LastIndex(name, "/"); slash >= 0 {
		if colon := strings.Index(name[slash:], ":"); colon >= 0 {
			name, tag = name[:slash+colon], name[slash+colon:]
		}
	} else if colon := strings.Index(name, ":"); colon >= 0 {
		name, tag = name[:colon], name[colon:]
	}
	return name, tag, digest, hasDigest
}

// lowerUpToTag is p with its name lower-cased: the tag and digest as given.
func lowerUpToTag(p string) string {
	name, tag, digest, hasDigest := splitNameTag(p)
	fix := strings.ToLower(name) + tag
	if hasDigest {
		fix += "@" + digest
	}
	return fix
}

// hasUpper reports an ASCII upper-case letter outside bracket expressions.
func hasUpper(s string) bool {
	depth := 0
	for _, r := range s {
		switch {
		case r == '[':
			depth++
		case r == ']' && depth > 0:
			depth--
		case depth == 0 && 'A' <= r && r <= 'Z':
			return true
		}
	}
	return false
}
