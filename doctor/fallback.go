package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/oci"
)

// maxEntries is the most entries doctor reads in one fallback index, as
// many as Signet reads when verifying.
const maxEntries = 1000

// entry is one fallback index entry and what its manifest says.
type entry struct {
	desc   v1.Descriptor
	want   v1.Descriptor // the entry the manifest calls for
	keep   bool          // the rebuilt index lists it
	kind   oci.Kind
	reason []Finding
}

// referrer is the part of a manifest (image or index) doctor reads.
type referrer struct {
	MediaType    types.MediaType   `json:"mediaType"`
	ArtifactType string            `json:"artifactType"`
	Config       *v1.Descriptor    `json:"config"`
	Subject      *v1.Descriptor    `json:"subject"`
	Annotations  map[string]string `json:"annotations"`
}

// getter reads a manifest by tag or digest: a missing one matches
// oci.ErrNotFound. *oci.Client is one.
type getter interface {
	Get(ctx context.Context, ref name.Reference) (*oci.Manifest, error)
}

// readFallback reads subject's fallback index and each manifest it names.
// Any failure to read other than "not there" is an error: doctor never
// judges, nor rewrites, from a partial read.
func readFallback(ctx context.Context, c getter, subject name.Digest) (*Fallback, error) {
	tag := oci.FallbackTag(subject)
	f := &Fallback{Tag: tag.String()}
	got, err := c.Get(ctx, tag)
	if errors.Is(err, oci.ErrNotFound) {
		return f, nil
	}
	if err != nil {
		return nil, err
	}
	f.Present, f.Digest, f.raw = true, got.Descriptor.Digest.String(), got.Raw
	if got.Descriptor.MediaType != types.OCIImageIndex {
		f.Findings = append(f.Findings, Finding{Problem: NotAnIndex,
			Detail: fmt.Sprintf("the fallback tag holds %s, not an OCI image index; doctor does not overwrite it: look at what it is, move it to another tag, and sign or attach again", describeType(got.Descriptor.MediaType))})
		return f, nil
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(got.Raw, &im); err != nil {
		f.Findings = append(f.Findings, Finding{Problem: NotAnIndex, Detail: fmt.Sprintf("the fallback tag's index cannot be parsed (%v); doctor does not overwrite it", err)})
		return f, nil
	}
	if len(im.Manifests) > maxEntries {
		return nil, fmt.Errorf("the fallback tag %s lists %d entries, more than the %d doctor reads", tag, len(im.Manifests), maxEntries)
	}
	f.Entries = len(im.Manifests)
	seen := map[v1.Hash]bool{}
	for _, d := range im.Manifests {
		e, err := examineEntry(ctx, c, subject, d, seen[d.Digest])
		if err != nil {
			return nil, err
		}
		seen[d.Digest] = true
		if e.keep {
			if f.Kinds == nil {
				f.Kinds = map[oci.Kind]int{}
			}
			f.Kinds[e.kind]++
		}
		f.Findings = append(f.Findings, e.reason...)
		f.entries = append(f.entries, e)
	}
	return f, nil
}

// examineEntry reads the manifest d names and compares d with it.
func examineEntry(ctx context.Context, c getter, subject name.Digest, d v1.Descriptor, dup bool) (entry, error) {
	e := entry{desc: d}
	id := d.Digest.String()
	if dup {
		e.reason = append(e.reason, Finding{Problem: Duplicate, Digest: id, Detail: "listed again (an earlier entry names the same manifest)"})
		return e, nil
	}
	got, err := c.Get(ctx, subject.Context().Digest(id))
	if errors.Is(err, oci.ErrNotFound) {
		e.reason = append(e.reason, Finding{Problem: Missing, Digest: id, Detail: "the repository has no such manifest (deleted, or never pushed)"})
		return e, nil
	}
	if err != nil {
		return e, err
	}
	var m referrer
	if err := json.Unmarshal(got.Raw, &m); err != nil {
		e.reason = append(e.reason, Finding{Problem: OtherSubject, Digest: id, Detail: "its manifest cannot be parsed, so it names no subject"})
		return e, nil
	}
	if m.Subject == nil || m.Subject.Digest.String() != subject.DigestStr() {
		names := "no subject"
		if m.Subject != nil {
			names = "subject " + m.Subject.Digest.String()
		}
		e.reason = append(e.reason, Finding{Problem: OtherSubject, Digest: id, Detail: fmt.Sprintf("its manifest names %s, not %s", names, subject.DigestStr())})
		return e, nil
	}
	e.keep = true
	e.want = v1.Descriptor{MediaType: got.Descriptor.MediaType, Digest: got.Descriptor.Digest, Size: int64(len(got.Raw)),
		ArtifactType: artifactType(m), Annotations: m.Annotations}
	e.kind = kindOf(e.want.ArtifactType)
	e.reason = compare(d, e.want)
	return e, nil
}

// artifactType is a referrer's artifact type as the OCI distribution
// specification derives it: artifactType, else the config's media type.
func artifactType(m referrer) string {
	if m.ArtifactType != "" {
		return m.ArtifactType
	}
	if m.Config != nil {
		return string(m.Config.MediaType)
	}
	return ""
}

// kindOf classifies a referrer by its artifact type, as Discover does.
func kindOf(at string) oci.Kind {
	switch {
	case strings.HasPrefix(at, "application/vnd.dev.sigstore.bundle"):
		return oci.KindBundle
	case at == oci.NotationArtifactType:
		return oci.KindNotation
	case oci.IsAttestationArtifactType(at):
		return oci.KindAttestationArtifact
	}
	return oci.KindOther
}

// compare lists how the entry d differs from want.
func compare(d, want v1.Descriptor) []Finding {
	id := d.Digest.String()
	var out []Finding
	switch {
	case d.ArtifactType == "" && want.ArtifactType != "":
		out = append(out, Finding{Problem: NoArtifactType, Digest: id, Detail: fmt.Sprintf("no artifactType; the manifest's is %s", want.ArtifactType)})
	case d.ArtifactType != want.ArtifactType:
		out = append(out, Finding{Problem: Mismatch, Digest: id, Detail: fmt.Sprintf("artifactType %s; the manifest's is %s", d.ArtifactType, orNone(want.ArtifactType))})
	}
	switch {
	case len(d.Annotations) == 0 && len(want.Annotations) > 0:
		out = append(out, Finding{Problem: NoAnnotations, Digest: id, Detail: fmt.Sprintf("no annotations; the manifest has %d", len(want.Annotations))})
	case !maps.Equal(d.Annotations, want.Annotations):
		out = append(out, Finding{Problem: Mismatch, Digest: id, Detail: "its annotations differ from the manifest's"})
	}
	if d.MediaType != want.MediaType {
		out = append(out, Finding{Problem: Mismatch, Digest: id, Detail: fmt.Sprintf("media type %s; the manifest is %s", describeType(d.MediaType), describeType(want.MediaType))})
	}
	if d.Size != want.Size {
		out = append(out, Finding{Problem: Mismatch, Digest: id, Detail: fmt.Sprintf("size %d; the manifest is %d bytes", d.Size, want.Size)})
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func describeType(mt types.MediaType) string {
	if mt == "" {
		return "no media type"
	}
	return string(mt)
}
