package verify_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
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

// headWorld is a registry with team/app:1.4 pushed twice (old, then cur),
// both signed by alice, cur published as the signed head, and a policy
// requiring signed heads under REG/**.
type headWorld struct {
	*world
	keys     taghead.Keys
	repo     name.Repository
	image    string // team/app:1.4
	old, cur name.Digest
	policy   string
}

func newHeadWorld(t *testing.T) *headWorld {
	t.Helper()
	w := &headWorld{world: newWorld(t)}
	w.old = w.reg.PushImage(t, "team/app:1.4")
	w.sign(t, "alice", w.old.String())
	w.cur = w.reg.PushImage(t, "team/app:1.4")
	w.sign(t, "alice", w.cur.String())
	priv, _ := keys.Generate(keys.ECDSAP256)
	sv, _ := keys.SignerVerifier(priv)
	w.keys = taghead.Keys{Root: []signature.Signer{sv}, Targets: sv, Snapshot: sv, Timestamp: sv}
	w.repo, _ = name.NewRepository(w.reg.Host + "/team/app")
	w.image = w.repo.Tag("1.4").String()
	r := w.publishHead(t, w.repo, "1.4", w.cur)
	root, _ := r.Roots[0].ToBytes(false)
	os.WriteFile(filepath.Join(w.dir, "tuf-root.json"), root, 0o644)
	w.policy = `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/**"
    signers: [{name: alice, key: alice.pub}]
    tags:
      signedHeads: {required: true, root: tuf-root.json}
`
	return w
}

// publishHead makes repo's metadata (with the world's keys) naming
// tag -> d as its signed head.
func (w *headWorld) publishHead(t *testing.T, repo name.Repository, tag string, d name.Digest) *taghead.Repo {
	t.Helper()
	ctx := context.Background()
	r, err := taghead.Init(ctx, w.client, repo, w.keys, taghead.DefaultExpiry, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tg, err := w.client.Resolve(ctx, d.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetHead(w.keys, taghead.DefaultExpiry, time.Now(), taghead.Head{Tag: tag, Digest: d.DigestStr(), Size: tg.Descriptor.Size}); err != nil {
		t.Fatal(err)
	}
	if err := taghead.Publish(ctx, w.client, repo, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// moveTag re-points team/app:1.4 at d, as anyone with push access can.
func (w *headWorld) moveTag(t *testing.T, d name.Digest) {
	t.Helper()
	desc, err := remote.Get(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Tag(w.repo.Tag("1.4"), desc); err != nil {
		t.Fatal(err)
	}
}

// deleteMetadata deletes the repository's signet-tuf tag.
func (w *headWorld) deleteMetadata(t *testing.T) {
	t.Helper()
	if err := remote.Delete(w.repo.Tag(taghead.MetadataTag)); err != nil {
		t.Fatal(err)
	}
}

// TestSignedHeadFallback: failure mode receipt (Engine.Fallback) applies
// the signed-head rule too. It pins a tag only to a head that passed the
// signed-head check within the cache TTL, never to where the registry's
// tag pointed when that check failed.
func TestSignedHeadFallback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const outage = "the registry is down"

	t.Run("memo not poisoned by a tag that failed the signed-head check", func(t *testing.T) {
		w := newHeadWorld(t)
		e := w.engine(t, w.policy, verify.WithCache(100, time.Hour, time.Hour), verify.WithTagHeadState(t.TempDir()))
		// The old digest has a cached passing verdict (it is validly signed).
		if d := e.Decide(ctx, w.old.String()); !d.Allowed {
			t.Fatalf("old digest: %s", d.Reason)
		}
		w.moveTag(t, w.old)
		if d := e.Decide(ctx, w.image); d.Allowed || !strings.Contains(d.Reason, "[tag-mismatch]") {
			t.Fatalf("moved tag: %+v", d.Reason)
		}
		d := e.Fallback(w.image, outage, true, true)
		if d.Allowed {
			t.Fatalf("fallback pinned the moved tag to %s: %+v", d.Digest, d.Checks)
		}
		if d.Class != verify.ClassTransient || !strings.Contains(d.Reason, "no verified digest of this tag within the cache TTL") {
			t.Fatalf("fallback refused for another reason: %s", d.Reason)
		}
	})

	t.Run("the pinning engine remembers the signed head it judged", func(t *testing.T) {
		w := newHeadWorld(t)
		e := w.engine(t, w.policy, verify.WithCache(100, time.Hour, time.Hour), verify.WithTagHeadState(t.TempDir()))
		if d := e.Decide(ctx, w.old.String()); !d.Allowed {
			t.Fatalf("old digest: %s", d.Reason)
		}
		w.moveTag(t, w.old)
		if d := e.Decide(verify.PinningTags(ctx), w.image); !d.Allowed || d.Digest != w.cur.DigestStr() {
			t.Fatalf("pinning caller: %+v", d)
		}
		d := e.Fallback(w.image, outage, true, true)
		if !d.Allowed || d.Digest != w.cur.DigestStr() {
			t.Fatalf("fallback pins %s (allowed %v: %s), want the signed head %s", d.Digest, d.Allowed, d.Reason, w.cur.DigestStr())
		}
	})

	t.Run("signet-tuf deleted and the tag moved back", func(t *testing.T) {
		w := newHeadWorld(t)
		e := w.engine(t, w.policy, verify.WithCache(100, time.Hour, time.Hour), verify.WithTagHeadState(t.TempDir()))
		if d := e.Decide(ctx, w.old.String()); !d.Allowed {
			t.Fatalf("old digest: %s", d.Reason)
		}
		w.moveTag(t, w.old)
		w.deleteMetadata(t)
		// Missing metadata is a refusal, not a registry hiccup for the
		// failure mode to answer.
		d := e.Decide(verify.PinningTags(ctx), w.image)
		if d.Allowed || d.Class != verify.ClassNotFound || !strings.Contains(d.Reason, "signed-head [not-found]") ||
			!strings.Contains(d.Reason, "no signed tag heads") {
			t.Fatalf("missing metadata: class %q: %s", d.Class, d.Reason)
		}
		if d := e.Fallback(w.image, outage, true, true); d.Allowed {
			t.Fatalf("fallback pinned %s", d.Digest)
		}
	})

	t.Run("control: a head verified within the cache TTL is pinned", func(t *testing.T) {
		w := newHeadWorld(t)
		e := w.engine(t, w.policy, verify.WithCache(100, time.Hour, time.Hour), verify.WithTagHeadState(t.TempDir()))
		if d := e.Decide(ctx, w.image); !d.Allowed || d.Digest != w.cur.DigestStr() {
			t.Fatalf("at its signed head: %+v", d)
		}
		if d := e.Decide(ctx, w.old.String()); !d.Allowed {
			t.Fatalf("old digest: %s", d.Reason)
		}
		// The attacker moves the tag and deletes the metadata; the outage
		// answer still pins the head that verified, not the moved tag.
		w.moveTag(t, w.old)
		w.deleteMetadata(t)
		e.Decide(verify.PinningTags(ctx), w.image)
		d := e.Fallback(w.image, outage, true, true)
		if !d.Allowed || d.Digest != w.cur.DigestStr() || !strings.Contains(d.Reason+fmt.Sprint(d.Checks), "signed head") {
			t.Fatalf("fallback pins %s (allowed %v: %s), want the signed head %s", d.Digest, d.Allowed, d.Reason, w.cur.DigestStr())
		}
		// Validating (no pinning), a tag is never admitted on a receipt.
		if d := e.Fallback(w.image, outage, true, false); d.Allowed {
			t.Fatalf("validating fallback admitted the tag")
		}
	})

	t.Run("a head whose metadata expired since is not pinned", func(t *testing.T) {
		w := newHeadWorld(t)
		var skew atomic.Int64
		clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		e := w.engine(t, w.policy, verify.WithCache(100, time.Hour, time.Hour), verify.WithTagHeadState(t.TempDir()),
			verify.WithEngineClock(clock))
		if d := e.Decide(ctx, w.image); !d.Allowed {
			t.Fatalf("at its signed head: %s", d.Reason)
		}
		skew.Store(int64(48 * time.Hour)) // the timestamp (a day) has expired
		d := e.Fallback(w.image, outage, true, true)
		if d.Allowed || d.Class != verify.ClassTransient || !strings.Contains(d.Reason, "expired") {
			t.Fatalf("fallback past the metadata's expiry: allowed %v: %s", d.Allowed, d.Reason)
		}
	})
}

// copyImage copies the manifest src names (with its blobs) to dst, and
// every referrer of it (its signatures), as crane cp would.
func copyImage(t *testing.T, src name.Digest, dst name.Reference) {
	t.Helper()
	put := func(from name.Digest, to name.Reference) {
		desc, err := remote.Get(from)
		if err != nil {
			t.Fatal(err)
		}
		img, err := desc.Image()
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(to, img); err != nil {
			t.Fatal(err)
		}
	}
	put(src, dst)
	idx, err := remote.Referrers(src)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range m.Manifests {
		put(src.Context().Digest(r.Digest.String()), dst.Context().Digest(r.Digest.String()))
	}
}

// TestSignedHeadWrongRepository: one root is trusted for every repository
// the rule matches. Someone with push access copies dev/app's metadata, its
// head image and its signatures into prod/app: prod/app:1.4 must not pass
// on dev/app's signed head.
func TestSignedHeadWrongRepository(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newHeadWorld(t)
	dev, _ := name.NewRepository(w.reg.Host + "/dev/app")
	prod, _ := name.NewRepository(w.reg.Host + "/prod/app")
	devHead := w.reg.PushImage(t, "dev/app:1.4")
	w.sign(t, "alice", devHead.String())
	w.publishHead(t, dev, "1.4", devHead)
	prodHead := w.reg.PushImage(t, "prod/app:1.4")
	w.sign(t, "alice", prodHead.String())
	w.publishHead(t, prod, "1.4", prodHead)
	e := w.engine(t, w.policy, verify.WithTagHeadState(t.TempDir()))
	for _, img := range []string{dev.Tag("1.4").String(), prod.Tag("1.4").String()} {
		if d := e.Decide(ctx, img); !d.Allowed {
			t.Fatalf("control: %s at its own signed head: %s", img, d.Reason)
		}
	}

	copyImage(t, devHead, prod.Tag("1.4"))
	desc, err := remote.Get(dev.Tag(taghead.MetadataTag))
	if err != nil {
		t.Fatal(err)
	}
	md, _ := desc.Image()
	if err := remote.Write(prod.Tag(taghead.MetadataTag), md); err != nil {
		t.Fatal(err)
	}
	// A fresh engine (no state of prod/app's newer metadata), and the
	// pinning caller too: neither may take dev/app's head for prod/app.
	e = w.engine(t, w.policy, verify.WithTagHeadState(t.TempDir()))
	for _, c := range []context.Context{ctx, verify.PinningTags(ctx)} {
		d := e.Decide(c, prod.Tag("1.4").String())
		if d.Allowed || d.Class != verify.ClassInvalid || !strings.Contains(d.Reason, "[wrong-repository]") ||
			!strings.Contains(d.Reason, "was signed for "+dev.Name()) {
			t.Fatalf("copied metadata: allowed %v, class %q: %s", d.Allowed, d.Class, d.Reason)
		}
	}
}
