package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// LayoutOCI says a signature was found in, or written to, an OCI image
// layout directory: a manifest in index.json whose subject is the image.
const LayoutOCI Layout = "oci-layout"

// AnnotationRefName is the index.json annotation that names (tags) a
// manifest in an OCI image layout.
const AnnotationRefName = "org.opencontainers.image.ref.name"

// LayoutRegistry is the registry of the repository a layout image is named
// in when no repository was given (WithLayoutRepository). The .invalid
// top-level domain is reserved (RFC 2606): it names no registry, and the
// policy engine refuses to match it against any rule.
const LayoutRegistry = "oci-layout.invalid"

// errNotInLayout matches ErrNotFound without claiming a registry.
var errNotInLayout error = layoutNotFound{}

type layoutNotFound struct{}

func (layoutNotFound) Error() string        { return "not found" }
func (layoutNotFound) Is(target error) bool { return target == ErrNotFound }

// ErrNotLayout means a directory is not an OCI image layout.
var ErrNotLayout = errors.New("not an OCI image layout")

const (
	maxLayoutIndexBytes  = 64 << 20
	maxLayoutMarkerBytes = 4 << 10
	maxLayoutEntries     = 100_000
	maxTagsShown         = 20
)

// LayoutDir is an OCI image layout directory (image-layout spec v1: an
// oci-layout file, index.json, blobs/<alg>/<hex>) as crane pull --format oci
// and skopeo's oci: transport write. It is a Store: tags are index.json's
// org.opencontainers.image.ref.name annotations, referrers the manifests
// index.json lists whose subject is the image, plus any referrers fallback
// tag (sha256-<hex>) a copy from a registry brought along. Every manifest
// and blob read is checked against its digest; a mismatch is ErrCorrupt.
//
// Writes replace index.json atomically; LayoutDir serialises its own
// writes, not those of other processes.
type LayoutDir struct {
	dir      string
	repo     name.Repository
	maxBytes int64
	mu       sync.Mutex
}

// OpenLayout opens the layout in dir. Its images are named in repo (for
// policies and signatures), or, when repo is empty, in a repository of
// LayoutRegistry. maxBytes caps a manifest or blob read (default 8 MiB when
// <= 0). An error says what is missing.
func OpenLayout(dir, repo string, maxBytes int64) (*LayoutDir, error) {
	r, err := layoutRepository(dir, repo)
	if err != nil {
		return nil, err
	}
	if maxBytes <= 0 {
		maxBytes = defaultMaxArtifactBytes
	}
	if err := checkLayoutDir(dir); err != nil {
		return nil, err
	}
	return &LayoutDir{dir: dir, repo: r, maxBytes: maxBytes}, nil
}

// CreateLayout makes dir an empty OCI image layout (creating the directory
// if needed) and opens it; a directory that already is a layout is opened
// as it is. Anything else in the way is an error.
func CreateLayout(dir, repo string, maxBytes int64) (*LayoutDir, error) {
	if checkLayoutDir(dir) == nil {
		return OpenLayout(dir, repo, maxBytes)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the layout %s: %w", dir, err)
	}
	for _, f := range []string{"oci-layout", "index.json"} {
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			return nil, fmt.Errorf("creating the layout %s: it has a %s but is not a layout: %w", dir, f, checkLayoutDir(dir))
		}
	}
	files := []struct{ name, content string }{
		{"index.json", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`},
		{"oci-layout", `{"imageLayoutVersion":"1.0.0"}`}, // last: it marks the directory a layout
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.content), 0o644); err != nil {
			return nil, fmt.Errorf("creating the layout %s: %w", dir, err)
		}
	}
	return OpenLayout(dir, repo, maxBytes)
}

// layoutRepository is repo parsed, or the pseudo-repository for dir.
func layoutRepository(dir, repo string) (name.Repository, error) {
	if repo != "" {
		return ParseRepository(repo)
	}
	base := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return '-'
	}, filepath.Base(filepath.Clean(dir)))
	base = strings.Trim(base, "-")
	if base == "" || len(base) > 100 {
		base = "layout"
	}
	return name.NewRepository(LayoutRegistry+"/"+base, name.StrictValidation)
}

// checkLayoutDir says what keeps dir from being a layout.
func checkLayoutDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s does not exist", ErrNotLayout, dir)
	case err != nil:
		return fmt.Errorf("%w: %w", ErrNotLayout, err)
	case !st.IsDir():
		return fmt.Errorf("%w: %s is a file, not a directory", ErrNotLayout, dir)
	}
	raw, err := readLayoutFile(filepath.Join(dir, "oci-layout"), maxLayoutMarkerBytes, false)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s has no oci-layout file (crane pull --format oci and skopeo copy to oci:DIR write one)", ErrNotLayout, dir)
	}
	if err != nil {
		return fmt.Errorf("%w: reading %s/oci-layout: %w", ErrNotLayout, dir, err)
	}
	var marker struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := json.Unmarshal(raw, &marker); err != nil || !strings.HasPrefix(marker.Version, "1.") {
		return fmt.Errorf("%w: %s/oci-layout does not declare imageLayoutVersion 1.x", ErrNotLayout, dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		return fmt.Errorf("%w: %s has no index.json", ErrNotLayout, dir)
	}
	return nil
}

// Dir is the layout's directory.
func (l *LayoutDir) Dir() string { return l.dir }

// Repository is the repository the layout's images are named in.
func (l *LayoutDir) Repository() name.Repository { return l.repo }

// Index reads and checks index.json.
func (l *LayoutDir) Index() (*v1.IndexManifest, error) {
	raw, err := readLayoutFile(filepath.Join(l.dir, "index.json"), maxLayoutIndexBytes, false)
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s/index.json: %w", ErrNotLayout, l.dir, err)
	}
	im, err := ParseLayoutIndex(raw)
	if err != nil {
		return nil, fmt.Errorf("%s/index.json: %w", l.dir, err)
	}
	return im, nil
}

// ParseLayoutIndex parses a layout's index.json, refusing one that is not
// an image index of at most 100,000 manifests with sha256 digests and
// sizes that are not negative.
func ParseLayoutIndex(raw []byte) (*v1.IndexManifest, error) {
	var im v1.IndexManifest
	if err := json.Unmarshal(raw, &im); err != nil {
		return nil, fmt.Errorf("%w: it is not an image index: %w", ErrNotLayout, err)
	}
	if im.SchemaVersion != 2 {
		return nil, fmt.Errorf("%w: schemaVersion is %d, not 2", ErrNotLayout, im.SchemaVersion)
	}
	if len(im.Manifests) > maxLayoutEntries {
		return nil, fmt.Errorf("%w: it lists %d manifests, more than the %d Signet reads", ErrNotLayout, len(im.Manifests), maxLayoutEntries)
	}
	for i, d := range im.Manifests {
		if err := checkHash(d.Digest); err != nil {
			return nil, fmt.Errorf("%w: manifests[%d]: %w", ErrNotLayout, i, err)
		}
		if d.Size < 0 {
			return nil, fmt.Errorf("%w: manifests[%d] has size %d", ErrNotLayout, i, d.Size)
		}
	}
	return &im, nil
}

// checkHash accepts only digests whose blob path is safe to open.
func checkHash(h v1.Hash) error {
	want, ok := digestHexLen[h.Algorithm]
	if !ok || len(h.Hex) != want || strings.IndexFunc(h.Hex, notIn("0123456789abcdef")) >= 0 {
		return fmt.Errorf("the digest %s is not sha256, sha384 or sha512 with lower-case hex", quoteIfNeeded(h.String()))
	}
	return nil
}

// tagged returns the entries ref.name annotations list under tag: the
// annotation is the tag, or a full reference (REPOSITORY:TAG, as crane pull
// --annotate-ref writes) ending in it.
func tagged(im *v1.IndexManifest, tag string) []v1.Descriptor {
	var out []v1.Descriptor
	for _, d := range im.Manifests {
		if refNameTag(d.Annotations[AnnotationRefName]) == tag {
			out = append(out, d)
		}
	}
	return out
}

// refNameTag is the tag a ref.name annotation gives: the annotation, or the
// tag of a full reference.
func refNameTag(refName string) string {
	if strings.Contains(refName, "@") {
		return ""
	}
	if i := strings.LastIndex(refName, ":"); i >= 0 && !strings.Contains(refName[i+1:], "/") && strings.Contains(refName[:i], "/") {
		return refName[i+1:]
	}
	return refName
}

// layoutTags lists the tags of the layout's images, leaving out attached
// tags (sha256-<hex>[.sig|.att|.sbom]) unless all is set.
func layoutTags(im *v1.IndexManifest, all bool) []string {
	var tags []string
	for _, d := range im.Manifests {
		t := refNameTag(d.Annotations[AnnotationRefName])
		if t != "" && (all || !AttachedTag(t)) && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	slices.Sort(tags)
	return tags
}

// Tags lists the layout's tags; repo is ignored.
func (l *LayoutDir) Tags(_ context.Context, _ string, max int) ([]string, error) {
	if max <= 0 {
		max = DefaultMaxTags
	}
	im, err := l.Index()
	if err != nil {
		return nil, err
	}
	tags := layoutTags(im, true)
	if len(tags) > max {
		return nil, fmt.Errorf("listing the tags of %s: more than %d; Signet will not judge only some of them", l.dir, max)
	}
	return tags, nil
}

// Get reads the manifest ref names (its repository is ignored).
func (l *LayoutDir) Get(_ context.Context, ref name.Reference) (*Manifest, error) {
	im, err := l.Index()
	if err != nil {
		return nil, err
	}
	var desc v1.Descriptor
	switch r := ref.(type) {
	case name.Tag:
		if desc, err = l.byTag(im, r.TagStr()); err != nil {
			return nil, err
		}
	case name.Digest:
		h, err := v1.NewHash(r.DigestStr())
		if err != nil {
			return nil, fmt.Errorf("reading %s from %s: %w", r.DigestStr(), l.dir, err)
		}
		desc = v1.Descriptor{Digest: h, Size: -1}
		if i := slices.IndexFunc(im.Manifests, func(d v1.Descriptor) bool { return d.Digest == h }); i >= 0 {
			desc = im.Manifests[i]
		}
	default:
		return nil, fmt.Errorf("reading %s from %s: not a tag or digest", ref, l.dir)
	}
	return l.manifest(desc)
}

func (l *LayoutDir) byTag(im *v1.IndexManifest, tag string) (v1.Descriptor, error) {
	found := tagged(im, tag)
	for _, d := range found[min(1, len(found)):] {
		if d.Digest != found[0].Digest {
			return v1.Descriptor{}, fmt.Errorf("the tag %s names more than one manifest in %s (%s and %s); name one by digest: %s@DIGEST",
				tag, l.dir, found[0].Digest, d.Digest, LayoutScheme+l.dir)
		}
	}
	if len(found) == 0 {
		return v1.Descriptor{}, fmt.Errorf("%w: the layout %s has no tag %s; %s", errNotInLayout, l.dir, tag, l.tagsHint(im))
	}
	return found[0], nil
}

// tagsHint lists the image tags a layout has, for a message.
func (l *LayoutDir) tagsHint(im *v1.IndexManifest) string {
	tags := layoutTags(im, false)
	switch {
	case len(tags) == 0:
		return fmt.Sprintf("it has no tags: name the image by digest (%s@sha256:...)", LayoutScheme+l.dir)
	case len(tags) > maxTagsShown:
		return fmt.Sprintf("its tags: %s and %d more", strings.Join(tags[:maxTagsShown], ", "), len(tags)-maxTagsShown)
	}
	return "its tags: " + strings.Join(tags, ", ")
}

// manifest reads the manifest desc names, checking its digest (and its
// size, when desc gives one). The media type is the one the manifest
// declares, which desc's must not contradict, or else desc's.
func (l *LayoutDir) manifest(desc v1.Descriptor) (*Manifest, error) {
	raw, err := l.read(desc.Digest, desc.Size)
	if err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", desc.Digest, err)
	}
	var probe struct {
		MediaType types.MediaType   `json:"mediaType"`
		Manifests []json.RawMessage `json:"manifests"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("reading manifest %s from %s: %w", desc.Digest, l.dir, err)
	}
	switch {
	case desc.MediaType == "" && probe.MediaType == "" && probe.Manifests != nil:
		// Neither says: it lists manifests, so it is judged as an index.
		desc.MediaType = types.OCIImageIndex
	case desc.MediaType == "":
		desc.MediaType = probe.MediaType
	case probe.MediaType != "" && probe.MediaType != desc.MediaType:
		// An index listed as an image would escape the checks of its
		// platform manifests (recalls), and the reverse.
		return nil, fmt.Errorf("%w: index.json in %s lists manifest %s as %s, and the manifest says it is %s", ErrCorrupt, l.dir, desc.Digest, desc.MediaType, probe.MediaType)
	}
	desc.Size = int64(len(raw))
	return &Manifest{Raw: raw, Descriptor: desc}, nil
}

// Blob reads a small blob (repo is ignored).
func (l *LayoutDir) Blob(_ context.Context, _ name.Repository, desc v1.Descriptor) ([]byte, error) {
	if desc.Size < 0 {
		return nil, fmt.Errorf("blob %s has a negative size", desc.Digest)
	}
	b, err := l.read(desc.Digest, desc.Size)
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", desc.Digest, err)
	}
	return b, nil
}

// read reads blobs/<alg>/<hex>, at most maxBytes, refusing content whose
// size (when size >= 0) or digest is not the one expected.
func (l *LayoutDir) read(h v1.Hash, size int64) ([]byte, error) {
	if err := checkHash(h); err != nil {
		return nil, err
	}
	if size > l.maxBytes {
		return nil, fmt.Errorf("it is %d bytes, over the %d-byte cap", size, l.maxBytes)
	}
	p := filepath.Join(l.dir, "blobs", h.Algorithm, h.Hex)
	st, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: the layout %s has no blob %s", errNotInLayout, l.dir, h)
	}
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrCorrupt, p)
	}
	b, err := readLayoutFile(p, l.maxBytes, true)
	if errors.Is(err, errNotRegular) {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err) // swapped since it was checked
	}
	if err != nil {
		return nil, err
	}
	switch n := int64(len(b)); {
	case size >= 0 && n != size:
		return nil, fmt.Errorf("%w: %s is %d bytes, its descriptor says %d (the layout was changed after it was written)", ErrCorrupt, p, n, size)
	}
	if got := digestOf(h.Algorithm, b); got != h.Hex {
		return nil, fmt.Errorf("%w: %s hashes to %s:%s (the layout was changed after it was written)", ErrCorrupt, p, h.Algorithm, got)
	}
	return b, nil
}
