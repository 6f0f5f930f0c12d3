package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/oci"
)

// memGetter serves manifests from memory: by digest, and the fallback tag.
type memGetter struct {
	tag       string
	index     []byte
	indexType types.MediaType
	manifests map[string][]byte
}

func (m *memGetter) Get(_ context.Context, ref name.Reference) (*oci.Manifest, error) {
	raw, mt := m.manifests[ref.Identifier()], types.MediaType("")
	if ref.Identifier() == m.tag {
		raw, mt = m.index, m.indexType
	}
	if raw == nil {
		return nil, fmt.Errorf("%s: %w", ref, oci.ErrNotFound)
	}
	if mt == "" {
		var probe struct {
			MediaType types.MediaType `json:"mediaType"`
		}
		_ = json.Unmarshal(raw, &probe)
		mt = probe.MediaType
	}
	h, size, _ := v1.SHA256(bytes.NewReader(raw))
	return &oci.Manifest{Raw: raw, Descriptor: v1.Descriptor{MediaType: mt, Digest: h, Size: size}}, nil
}

// FuzzFallback: whatever the fallback index and the manifests hold, the
// analysis does not fail on them, and the index it rebuilds lists only
// manifests that exist and are referrers of the subject, once each, and is
// healthy when examined again (a second repair changes nothing).
func FuzzFallback(f *testing.F) {
	subject, _ := name.NewDigest("registry.example/team/app@sha256:" + fmt.Sprintf("%064x", 1))
	ref := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":10},"annotations":{"a":"b"}}`, subject.DigestStr())
	other := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`
	h, size, _ := v1.SHA256(bytes.NewReader([]byte(ref)))
	entry := fmt.Sprintf(`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%d}`, h, size)
	f.Add([]byte(`{"schemaVersion":2,"manifests":[`+entry+`,`+entry+`]}`), []byte(ref), []byte(other))
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"digest":"sha256:`+fmt.Sprintf("%064x", 2)+`","size":3}]}`), []byte(ref), []byte(other))
	f.Add([]byte(`{"manifests":null}`), []byte(`{}`), []byte(`[]`))
	f.Fuzz(func(t *testing.T, index, m1, m2 []byte) {
		g := &memGetter{tag: oci.FallbackTag(subject).TagStr(), index: index, indexType: types.OCIImageIndex, manifests: map[string][]byte{}}
		for _, m := range [][]byte{m1, m2} {
			h, _, _ := v1.SHA256(bytes.NewReader(m))
			g.manifests[h.String()] = m
		}
		ctx := context.Background()
		fb, err := readFallback(ctx, g, subject)
		if err != nil {
			return // more entries than doctor reads
		}
		if len(fb.Findings) == 0 || fb.entries == nil {
			return
		}
		raw, _, err := rebuild(fb)
		if err != nil {
			t.Fatalf("rebuild: %v", err)
		}
		g.index = raw
		again, err := readFallback(ctx, g, subject)
		if err != nil {
			t.Fatalf("reading the rebuilt index: %v", err)
		}
		if len(again.Findings) != 0 {
			t.Fatalf("the rebuilt index %s has findings %+v", raw, again.Findings)
		}
		seen := map[v1.Hash]bool{}
		for _, e := range again.entries {
			if !e.keep || seen[e.desc.Digest] {
				t.Fatalf("the rebuilt index lists %s, which is missing, another image's or a duplicate", e.desc.Digest)
			}
			seen[e.desc.Digest] = true
		}
	})
}
