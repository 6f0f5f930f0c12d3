package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// LayoutFile is where an artifact read from a file (ReadBundleFile) was
// found: beside the registry, given by the user.
const LayoutFile Layout = "file"

// AnnotationBundleFile names the file (and, for JSON Lines, the line) a
// bundle of LayoutFile was read from, for display; it is not signed.
const AnnotationBundleFile = "dev.signet.bundle.file"

// MaxBundleFileBytes is the largest bundle file ReadBundleFile reads.
const MaxBundleFileBytes = 32 << 20

// ErrBundleFile marks a bundle file ReadBundleFile cannot read as bundles.
var ErrBundleFile = errors.New("unreadable bundle file")

// ReadBundleFile reads Sigstore bundles from a file: one bundle (JSON),
// JSON Lines of bundles (what `gh attestation download` writes), objects
// with a "bundle" field, or GitHub's attestations API response
// ({"attestations":[{"bundle":...}]}). Each bundle becomes a KindBundle
// artifact of LayoutFile with a zero Manifest; the bundles are not parsed
// or verified here. A file larger than MaxBundleFileBytes, or one that
// holds no bundle, is refused (an error matching ErrBundleFile).
func ReadBundleFile(path string) ([]Artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading bundle file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBundleFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading bundle file %s: %w", path, err)
	}
	if len(data) > MaxBundleFileBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d MiB, more than any set of bundles needs", ErrBundleFile, path, MaxBundleFileBytes>>20)
	}
	return parseBundleFile(path, data)
}

// maxFileBundles caps the bundles one file may hold, as the referrers a
// registry lists are capped: every one is verified for every image.
const maxFileBundles = defaultMaxReferrersEntries

// parseBundleFile is ReadBundleFile on the file's content.
func parseBundleFile(name string, data []byte) ([]Artifact, error) {
	out, err := parseBundles(name, data)
	if err == nil && len(out) > maxFileBundles {
		err = fmt.Errorf("%w: %s holds %d bundles, more than the %d Signet reads from one file; keep the ones for the images verified", ErrBundleFile, name, len(out), maxFileBundles)
	}
	return out, err
}

func parseBundles(name string, data []byte) ([]Artifact, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: %s is empty; want a Sigstore bundle, JSON Lines of bundles, or GitHub's attestations response", ErrBundleFile, name)
	}
	if json.Valid(trimmed) {
		// One JSON value, perhaps over many lines.
		raws, err := bundlesIn(trimmed)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBundleFile, name, err)
		}
		return fileArtifacts(name, raws, 0), nil
	}
	var out []Artifact
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			return nil, fmt.Errorf("%w: %s line %d is not JSON (%s); JSON Lines hold one bundle per line", ErrBundleFile, name, i+1, jsonError(line))
		}
		raws, err := bundlesIn(line)
		if err != nil {
			return nil, fmt.Errorf("%w: %s line %d: %w", ErrBundleFile, name, i+1, err)
		}
		out = append(out, fileArtifacts(name, raws, i+1)...)
	}
	return out, nil
}

// bundlesIn returns the bundles one JSON value holds: itself, its "bundle"
// field, or the bundles of GitHub's attestations response.
func bundlesIn(v []byte) ([]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(v, &obj); err != nil {
		return nil, errors.New("not a JSON object; want a Sigstore bundle")
	}
	if atts, ok := obj["attestations"]; ok {
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(atts, &list); err != nil {
			return nil, errors.New(`"attestations" is not a list of objects, as GitHub's attestations API returns`)
		}
		if len(list) == 0 {
			return nil, errors.New("GitHub's attestations response lists no attestation")
		}
		out := make([]json.RawMessage, 0, len(list))
		for i, a := range list {
			b, err := wrappedBundle(a)
			if err != nil {
				return nil, fmt.Errorf("attestation %d: %w", i+1, err)
			}
			out = append(out, b)
		}
		return out, nil
	}
	if _, ok := obj["bundle"]; ok {
		b, err := wrappedBundle(obj)
		if err != nil {
			return nil, err
		}
		return []json.RawMessage{b}, nil
	}
	if isBundle(obj) {
		return []json.RawMessage{v}, nil
	}
	return nil, errors.New(`neither a Sigstore bundle (no "mediaType" or "verificationMaterial") nor an object with a "bundle" field`)
}

// wrappedBundle is the "bundle" field of an object.
func wrappedBundle(obj map[string]json.RawMessage) (json.RawMessage, error) {
	b, ok := obj["bundle"]
	if !ok || string(b) == "null" {
		if _, ok := obj["bundle_url"]; ok {
			return nil, errors.New(`no "bundle", only a "bundle_url": download the bundles with gh attestation download`)
		}
		return nil, errors.New(`no "bundle" field`)
	}
	var inner map[string]json.RawMessage
	if err := json.Unmarshal(b, &inner); err != nil || !isBundle(inner) {
		return nil, errors.New(`"bundle" is not a Sigstore bundle (no "mediaType" or "verificationMaterial")`)
	}
	return b, nil
}

func isBundle(obj map[string]json.RawMessage) bool {
	_, mt := obj["mediaType"]
	_, vm := obj["verificationMaterial"]
	return mt || vm
}

// fileArtifacts makes artifacts of raw bundles read from name (at line, when
// not 0).
func fileArtifacts(name string, raws []json.RawMessage, line int) []Artifact {
	out := make([]Artifact, 0, len(raws))
	for i, r := range raws {
		src := name
		if line > 0 {
			src += ":" + strconv.Itoa(line)
		}
		if len(raws) > 1 {
			src += "#" + strconv.Itoa(i+1)
		}
		out = append(out, Artifact{Layout: LayoutFile, Kind: KindBundle, ArtifactType: BundleMediaType,
			Annotations: map[string]string{AnnotationBundleFile: src}, Content: bytes.Clone(r)})
	}
	return out
}

// jsonError says where a line stops being JSON.
func jsonError(line []byte) string {
	var v any
	err := json.Unmarshal(line, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid at character %d", se.Offset)
	}
	if err != nil {
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "invalid"
}
