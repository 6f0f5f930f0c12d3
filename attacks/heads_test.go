package attacks

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/taghead"
	"github.com/signet-dev/signet/verify"
)

// heads is a world where team/app:1.4 was pushed twice, old then cur, both
// signed by release, and cur published as 1.4's signed head. One TUF key
// (root and online) signs the metadata of every repository, as with one
// root trusted across a rule.
type heads struct {
	w        *world
	keys     taghead.Keys
	repo     name.Repository
	tag      string // team/app:1.4
	old, cur name.Digest
	root     []byte // 1.root.json of team/app
}

func newHeads(w *world) *heads {
	w.t.Helper()
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		w.t.Fatal(err)
	}
	sv, err := keys.SignerVerifier(priv)
	if err != nil {
		w.t.Fatal(err)
	}
	h := &heads{w: w, keys: taghead.Keys{Root: []signature.Signer{sv}, Targets: sv, Snapshot: sv, Timestamp: sv}}
	h.old = w.image("team/app:1.4")
	w.sign("release", h.old.String())
	h.cur = w.image("team/app:1.4")
	w.sign("release", h.cur.String())
	h.repo = h.cur.Context()
	h.tag = h.repo.Tag("1.4").String()
	md := h.publish(h.repo, "1.4", h.cur)
	if h.root, err = md.Roots[0].ToBytes(false); err != nil {
		w.t.Fatal(err)
	}
	w.write("tuf-root.json", h.root)
	return h
}

// publish initialises repo's metadata with the world's TUF key and signs
// tag -> d as its head (SetHead binds it to repo).
func (h *heads) publish(repo name.Repository, tag string, d name.Digest) *taghead.Repo {
	w := h.w
	w.t.Helper()
	md, err := taghead.Init(w.ctx, w.client, repo, h.keys, taghead.DefaultExpiry, time.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	h.setHead(md, repo, tag, d)
	return md
}

func (h *heads) setHead(md *taghead.Repo, repo name.Repository, tag string, d name.Digest) {
	w := h.w
	w.t.Helper()
	t, err := w.client.Resolve(w.ctx, d.String())
	if err != nil {
		w.t.Fatal(err)
	}
	if err := md.SetHead(h.keys, taghead.DefaultExpiry, time.Now(), taghead.Head{Tag: tag, Digest: d.DigestStr(), Size: t.Descriptor.Size}); err != nil {
		w.t.Fatal(err)
	}
	if err := taghead.Publish(w.ctx, w.client, repo, md); err != nil {
		w.t.Fatal(err)
	}
}

// policy requires signed heads under REG/**, trusting root (a file name in
// the world's directory, or sha256:<hex>).
func (h *heads) policy(root string) string {
	return `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/**"
    signers: [{name: release, key: release.pub}]
    tags:
      signedHeads: {required: true, root: "` + root + `"}
`
}

// rootDigest is sha256:<hex> of team/app's 1.root.json.
func (h *heads) rootDigest() string {
	sum := sha256.Sum256(h.root)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (h *heads) engine(opts ...verify.EngineOption) *verify.Engine {
	h.w.t.Helper()
	return h.w.engine(h.policy("tuf-root.json"), append([]verify.EngineOption{verify.WithCache(100, time.Hour, time.Hour),
		verify.WithTagHeadState(h.w.t.TempDir())}, opts...)...)
}

// moveTag re-points team/app:1.4 at d.
func (h *heads) moveTag(d name.Digest) { h.w.retag(d, h.repo.Tag("1.4")) }

// deleteMetadata deletes team/app's signet-tuf tag.
func (h *heads) deleteMetadata() {
	h.w.t.Helper()
	if err := remote.Delete(h.repo.Tag(taghead.MetadataTag)); err != nil {
		h.w.t.Fatal(err)
	}
}

// retag points tag at the manifest d names.
func (w *world) retag(d name.Digest, tag name.Tag) {
	w.t.Helper()
	desc, err := remote.Get(d)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := remote.Tag(tag, desc); err != nil {
		w.t.Fatal(err)
	}
}

// copyManifest copies the manifest src names, with its blobs, to dst.
func (w *world) copyManifest(src name.Digest, dst name.Reference) {
	w.t.Helper()
	desc, err := remote.Get(src)
	if err != nil {
		w.t.Fatal(err)
	}
	img, err := desc.Image()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := remote.Write(dst, img); err != nil {
		w.t.Fatal(err)
	}
}

// copyWithReferrers copies an image and every referrer of it (its
// signatures) to dst's repository, as crane cp of each would.
func (w *world) copyWithReferrers(src name.Digest, dst name.Reference) {
	w.t.Helper()
	w.copyManifest(src, dst)
	idx, err := remote.Referrers(src)
	if err != nil {
		w.t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		w.t.Fatal(err)
	}
	for _, r := range m.Manifests {
		w.copyManifest(src.Context().Digest(r.Digest.String()), dst.Context().Digest(r.Digest.String()))
	}
}

// copyMetadata copies from's signet-tuf artifact over to's.
func (w *world) copyMetadata(from, to name.Repository) {
	w.t.Helper()
	desc, err := remote.Get(from.Tag(taghead.MetadataTag))
	if err != nil {
		w.t.Fatal(err)
	}
	w.copyManifest(from.Digest(desc.Digest.String()), to.Tag(taghead.MetadataTag))
}

// crossRepository sets up dev/app and prod/app, each with its own signed
// head of 1.4 (one TUF key for both), and copies dev/app's metadata, head
// image and signatures into prod/app; with moveTag, prod/app:1.4 is
// re-pointed at the copied image too. It returns prod/app:1.4 and the
// copied digest.
func (h *heads) crossRepository(moveTag bool) (string, name.Digest) {
	w := h.w
	dev, _ := name.NewRepository(w.ref("dev/app"))
	prod, _ := name.NewRepository(w.ref("prod/app"))
	devHead := w.image("dev/app:1.4")
	w.sign("release", devHead.String())
	h.publish(dev, "1.4", devHead)
	prodHead := w.image("prod/app:1.4")
	w.sign("release", prodHead.String())
	h.publish(prod, "1.4", prodHead)
	copied := prod.Digest(devHead.DigestStr())
	w.copyWithReferrers(devHead, copied)
	if moveTag {
		w.retag(copied, prod.Tag("1.4"))
	}
	w.copyMetadata(dev, prod)
	return prod.Tag("1.4").String(), copied
}

// pinnedTo answers a review whose patch must pin image to want: a patch
// pinning another digest counts as refused (the row's reason says which).
func pinnedTo(w *world, e *verify.Engine, image string, want name.Digest, opts ...admission.Option) verdict {
	w.t.Helper()
	req, err := admission.ReviewObject(toJSON(w.t, podWith(image)))
	if err != nil {
		w.t.Fatal(err)
	}
	resp := admission.New(e, opts...).Review(w.ctx, req, true)
	switch {
	case !resp.Allowed:
		return verdict{class: "denied", reason: resp.Result.Message}
	case !strings.Contains(string(resp.Patch), image+"@"+want.DigestStr()):
		return verdict{class: "pinned-elsewhere", reason: "patch " + string(resp.Patch)}
	}
	return verdict{allowed: true}
}

// Signed tag heads (tags.signedHeads): a tag is admitted only at its signed
// head, the head is bound to its repository, and the failure mode pins a
// tag only to a head that verified.
func init() {
	receipt := admission.WithFailureMode(admission.FailReceipt)
	register(
		row{name: "control: signed heads, tag at its signed head", entry: entryTagHead,
			run: func(w *world) verdict {
				h := newHeads(w)
				return w.decide(h.policy("tuf-root.json"), h.tag, verify.WithTagHeadState(w.t.TempDir()))
			},
			want: allowed()},
		row{name: "control: signed heads, root pinned by digest, tag at its signed head", entry: entryTagHead,
			run: func(w *world) verdict {
				h := newHeads(w)
				return w.decide(h.policy(h.rootDigest()), h.tag, verify.WithTagHeadState(w.t.TempDir()))
			},
			want: allowed()},
		row{name: "control: signed heads, the mutating webhook pins a moved tag to its signed head", entry: entryReview,
			run: func(w *world) verdict {
				h := newHeads(w)
				h.moveTag(h.old)
				return pinnedTo(w, h.engine(), h.tag, h.cur)
			},
			want: allowed()},
		row{name: "control: signed heads, two repositories under one root each pass at their own head", entry: entryTagHead,
			run: func(w *world) verdict {
				h := newHeads(w)
				prod, _ := name.NewRepository(w.ref("prod/app"))
				d := w.image("prod/app:1.4")
				w.sign("release", d.String())
				h.publish(prod, "1.4", d)
				e := h.engine()
				if v := decision(e.Decide(w.ctx, h.tag)); !v.allowed {
					return v
				}
				return decision(e.Decide(w.ctx, prod.Tag("1.4").String()))
			},
			want: allowed()},

		// Item 6: heads do not pass for another repository's.
		row{name: "signed heads: another repository's metadata, image and signatures copied in", entry: entryTagHead,
			run: func(w *world) verdict {
				h := newHeads(w)
				image, _ := h.crossRepository(true)
				return decision(h.engine().Decide(w.ctx, image))
			},
			want: refused(verify.ClassInvalid, "[wrong-repository]")},
		row{name: "signed heads: copied metadata and image, the mutating webhook asked to pin the copied head", entry: entryReview,
			run: func(w *world) verdict {
				h := newHeads(w)
				image, copied := h.crossRepository(false) // prod/app:1.4 itself not moved
				return pinnedTo(w, h.engine(), image, copied)
			},
			want: refusedAs("denied", "[wrong-repository]")},
		row{name: "signed heads: another repository's metadata copied in, root pinned by digest", entry: entryTagHead,
			run: func(w *world) verdict {
				h := newHeads(w)
				// The rule pins one 1.root.json by digest for all its
				// repositories: team/app's root is the one copied.
				prod, _ := name.NewRepository(w.ref("prod/app"))
				copied := prod.Digest(h.cur.DigestStr())
				w.copyWithReferrers(h.cur, prod.Tag("1.4"))
				w.copyMetadata(h.repo, prod)
				return w.decide(h.policy(h.rootDigest()), copied.Context().Tag("1.4").String(), verify.WithTagHeadState(w.t.TempDir()))
			},
			want: refused(verify.ClassInvalid, "was signed for")},
		row{name: "signed heads: metadata of an older signet (head names no repository) copied from another repository", entry: entryTagHead,
			run: func(w *world) verdict {
				h := newHeads(w)
				dev, _ := name.NewRepository(w.ref("dev/app"))
				devHead := w.image("dev/app:1.4")
				w.sign("release", devHead.String())
				md := h.publish(dev, "1.4", devHead)
				// What a signet without the binding wrote: 1.4's target
				// has no custom metadata (re-signed by the next head).
				for p, tf := range md.Targets.Signed.Targets {
					if p == "tags/1.4" {
						tf.Custom = nil
					}
				}
				h.setHead(md, dev, "other", devHead)
				prod, _ := name.NewRepository(w.ref("prod/app"))
				w.copyWithReferrers(devHead, prod.Tag("1.4"))
				w.copyMetadata(dev, prod)
				return decision(h.engine().Decide(w.ctx, prod.Tag("1.4").String()))
			},
			want: refused(verify.ClassInvalid, "does not name its repository")},

		// Item 3: the failure mode applies the signed-head rule.
		row{name: "signed heads: signet-tuf deleted (metadata missing is not-found, not transient)", entry: entryTagHead,
			run: func(w *world) verdict {
				h := newHeads(w)
				h.moveTag(h.old)
				h.deleteMetadata()
				return decision(h.engine().Decide(w.ctx, h.tag))
			},
			want: refused(verify.ClassNotFound, "no signed tag heads")},
		row{name: "signed heads: signet-tuf deleted, root pinned by digest", entry: entryTagHead,
			run: func(w *world) verdict {
				h := newHeads(w)
				h.deleteMetadata()
				return w.decide(h.policy(h.rootDigest()), h.tag, verify.WithTagHeadState(w.t.TempDir()))
			},
			want: refused(verify.ClassNotFound, "no signed tag heads")},
		row{name: "admission failure mode receipt: signet-tuf deleted and the tag moved back to an older signed digest", entry: entryFallback,
			run: func(w *world) verdict {
				h := newHeads(w)
				e := h.engine()
				e.Decide(w.ctx, h.old.String()) // the old digest's verdict is cached
				h.moveTag(h.old)
				h.deleteMetadata()
				return pinnedTo(w, e, h.tag, h.old, receipt)
			},
			want: refusedAs("denied", "signed-head [not-found]")},
		row{name: "admission failure mode receipt: outage after a moved tag failed its signed-head check", entry: entryFallback,
			run: func(w *world) verdict {
				h := newHeads(w)
				e := h.engine()
				e.Decide(w.ctx, h.old.String())
				h.moveTag(h.old)
				e.Decide(w.ctx, h.tag) // the validating webhook: tag-mismatch
				w.outage.Store(true)
				return pinnedTo(w, e, h.tag, h.old, receipt)
			},
			want: refusedAs("denied", "no verified digest of this tag within the cache TTL")},
		row{name: "admission failure mode receipt: outage after the signed head's metadata expired", entry: entryFallback,
			run: func(w *world) verdict {
				h := newHeads(w)
				var skew atomic.Int64
				e := h.engine(verify.WithEngineClock(func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }))
				if d := e.Decide(w.ctx, h.tag); !d.Allowed {
					w.t.Fatalf("setup: %s", d.Reason)
				}
				skew.Store(int64(48 * time.Hour)) // the timestamp (a day) ran out
				w.outage.Store(true)
				return pinnedTo(w, e, h.tag, h.cur, receipt)
			},
			want: refusedAs("denied", "the metadata naming it expired")},
		row{name: "control: admission failure mode receipt, outage, the tag's signed head verified before", entry: entryFallback,
			run: func(w *world) verdict {
				h := newHeads(w)
				e := h.engine()
				if d := e.Decide(w.ctx, h.tag); !d.Allowed {
					w.t.Fatalf("setup: %s", d.Reason)
				}
				w.outage.Store(true)
				return pinnedTo(w, e, h.tag, h.cur, receipt)
			},
			want: allowed()},
		row{name: "control: admission failure mode receipt, outage after the pinning webhook judged a moved tag's signed head", entry: entryFallback,
			run: func(w *world) verdict {
				h := newHeads(w)
				e := h.engine()
				e.Decide(w.ctx, h.old.String())
				h.moveTag(h.old)
				if d := e.Decide(verify.PinningTags(w.ctx), h.tag); !d.Allowed {
					w.t.Fatalf("setup: %s", d.Reason)
				}
				w.outage.Store(true)
				return pinnedTo(w, e, h.tag, h.cur, receipt) // the head, not where the tag points
			},
			want: allowed()},
		row{name: "control: admission failure mode receipt, signet-tuf deleted after the head verified pins that head", entry: entryFallback,
			run: func(w *world) verdict {
				h := newHeads(w)
				e := h.engine()
				if d := e.Decide(w.ctx, h.tag); !d.Allowed {
					w.t.Fatalf("setup: %s", d.Reason)
				}
				e.Decide(w.ctx, h.old.String())
				h.moveTag(h.old)
				h.deleteMetadata()
				w.outage.Store(true)
				return pinnedTo(w, e, h.tag, h.cur, receipt)
			},
			want: allowed()},
	)
}
