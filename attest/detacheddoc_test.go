package attest_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/attest"
)

// TestWriteDetached: the document a detached-predicate statement names is
// written whole when its artifact holds it; another digest, size or media
// type than the statement's, a cap under its size, or a missing artifact
// are refused with their reasons.
func TestWriteDetached(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, true)
	doc := []byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"library","name":"a"}]}`)
	path := filepath.Join(t.TempDir(), "sbom.cdx.json")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	img := f.reg.PushImage(t, "team/app:v1")
	if _, err := f.attester.AttestImage(ctx, img.String(), attest.Request{Type: "cyclonedx", PredicatePath: path, Detached: true}); err != nil {
		t.Fatal(err)
	}
	target, err := f.client.Resolve(ctx, img.String())
	if err != nil {
		t.Fatal(err)
	}
	found, err := attest.StatementsOf(ctx, f.client, target, attest.PredicateCycloneDX)
	if err != nil || len(found) != 1 || found[0].Detached == nil {
		t.Fatalf("want the detached statement found by its document's type, got %+v, %v", found, err)
	}
	good := *found[0].Detached
	tests := []struct {
		name   string
		edit   func(p *attest.DetachedPredicate)
		max    int64
		reason string // "" when written
	}{
		{"the document", func(*attest.DetachedPredicate) {}, 1 << 20, ""},
		{"at the cap", func(*attest.DetachedPredicate) {}, good.Size, ""},
		{"over the cap", func(*attest.DetachedPredicate) {}, good.Size - 1, "over the"},
		{"another digest", func(p *attest.DetachedPredicate) { p.Digest = "sha256:" + strings.Repeat("0", 64) }, 1 << 20, "holds document"},
		{"another size", func(p *attest.DetachedPredicate) { p.Size-- }, 1 << 20, "says the document is"},
		{"another media type", func(p *attest.DetachedPredicate) { p.MediaType = "application/json" }, 1 << 20, "application/json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := good
			tc.edit(&p)
			var out bytes.Buffer
			err := attest.WriteDetached(ctx, f.client, target, &p, &out, tc.max)
			if tc.reason == "" {
				if err != nil || !bytes.Equal(out.Bytes(), doc) {
					t.Fatalf("want the document written, got %d bytes, %v", out.Len(), err)
				}
				return
			}
			if !errors.Is(err, attest.ErrDetachedDocument) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("want refused (%q), got %v", tc.reason, err)
			}
		})
	}
	t.Run("the artifact deleted", func(t *testing.T) {
		if err := remote.Delete(img.Context().Digest(good.Artifact)); err != nil {
			t.Fatal(err)
		}
		err := attest.WriteDetached(ctx, f.client, target, &good, &bytes.Buffer{}, 1<<20)
		if !errors.Is(err, attest.ErrDetachedDocument) || !strings.Contains(err.Error(), "could not be read") {
			t.Fatalf("want refused as missing, got %v", err)
		}
	})
}
