package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/signet-dev/signet/oci"
)

// mirrors checks and normalises the mirrors section: each prefix spelled
// as references are, no prefix listed twice, no mirror of a mirror (an
// origin inside another mapping's mirror prefix) and no mapping onto itself.
func (c *compiler) mirrors(in []Mirror) []Mirror {
	var out []Mirror
	seen := map[string]int{}
	for i, m := range in {
		mp, err := mirrorPrefix(m.Mirror)
		if err != nil {
			c.fail([]any{"mirrors", i, "mirror"}, "%v", err)
			continue
		}
		op, err := mirrorPrefix(m.Origin)
		if err != nil {
			c.fail([]any{"mirrors", i, "origin"}, "%v", err)
			continue
		}
		if j, ok := seen[mp]; ok {
			c.fail([]any{"mirrors", i, "mirror"}, "%q is mirrors[%d]'s mirror too (%s); a mirror copies one origin: remove one of them", m.Mirror, j, mp)
			continue
		}
		if under(mp, op) || under(op, mp) {
			c.fail([]any{"mirrors", i}, "the mirror %s and its origin %s overlap; a mirror is another registry or repository than its origin", mp, op)
			continue
		}
		seen[mp] = i
		out = append(out, Mirror{Mirror: mp, Origin: op})
	}
	for i, m := range out {
		for _, n := range out {
			if under(m.Origin, n.Mirror) {
				c.fail([]any{"mirrors", i, "origin"}, "the origin %s is itself under the mirror %s: map each mirror straight to the origin of what it copies", m.Origin, n.Mirror)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].Mirror) > len(out[j].Mirror) })
	return out
}

// mirrorPrefix is a registry or registry/repository prefix, normalised.
func mirrorPrefix(p string) (string, error) {
	switch {
	case p == "":
		return "", fmt.Errorf("is empty; write a registry (mirror.internal) or registry/repository prefix (mirror.internal/acme)")
	case strings.ContainsAny(p, "*?[{@") || strings.HasSuffix(p, "/"):
		return "", fmt.Errorf("%q is not a prefix: write a registry or registry/repository, without wildcards, tag, digest or trailing '/'", p)
	case strings.HasPrefix(p, oci.LayoutRegistry):
		return "", fmt.Errorf("%q names layouts' pseudo-registry; name a layout image's repository with --layout-repository instead", p)
	}
	host, path, hasPath := strings.Cut(p, "/")
	if !hasPath || !strings.ContainsAny(host, ".:") && host != "localhost" {
		if hasPath {
			return "", fmt.Errorf("%q does not start with a registry host: write REGISTRY/REPOSITORY (e.g. mirror.internal/%s)", p, p)
		}
		reg, err := NormalizeRegistry(host)
		if err != nil {
			return "", err
		}
		return reg, nil
	}
	repo, err := NormalizeRepository(host + "/" + path)
	if err != nil {
		return "", err
	}
	return repo, nil
}

// under says whether repository (or prefix) s is prefix or under it.
func under(s, prefix string) bool {
	return s == prefix || strings.HasPrefix(s, prefix+"/")
}

// Origin maps a normalised repository (registry/path, as
// NormalizeRepository writes it) at a mirror to the origin repository it
// copies: the longest matching mirror prefix is replaced by its origin.
// ok is false when no mapping covers it.
func (c *Compiled) Origin(repo string) (origin string, ok bool) {
	for _, m := range c.Mirrors {
		// A repository is REGISTRY/PATH: one equal to a registry-only
		// prefix is not one.
		if strings.HasPrefix(repo, m.Mirror+"/") || repo == m.Mirror && strings.Contains(m.Mirror, "/") {
			return m.Origin + strings.TrimPrefix(repo, m.Mirror), true
		}
	}
	return "", false
}

// OriginReference is Origin for a normalised reference (NormalizeReference):
// the same tag or digest, in the origin repository.
func (c *Compiled) OriginReference(canon string) (string, bool) {
	i := strings.LastIndex(canon, "@")
	if i < 0 {
		i = strings.LastIndex(canon, ":")
		if i < strings.LastIndex(canon, "/") {
			i = -1
		}
	}
	repo, rest := canon, ""
	if i >= 0 {
		repo, rest = canon[:i], canon[i:]
	}
	o, ok := c.Origin(repo)
	if !ok {
		return "", false
	}
	return o + rest, true
}
