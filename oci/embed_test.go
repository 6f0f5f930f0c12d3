package oci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
)

// TestEmbeddedBundles: AttachBundle embeds a bundle up to the client's
// size in its referrer manifest's layer descriptor (and still pushes the
// blob); Discover reads an embedded bundle without asking for the blob, and
// one that is not embedded (over the size, or a client that embeds none,
// as cosign writes them) from the blob.
func TestEmbeddedBundles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var blobGets atomic.Int64
	reg := registrytest.NewWrapped(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				blobGets.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	})
	small := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","small":true}`)
	large := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","large":"` + strings.Repeat("x", oci.DefaultEmbedMax) + `"}`)
	for _, tc := range []struct {
		name      string
		client    *oci.Client
		bundle    []byte
		wantEmbed bool
	}{
		{"a small bundle", oci.New(), small, true},
		{"a bundle over the size", oci.New(), large, false},
		{"a client that embeds none", oci.New(oci.WithEmbeddedBundles(0)), small, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := reg.PushImage(t, "app/"+strings.ReplaceAll(tc.name, " ", "-")+":v1")
			target, err := tc.client.Resolve(ctx, d.String())
			if err != nil {
				t.Fatal(err)
			}
			att, err := tc.client.AttachBundle(ctx, target, tc.bundle, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tc.client.Get(ctx, d.Context().Digest(att.Digest.String()))
			if err != nil {
				t.Fatal(err)
			}
			var m v1.Manifest
			if err := json.Unmarshal(got.Raw, &m); err != nil {
				t.Fatal(err)
			}
			if embedded := m.Layers[0].Data != nil; embedded != tc.wantEmbed {
				t.Fatalf("layer data embedded: %v, want %v", embedded, tc.wantEmbed)
			}
			if tc.wantEmbed && !bytes.Equal(m.Layers[0].Data, tc.bundle) {
				t.Fatalf("embedded %q, want the bundle", m.Layers[0].Data)
			}
			// The blob is pushed either way, for readers that do not look
			// at the descriptor's data.
			if _, err := oci.New(oci.WithEmbeddedBundles(0)).Blob(ctx, d.Context(), v1.Descriptor{Digest: m.Layers[0].Digest, Size: m.Layers[0].Size}); err != nil {
				t.Fatalf("reading the bundle's blob: %v", err)
			}
			before := blobGets.Load()
			arts, err := oci.New().Discover(ctx, target)
			if err != nil {
				t.Fatal(err)
			}
			if len(arts) != 1 || arts[0].Err != nil || !bytes.Equal(arts[0].Content, tc.bundle) {
				t.Fatalf("discovered %+v, want the bundle", arts)
			}
			wantGets := int64(1)
			if tc.wantEmbed {
				wantGets = 0
			}
			if n := blobGets.Load() - before; n != wantGets {
				t.Fatalf("discovery asked for %d blobs, want %d", n, wantGets)
			}
		})
	}
}

// TestEmbeddedContentChecked: content a descriptor embeds is what the blob
// would be (its size and SHA-256 digest) or refused as corrupt, never
// fetched instead; a digest of another algorithm cannot be checked and is
// refused too.
func TestEmbeddedContentChecked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repo, _ := name.NewRepository("127.0.0.1:9/app") // never asked: nothing listens there
	data := []byte(`{"embedded":true}`)
	h, _, _ := v1.SHA256(bytes.NewReader(data))
	sha512 := v1.Hash{Algorithm: "sha512", Hex: strings.Repeat("ab", 64)}
	for _, tc := range []struct {
		name string
		desc v1.Descriptor
		want string // "" for the content
	}{
		{"as the blob", v1.Descriptor{Digest: h, Size: int64(len(data)), Data: data}, ""},
		{"another size", v1.Descriptor{Digest: h, Size: int64(len(data)) + 1, Data: data}, "embeds 17 bytes and says it has 18"},
		{"other bytes", v1.Descriptor{Digest: h, Size: int64(len(data)), Data: []byte(`{"embedded":fals}`)}, "the content its descriptor embeds has digest"},
		{"empty", v1.Descriptor{Digest: h, Size: int64(len(data)), Data: []byte{}}, "embeds 0 bytes"},
		{"a sha512 digest", v1.Descriptor{Digest: sha512, Size: int64(len(data)), Data: data}, "only sha256"},
	} {
		got, err := oci.New(oci.WithRetries(1)).Blob(ctx, repo, tc.desc)
		switch {
		case tc.want == "" && (err != nil || !bytes.Equal(got, data)):
			t.Errorf("%s: %q, %v; want the embedded content", tc.name, got, err)
		case tc.want != "" && (err == nil || !errors.Is(err, oci.ErrCorrupt) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %q, %v; want refused as corrupt: %q", tc.name, got, err, tc.want)
		}
	}
}
