package trustbundle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/signet-dev/signet/oci"
)

// WriteDir writes the bundle to dir: contents.json and each file by its
// name. Files already there are replaced; others are left alone.
func (b *Bundle) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	contents, err := b.Contents.Marshal()
	if err != nil {
		return err
	}
	for _, f := range b.Files {
		if err := replaceFile(filepath.Join(dir, f.Name), f.Data); err != nil {
			return fmt.Errorf("writing the bundle: %w", err)
		}
	}
	// contents.json last: a directory with it is complete.
	return replaceFile(filepath.Join(dir, ContentsFile), contents)
}

// replaceFile writes a new file at p, removing what was there first: a
// symbolic link planted at p is removed, never followed (O_EXCL), so a
// pull into a directory someone else can write to writes only inside it.
func replaceFile(p string, data []byte) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadDir reads a bundle written by WriteDir (or pulled), checking every
// file against contents.json.
func ReadDir(dir string) (*Bundle, error) {
	raw, err := readFileMax(filepath.Join(dir, ContentsFile), maxSmallFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s is not a trust bundle directory (no %s): %w", dir, ContentsFile, err)
		}
		return nil, err
	}
	c, err := ParseContents(raw)
	if err != nil {
		return nil, err
	}
	return assemble(c, func(e Entry) ([]byte, error) {
		// No more than the size listed: assemble refuses a file of another size.
		b, err := readFileMax(filepath.Join(dir, e.Name), e.Size)
		if errors.Is(err, errTooLarge) {
			return nil, fmt.Errorf("%w: %s: %w, contents.json says %d: the bundle was altered", ErrInvalid, e.Name, err, e.Size)
		}
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: contents.json lists %s, which is not in %s", ErrInvalid, e.Name, dir)
		}
		return b, err
	})
}

// maxSmallFile bounds what is read from a directory before it is checked
// (contents.json, a manifest, a reference).
const maxSmallFile = 4 << 20

var errTooLarge = errors.New("file too large")

// readFileMax reads the regular file p (a symbolic link, device or pipe
// is refused: a directory's owner could make reading it endless) if it
// holds no more than max bytes.
func readFileMax(p string, max int64) ([]byte, error) {
	info, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file (%s)", ErrInvalid, p, info.Mode().Type())
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrInvalid, p)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is over %d bytes: %w", p, max, errTooLarge)
	}
	return b, nil
}

// Push writes the bundle to tag as one artifact (contents.json first, then
// each file as a layer of its media type, named by its title annotation)
// and returns the manifest digest.
func Push(ctx context.Context, client *oci.Client, tag name.Tag, b *Bundle) (v1.Hash, error) {
	contents, err := b.Contents.Marshal()
	if err != nil {
		return v1.Hash{}, err
	}
	files := []oci.File{{Name: ContentsFile, Data: contents, MediaType: ContentsType}}
	for _, f := range b.Files {
		files = append(files, oci.File{Name: f.Name, Data: f.Data, MediaType: f.MediaType})
	}
	return client.PutFiles(ctx, tag, ArtifactType, ContentsType, files)
}

// Pulled is a bundle as read from a registry, with its manifest digest.
type Pulled struct {
	*Bundle
	Digest string
	Size   int64
	// Manifest is the artifact's manifest as stored.
	Manifest []byte
}

// Pull reads the bundle ref names (a tag or a digest) and checks it: the
// manifest's artifactType, every layer against contents.json (name, media
// type, digest, size), no layer contents.json does not list. Nothing is
// verified against a signature: see Verifier.
func Pull(ctx context.Context, client *oci.Client, ref string) (*Pulled, error) {
	raw, _, err := client.Manifest(ctx, ref)
	if err != nil {
		return nil, err
	}
	r, err := client.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	digest := digestOf(raw)
	files, fetch, err := client.Files(ctx, r.Context().Digest(digest).String())
	if err != nil {
		return nil, err
	}
	cd, ok := files[ContentsFile]
	if !ok {
		return nil, fmt.Errorf("%w: %s has no %s layer", ErrInvalid, ref, ContentsFile)
	}
	cb, err := fetch(cd)
	if err != nil {
		return nil, err
	}
	c, layers, err := checkManifest(raw, cb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	b, err := assemble(c, func(e Entry) ([]byte, error) { return fetch(layers[e.Name]) })
	if err != nil {
		return nil, err
	}
	return &Pulled{Bundle: b, Digest: digest, Size: int64(len(raw)), Manifest: raw}, nil
}

// checkManifest checks a bundle manifest against contents.json (as
// fetched): its artifactType, the contents layer's digest, one layer per
// listed file with the listed media type and digest, nothing else. It
// returns the parsed contents and the layers by file name.
func checkManifest(raw, contents []byte) (*Contents, map[string]v1.Descriptor, error) {
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, fmt.Errorf("%w: reading its manifest: %w", ErrInvalid, err)
	}
	if m.ArtifactType != ArtifactType {
		return nil, nil, fmt.Errorf("%w: not a trust bundle (artifactType %q, want %s)", ErrInvalid, m.ArtifactType, ArtifactType)
	}
	layers := map[string]v1.Descriptor{}
	for _, l := range m.Layers {
		n := l.Annotations[oci.AnnotationTitle]
		if _, dup := layers[n]; dup || n == "" {
			return nil, nil, fmt.Errorf("%w: layer %s has no file name, or one given twice (%q)", ErrInvalid, l.Digest, n)
		}
		layers[n] = l
	}
	cd, ok := layers[ContentsFile]
	if !ok || cd.MediaType != ContentsType || cd.Digest.String() != digestOf(contents) {
		return nil, nil, fmt.Errorf("%w: no %s layer of type %s matching the contents read", ErrInvalid, ContentsFile, ContentsType)
	}
	c, err := ParseContents(contents)
	if err != nil {
		return nil, nil, err
	}
	if len(layers) != len(c.Files)+1 {
		return nil, nil, fmt.Errorf("%w: %d layers, contents.json lists %d files (and itself)", ErrInvalid, len(layers), len(c.Files))
	}
	for _, e := range c.Files {
		d, ok := layers[e.Name]
		if !ok {
			return nil, nil, fmt.Errorf("%w: contents.json lists %s, which the artifact has no layer for", ErrInvalid, e.Name)
		}
		if string(d.MediaType) != e.MediaType || d.Digest.String() != e.Digest || d.Size != e.Size {
			return nil, nil, fmt.Errorf("%w: layer %s is %s of type %s, contents.json says %s of type %s: the bundle was altered",
				ErrInvalid, e.Name, d.Digest, d.MediaType, e.Digest, e.MediaType)
		}
	}
	return c, layers, nil
}
