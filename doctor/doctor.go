// Package doctor examines how a registry keeps what is attached to an
// image: whether it has the OCI referrers API, the health of the referrers
// fallback index (the sha256-<hex> tag) of the image and of each platform
// of an index, cosign's legacy .sig/.att tags, and signed tag heads; and
// repairs a damaged fallback index (Fix).
package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/taghead"
)

// Problem names one kind of damage in a fallback index.
type Problem string

// Kinds of damage.
const (
	// NoArtifactType: an entry without the artifactType its manifest has.
	NoArtifactType Problem = "no-artifact-type"
	// NoAnnotations: an entry without the annotations its manifest has
	// (older cosign wrote entries so, cosign #4641).
	NoAnnotations Problem = "no-annotations"
	// Missing: an entry naming a manifest the repository does not have.
	Missing Problem = "missing-manifest"
	// Duplicate: a second entry for the same manifest.
	Duplicate Problem = "duplicate"
	// OtherSubject: an entry whose manifest is a referrer of another
	// digest (or of none).
	OtherSubject Problem = "other-subject"
	// Mismatch: an entry whose media type, size, artifactType or
	// annotations disagree with its manifest.
	Mismatch Problem = "descriptor-mismatch"
	// NotAnIndex: the fallback tag holds something other than an OCI
	// image index.
	NotAnIndex Problem = "not-an-index"
)

// ErrDamaged means damage was found and is still there (not fixed, or
// not fixable by doctor).
var ErrDamaged = errors.New("damaged referrers fallback index")

// ErrTagChanged means a fallback tag changed while doctor was repairing
// it: someone else wrote it. Doctor stopped; run it again.
var ErrTagChanged = errors.New("the fallback tag changed during the repair")

// Finding is one problem found.
type Finding struct {
	Problem Problem `json:"problem"`
	// Digest is the entry's manifest ("" for NotAnIndex).
	Digest string `json:"digest,omitempty"`
	// Detail says what was found, for people.
	Detail string `json:"detail"`
}

// Fallback is the health of one subject's fallback index.
type Fallback struct {
	// Tag is the fallback tag, REGISTRY/REPO:sha256-<hex>.
	Tag string `json:"tag"`
	// Present says whether the tag exists.
	Present bool `json:"present"`
	// Digest is the digest of the index the tag held when read.
	Digest string `json:"digest,omitempty"`
	// Entries counts its entries.
	Entries int `json:"entries"`
	// Kinds counts the entries whose manifest exists, by kind
	// (sigstore-bundle, notation, attestation-artifact, other).
	Kinds map[oci.Kind]int `json:"kinds,omitempty"`
	// Findings lists the damage, in the index's order.
	Findings []Finding `json:"findings,omitempty"`
	// Fix says what --fix did, when asked.
	Fix *FixResult `json:"fix,omitempty"`

	entries []entry // as read, for the repair
	raw     []byte  // the index as read
}

// Subject is what doctor found for one manifest: the image, or a platform
// of an index.
type Subject struct {
	Digest   string `json:"digest"`
	Platform string `json:"platform,omitempty"`
	// Fallback is its fallback index.
	Fallback Fallback `json:"fallback"`
	// LegacyTags lists cosign's legacy tags present (sha256-<hex>.sig, .att).
	LegacyTags []string `json:"legacyTags,omitempty"`
}

// Heads says what the repository's signed tag heads metadata (taghead)
// holds for the image. Read only, nothing verified.
type Heads struct {
	// Metadata says whether the repository has the metadata artifact.
	Metadata bool `json:"metadata"`
	// Error says why it could not be read, when it could not.
	Error string `json:"error,omitempty"`
	// Tag is the tag the image was named by ("" by digest).
	Tag string `json:"tag,omitempty"`
	// Signed says whether the metadata has a head for Tag.
	Signed bool `json:"signed"`
	// HeadDigest is the digest the head names.
	HeadDigest string `json:"headDigest,omitempty"`
	// Current says whether the head names the image's digest.
	Current bool `json:"current"`
	// TagsNaming lists the signed tags whose head is the image's digest.
	TagsNaming []string `json:"tagsNaming,omitempty"`
}

// Report is what doctor found for one image.
type Report struct {
	Image    string `json:"image"`
	Digest   string `json:"digest"`
	Registry string `json:"registry"`
	// ReferrersAPI says whether the registry answers the referrers API.
	ReferrersAPI bool `json:"referrersAPI"`
	// Subjects are the image and, for an index, each platform manifest.
	Subjects []Subject `json:"subjects"`
	// Heads is the signed-heads metadata.
	Heads Heads `json:"signedHeads"`
	// Healthy says no damage remains.
	Healthy bool `json:"healthy"`
}

// Options tunes Run.
type Options struct {
	// Fix repairs each damaged fallback index (see Fix).
	Fix bool
}

// Run examines ref (REGISTRY/REPO[:TAG|@DIGEST]) and, with opts.Fix,
// repairs what it can. An error means the registry could not be read
// completely: nothing was written from a partial read.
func Run(ctx context.Context, c *oci.Client, ref string, opts Options) (*Report, error) {
	t, err := c.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	api, err := c.HasReferrersAPI(ctx, t.Digest)
	if err != nil {
		return nil, err
	}
	r := &Report{Image: ref, Digest: t.Digest.DigestStr(), Registry: t.Digest.RegistryStr(), ReferrersAPI: api}
	targets := []*oci.Target{t}
	children, err := c.Children(ctx, t)
	if err != nil {
		return nil, err
	}
	for _, d := range children {
		targets = append(targets, t.Child(d))
	}
	for _, tt := range targets {
		s, err := examine(ctx, c, tt)
		if err != nil {
			return nil, err
		}
		r.Subjects = append(r.Subjects, *s)
	}
	r.Heads = heads(ctx, c, t)
	if opts.Fix {
		for i := range r.Subjects {
			if err := fixSubject(ctx, c, &r.Subjects[i], api); err != nil {
				return r, err
			}
		}
	}
	r.Healthy = r.Err() == nil
	return r, nil
}

// Err is nil when no damage remains; ErrTagChanged (an oci.ErrRegistry:
// retrying may help) when a repair stopped because someone else wrote the
// tag; ErrDamaged otherwise.
func (r *Report) Err() error {
	for _, s := range r.Subjects {
		if f := s.Fallback.Fix; f != nil && errors.Is(f.err, ErrTagChanged) {
			return fmt.Errorf("%w: %w: %s", ErrTagChanged, oci.ErrRegistry, f.Stopped)
		}
	}
	if n := r.damaged(); n > 0 {
		return fmt.Errorf("%w: %d of %d fallback indexes", ErrDamaged, n, len(r.Subjects))
	}
	return nil
}

// damaged counts the fallback indexes with damage not repaired.
func (r *Report) damaged() int {
	n := 0
	for _, s := range r.Subjects {
		if f := s.Fallback; len(f.Findings) > 0 && (f.Fix == nil || !f.Fix.Fixed) {
			n++
		}
	}
	return n
}

// examine reads one subject's fallback index and legacy tags.
func examine(ctx context.Context, c *oci.Client, t *oci.Target) (*Subject, error) {
	s := &Subject{Digest: t.Digest.DigestStr(), Platform: t.Platform}
	f, err := readFallback(ctx, c, t.Digest)
	if err != nil {
		return nil, err
	}
	s.Fallback = *f
	for _, tag := range []name.Tag{oci.LegacySignatureTag(t.Digest), legacyAttestationTag(t.Digest)} {
		_, err := c.Get(ctx, tag)
		switch {
		case err == nil:
			s.LegacyTags = append(s.LegacyTags, tag.TagStr())
		case !errors.Is(err, oci.ErrNotFound):
			return nil, fmt.Errorf("reading %s: %w", tag, err)
		}
	}
	return s, nil
}

func legacyAttestationTag(d name.Digest) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".att")
}

// heads reads the repository's signed-heads metadata, if any.
func heads(ctx context.Context, c *oci.Client, t *oci.Target) Heads {
	h := Heads{Tag: t.Tag}
	repo, err := taghead.Read(ctx, c, t.Digest.Context())
	switch {
	case errors.Is(err, oci.ErrNotFound):
		return h
	case err != nil:
		h.Metadata = true
		h.Error = err.Error()
		return h
	}
	h.Metadata = true
	for _, head := range repo.Heads() {
		if head.Digest == t.Digest.DigestStr() {
			h.TagsNaming = append(h.TagsNaming, head.Tag)
		}
		if t.Tag != "" && head.Tag == t.Tag {
			h.Signed, h.HeadDigest, h.Current = true, head.Digest, head.Digest == t.Digest.DigestStr()
		}
	}
	slices.Sort(h.TagsNaming)
	return h
}
