package verify_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/taghead"
	"github.com/signet-dev/signet/verify"
)

// TestSignedHeads: with tags.signedHeads the engine admits a tag only at its
// signed head; a tag moved in the registry to an older, validly signed
// digest is refused as tag-mismatch.
func TestSignedHeads(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	old := w.reg.PushImage(t, "team/app:1.4")
	w.sign(t, "alice", old.String())
	cur := w.reg.PushImage(t, "team/app:1.4")
	w.sign(t, "alice", cur.String())

	priv, _ := keys.Generate(keys.ECDSAP256)
	sv, _ := keys.SignerVerifier(priv)
	ks := taghead.Keys{Root: []signature.Signer{sv}, Targets: sv, Snapshot: sv, Timestamp: sv}
	repo, _ := name.NewRepository(w.reg.Host + "/team/app")
	r, err := taghead.Init(ctx, w.client, repo, ks, taghead.DefaultExpiry, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tg, _ := w.client.Resolve(ctx, cur.String())
	if err := r.SetHead(ks, taghead.DefaultExpiry, time.Now(), taghead.Head{Tag: "1.4", Digest: cur.DigestStr(), Size: tg.Descriptor.Size}); err != nil {
		t.Fatal(err)
	}
	if err := taghead.Publish(ctx, w.client, repo, r); err != nil {
		t.Fatal(err)
	}
	root, _ := r.Roots[0].ToBytes(false)
	os.WriteFile(filepath.Join(w.dir, "tuf-root.json"), root, 0o644)
	e := w.engine(t, `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    signers: [{name: alice, key: alice.pub}]
    tags:
      signedHeads: {required: true, root: tuf-root.json}
`, verify.WithTagHeadState(t.TempDir()))
	image := w.reg.Host + "/team/app:1.4"
	if d := e.Decide(ctx, image); !d.Allowed || d.Digest != cur.DigestStr() {
		t.Fatalf("at its signed head: %+v", d)
	}
	// The root pinned by digest instead of by file: the same, and a wrong
	// digest trusts nothing.
	sum := sha256.Sum256(root)
	for digest, ok := range map[string]bool{hex.EncodeToString(sum[:]): true, strings.Repeat("0", 64): false} {
		byDigest := w.engine(t, `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    signers: [{name: alice, key: alice.pub}]
    tags:
      signedHeads: {required: true, root: "sha256:`+digest+`"}
`, verify.WithTagHeadState(t.TempDir()))
		if d := byDigest.Decide(ctx, image); d.Allowed != ok || (!ok && !strings.Contains(d.Reason, "[untrusted-root]")) {
			t.Fatalf("root sha256:%s: %+v", digest, d.Reason)
		}
	}
	// Someone with push access moves the tag back to the older digest,
	// which is validly signed.
	desc, err := remote.Get(old)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Tag(repo.Tag("1.4"), desc); err != nil {
		t.Fatal(err)
	}
	d := e.Decide(ctx, image)
	if d.Allowed || !strings.Contains(d.Reason, "signed-head") || !strings.Contains(d.Reason, "[tag-mismatch]") {
		t.Fatalf("moved tag: %+v", d.Reason)
	}
	// A caller that pins tags (the mutating webhook) gets the signed head:
	// moving the tag changes neither what runs nor whether it runs.
	if d := e.Decide(verify.PinningTags(ctx), image); !d.Allowed || d.Digest != cur.DigestStr() {
		t.Fatalf("pinning caller: %+v", d)
	}
	// By digest, the old image is still fine: digests are not what moved.
	if d := e.Decide(ctx, old.String()); !d.Allowed {
		t.Fatalf("old digest: %s", d.Reason)
	}
}
