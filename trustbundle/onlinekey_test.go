package trustbundle

import (
	"context"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/taghead"
)

// TestOnlineKeyCannotNameBundle: in a repository whose metadata lets the
// online key sign targets (signet tag init sets it up so, for tag heads),
// the online key alone could name any bundle: verifiers refuse bundles
// from such metadata, and publishing refuses to sign one there.
func TestOnlineKeyCannotNameBundle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, nil)
	online := w.keys.Online
	tk := taghead.Keys{Root: w.keys.Root, Targets: online, Snapshot: online, Timestamp: online}
	md, err := taghead.Init(ctx, w.client, w.tag.Context(), tk, taghead.DefaultExpiry, w.now)
	if err != nil {
		t.Fatal(err)
	}
	if w.root, err = md.Roots[0].ToBytes(true); err != nil {
		t.Fatal(err)
	}
	b, err := New(1, w.now, sampleInputs("v1"))
	if err != nil {
		t.Fatal(err)
	}
	// The online key holder pushes and names a bundle, with no root key.
	d, err := Push(ctx, w.client, w.tag, b)
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := w.client.Manifest(ctx, w.tag.Context().Digest(d.String()).String())
	if err != nil {
		t.Fatal(err)
	}
	custom := []byte(`{"repository":"` + w.tag.Context().Name() + `","tag":"prod","version":1}`)
	if err := md.SetTarget(tk, taghead.DefaultExpiry, w.now, TargetPath("prod"), d.String(), int64(len(raw)), custom); err != nil {
		t.Fatal(err)
	}
	if err := taghead.Publish(ctx, w.client, w.tag.Context(), md); err != nil {
		t.Fatal(err)
	}
	_, err = w.verifier(t.TempDir()).Verify(ctx, w.tag.String())
	wantClass(t, err, ClassUntrustedRoot)
	if !strings.Contains(err.Error(), "not a root key") {
		t.Fatalf("message: %v", err)
	}
	// Publish, given the online key as a "root key", refuses too.
	b2, _ := New(2, w.now, sampleInputs("v2"))
	_, err = Publish(ctx, w.client, w.tag, b2, Keys{Root: []signature.Signer{online}, Online: online}, taghead.DefaultExpiry, w.now)
	if err == nil || !strings.Contains(err.Error(), "not a root key") {
		t.Fatalf("publish with the online key as root key: got %v", err)
	}
}
