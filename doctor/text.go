package doctor

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/signet-dev/signet/oci"
)

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Image     %s (%s)\n", r.Image, r.Digest)
	if r.ReferrersAPI {
		fmt.Fprintf(&b, "Registry  %s has the OCI referrers API: clients list referrers through it, not through fallback tags\n", r.Registry)
	} else {
		fmt.Fprintf(&b, "Registry  %s has no OCI referrers API: clients list referrers in each image's fallback tag sha256-<hex>\n", r.Registry)
	}
	for i, s := range r.Subjects {
		what := "the image"
		if i > 0 {
			what = "platform " + s.Platform
			if s.Platform == "" {
				what = "manifest listed by the index"
			}
		}
		fmt.Fprintf(&b, "\n%s (%s)\n", s.Digest, what)
		writeFallback(&b, &s.Fallback)
		if len(s.LegacyTags) > 0 {
			fmt.Fprintf(&b, "  legacy cosign tags: %s (read by cosign v2 and Signet; not damage)\n", strings.Join(s.LegacyTags, ", "))
		}
	}
	fmt.Fprintf(&b, "\nSigned heads: %s\n", r.Heads.text())
	switch err := r.Err(); {
	case err == nil && r.fixed() > 0:
		fmt.Fprintf(&b, "\nRepaired %s; no damage remains.\n", plural(r.fixed(), "fallback index", "fallback indexes"))
	case err == nil:
		b.WriteString("\nHealthy: no damage found.\n")
	case r.tried():
		fmt.Fprintf(&b, "\nDamage remains in %s (see above).\n", r.damagedText())
	default:
		fmt.Fprintf(&b, "\nDamage found in %s. Run again with --fix to repair it.\n", r.damagedText())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeFallback(b *strings.Builder, f *Fallback) {
	switch {
	case !f.Present:
		b.WriteString("  fallback index: none (nothing attached through the fallback tag)\n")
		return
	case len(f.Findings) == 0:
		fmt.Fprintf(b, "  fallback index: %s, healthy%s\n", plural(f.Entries, "entry", "entries"), kinds(f.Kinds))
	default:
		fmt.Fprintf(b, "  fallback index: %s%s, %s:\n", plural(f.Entries, "entry", "entries"), kinds(f.Kinds), plural(len(f.Findings), "problem", "problems"))
		for _, fd := range f.Findings {
			if fd.Digest != "" {
				fmt.Fprintf(b, "    %s %s: %s\n", fd.Problem, fd.Digest, fd.Detail)
			} else {
				fmt.Fprintf(b, "    %s: %s\n", fd.Problem, fd.Detail)
			}
		}
	}
	if x := f.Fix; x != nil {
		switch {
		case x.Fixed:
			fmt.Fprintf(b, "  fixed: rewrote %s (%s -> %s), read back and compared:\n", f.Tag, x.Before, x.After)
		case x.After != "":
			fmt.Fprintf(b, "  NOT fixed: %s\n", x.Stopped)
		default:
			fmt.Fprintf(b, "  NOT fixed, nothing written: %s\n", x.Stopped)
		}
		if x.Fixed {
			for _, c := range x.Changes {
				fmt.Fprintf(b, "    %s\n", c)
			}
		}
	}
}

// kinds is " (1 sigstore-bundle, 2 notation)" or "".
func kinds(k map[oci.Kind]int) string {
	if len(k) == 0 {
		return ""
	}
	var names []string
	for n := range k {
		names = append(names, string(n))
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%d %s", k[oci.Kind(n)], n)
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func (h Heads) text() string {
	switch {
	case !h.Metadata:
		return "none in this repository"
	case h.Error != "":
		return "the repository has metadata, but it cannot be read: " + h.Error
	case h.Tag != "" && h.Signed && h.Current:
		return fmt.Sprintf("tag %s is signed and its head is this image", h.Tag)
	case h.Tag != "" && h.Signed:
		return fmt.Sprintf("tag %s is signed, but its head is %s, not this image (the tag moved since it was signed)", h.Tag, h.HeadDigest)
	case h.Tag != "":
		return fmt.Sprintf("the repository has metadata, but tag %s has no signed head", h.Tag)
	case len(h.TagsNaming) > 0:
		return "the repository has metadata; signed heads naming this image: " + strings.Join(h.TagsNaming, ", ")
	}
	return "the repository has metadata; no signed head names this image"
}

// damagedText is "1 of 3 fallback indexes", say.
func (r *Report) damagedText() string {
	return fmt.Sprintf("%d of %s", r.damaged(), plural(len(r.Subjects), "fallback index", "fallback indexes"))
}

func (r *Report) fixed() int {
	n := 0
	for _, s := range r.Subjects {
		if s.Fallback.Fix != nil && s.Fallback.Fix.Fixed {
			n++
		}
	}
	return n
}

func (r *Report) tried() bool {
	for _, s := range r.Subjects {
		if s.Fallback.Fix != nil {
			return true
		}
	}
	return false
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
