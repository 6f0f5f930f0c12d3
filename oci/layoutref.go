package oci

import (
	"fmt"
	"strings"
)

// LayoutScheme starts a reference to an image in an OCI image layout
// directory: oci-layout:DIR[:TAG|@DIGEST].
const LayoutScheme = "oci-layout:"

// layoutRefForm is what a layout reference looks like, for the messages.
const layoutRefForm = "oci-layout:DIR, oci-layout:DIR:TAG or oci-layout:DIR@sha256:DIGEST"

// LayoutReference names an image in an OCI image layout directory.
type LayoutReference struct {
	// Dir is the layout directory, as given.
	Dir string
	// Tag is the org.opencontainers.image.ref.name the image is listed
	// under in index.json; empty when Digest is set or neither is given.
	Tag string
	// Digest is the manifest digest; empty when not given.
	Digest string
}

// String is the reference as it would be written.
func (r LayoutReference) String() string {
	switch {
	case r.Digest != "":
		return LayoutScheme + r.Dir + "@" + r.Digest
	case r.Tag != "":
		return LayoutScheme + r.Dir + ":" + r.Tag
	}
	return LayoutScheme + r.Dir
}

// IsLayoutReference reports whether ref names an image in a layout
// directory (it starts with oci-layout:), whether or not it parses.
func IsLayoutReference(ref string) bool { return strings.HasPrefix(ref, LayoutScheme) }

// ParseLayoutReference parses oci-layout:DIR[:TAG|@DIGEST]. A ':' starts the
// tag only after DIR's last '/', so a directory whose path has a ':' in an
// earlier element is read as a directory. An error is a *ReferenceError
// that says what is wrong and how to write it.
func ParseLayoutReference(ref string) (LayoutReference, error) {
	rest, ok := strings.CutPrefix(ref, LayoutScheme)
	if !ok {
		return LayoutReference{}, layoutRefErr(ref, "it does not start with "+LayoutScheme+"; write "+layoutRefForm)
	}
	if why := explainCharacters(rest); why != "" {
		return LayoutReference{}, layoutRefErr(ref, why)
	}
	var out LayoutReference
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		out.Dir, out.Digest = rest[:i], rest[i+1:]
		if why := explainDigest(out.Digest); why != "" {
			return LayoutReference{}, layoutRefErr(ref, strings.Replace(why, "REGISTRY/REPOSITORY@", "oci-layout:DIR@", 1))
		}
	} else {
		out.Dir = rest
		if i := strings.LastIndex(rest, ":"); i >= 0 && !strings.Contains(rest[i+1:], "/") {
			out.Dir, out.Tag = rest[:i], rest[i+1:]
			if out.Tag == "" {
				return LayoutReference{}, layoutRefErr(ref, "the tag after ':' is empty; write oci-layout:DIR:TAG, or leave out the ':'")
			}
			if why := explainLayoutTag(out.Tag); why != "" {
				return LayoutReference{}, layoutRefErr(ref, why)
			}
		}
	}
	if out.Dir == "" {
		return LayoutReference{}, layoutRefErr(ref, "it names no directory; write "+layoutRefForm)
	}
	return out, nil
}

// explainLayoutTag checks a tag as a layout's index.json may list it: a
// registry tag, or a full reference (crane pull --annotate-ref writes
// REGISTRY/REPOSITORY:TAG), whose last element is a registry tag.
func explainLayoutTag(tag string) string {
	if len(tag) > 128 {
		return fmt.Sprintf("the tag is %d characters long; at most 128", len(tag))
	}
	return explainTag(tag)
}

func layoutRefErr(ref, why string) *ReferenceError {
	return &ReferenceError{Ref: ref, Reason: why, err: errBadLayoutRef}
}

var errBadLayoutRef = fmt.Errorf("bad layout reference")
