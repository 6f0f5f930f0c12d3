package taghead

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
)

type world struct {
	t      *testing.T
	reg    *registrytest.Registry
	client *oci.Client
	repo   name.Repository
	keys   Keys
	repoMD *Repo
	now    time.Time
}

func newKey(t *testing.T) signature.SignerVerifier {
	t.Helper()
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := keys.SignerVerifier(priv)
	if err != nil {
		t.Fatal(err)
	}
	return sv
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, reg: registrytest.New(t, true), client: oci.New(), now: time.Now()}
	w.repo, _ = name.NewRepository(w.reg.Host + "/team/app")
	online := newKey(t)
	w.keys = Keys{Root: []signature.Signer{newKey(t)}, Targets: online, Snapshot: online, Timestamp: online}
	r, err := Init(context.Background(), w.client, w.repo, w.keys, DefaultExpiry, w.now)
	if err != nil {
		t.Fatal(err)
	}
	w.repoMD = r
	return w
}

// head signs tag -> a freshly pushed image and publishes.
func (w *world) head(tag string) name.Digest {
	w.t.Helper()
	d := w.reg.PushImage(w.t, "team/app:"+tag)
	tg, err := w.client.Resolve(context.Background(), d.String())
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.repoMD.SetHead(w.keys, DefaultExpiry, w.now, Head{Tag: tag, Digest: d.DigestStr(), Size: tg.Descriptor.Size}); err != nil {
		w.t.Fatal(err)
	}
	if err := Publish(context.Background(), w.client, w.repo, w.repoMD); err != nil {
		w.t.Fatal(err)
	}
	return d
}

func (w *world) verifier(state string) *Verifier {
	w.t.Helper()
	root, err := w.repoMD.Roots[0].ToBytes(false)
	if err != nil {
		w.t.Fatal(err)
	}
	v, err := NewVerifier(w.client, root, state)
	if err != nil {
		w.t.Fatal(err)
	}
	return v
}

// snapshotFiles returns the metadata files as they are now, to replay later.
func (w *world) snapshotFiles() []oci.File {
	w.t.Helper()
	fs, err := w.repoMD.files()
	if err != nil {
		w.t.Fatal(err)
	}
	return fs
}

func (w *world) putFiles(fs []oci.File) {
	w.t.Helper()
	if _, err := w.client.PutFiles(context.Background(), metadataTag(w.repo), ArtifactType, RoleType, fs); err != nil {
		w.t.Fatal(err)
	}
}

func wantClass(t *testing.T, err error, c Class) {
	t.Helper()
	if got := ClassOf(err); got != c {
		t.Fatalf("got class %q (%v), want %q", got, err, c)
	}
}

func TestSignedHead(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	d := w.head("1.4")
	v := w.verifier(t.TempDir())
	h, err := v.Check(context.Background(), w.repo, "1.4", d.DigestStr())
	if err != nil || h.Digest != d.DigestStr() {
		t.Fatalf("%+v %v", h, err)
	}
	_, err = v.Head(context.Background(), w.repo, "2.0")
	wantClass(t, err, ClassNotSigned)
}

// The tag is re-pointed in the registry to an older digest (validly signed
// as an image or not, it is not the signed head).
func TestTagMismatch(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	old := w.reg.PushImage(t, "team/app:1.3")
	w.head("1.4")
	_, err := w.verifier(t.TempDir()).Check(context.Background(), w.repo, "1.4", old.DigestStr())
	wantClass(t, err, ClassTagMismatch)
}

// Old but validly signed metadata replayed after a newer version was seen.
func TestRollback(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	old := w.head("1.4")
	replay := w.snapshotFiles()
	w.head("1.4") // a newer head: targets, snapshot and timestamp move on
	state := t.TempDir()
	if _, err := w.verifier(state).Head(context.Background(), w.repo, "1.4"); err != nil {
		t.Fatal(err)
	}
	w.putFiles(replay)
	_, err := w.verifier(state).Check(context.Background(), w.repo, "1.4", old.DigestStr())
	wantClass(t, err, ClassRollback)
	// A verifier that never saw the newer version cannot tell: that is what
	// the state directory is for.
	if _, err := w.verifier(t.TempDir()).Check(context.Background(), w.repo, "1.4", old.DigestStr()); err != nil {
		t.Fatalf("fresh verifier: %v", err)
	}
}

// Timestamp metadata past its expiry.
func TestFreeze(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	d := w.head("1.4")
	v := w.verifier(t.TempDir()).WithClock(func() time.Time { return w.now.Add(48 * time.Hour) })
	_, err := v.Check(context.Background(), w.repo, "1.4", d.DigestStr())
	wantClass(t, err, ClassFreeze)
	// Refreshed, it verifies again.
	if err := w.repoMD.Refresh(w.keys, DefaultExpiry, w.now.Add(47*time.Hour)); err != nil {
		t.Fatal(err)
	}
	Publish(context.Background(), w.client, w.repo, w.repoMD)
	if _, err := v.Check(context.Background(), w.repo, "1.4", d.DigestStr()); err != nil {
		t.Fatalf("after refresh: %v", err)
	}
}

// A snapshot from one version served with targets from another.
func TestMixAndMatch(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.head("1.4")
	older := w.snapshotFiles()
	w.head("1.4")
	newer := w.snapshotFiles()
	var oldTargets []byte
	for _, f := range older {
		if f.Name == "2.targets.json" {
			oldTargets = f.Data
		}
	}
	for i, f := range newer {
		if f.Name == "3.targets.json" {
			newer[i].Data = oldTargets // version 2's targets under version 3's name
		}
	}
	w.putFiles(newer)
	_, err := w.verifier(t.TempDir()).Head(context.Background(), w.repo, "1.4")
	wantClass(t, err, ClassMixAndMatch)
}

// Targets signed by a key the root does not delegate to.
func TestUndelegatedKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	rogue := w.keys
	rogue.Targets = newKey(t)
	w.keys = rogue
	w.head("1.4")
	_, err := w.verifier(t.TempDir()).Head(context.Background(), w.repo, "1.4")
	wantClass(t, err, ClassUntrustedRoot)
}

// A new root signed by the old root key (and the new one) is accepted; one
// signed only by a new key is refused.
func TestRootRotation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		signOld bool
		ok      bool
	}{{"signed by the old root key", true, true}, {"not signed by the old root key", false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.head("1.4")
			newRoot := newKey(t)
			var signers []signature.Signer
			if tc.signOld {
				signers = append(signers, w.keys.Root...)
			}
			if err := w.repoMD.RotateRoot(signers, []signature.Signer{newRoot}, DefaultExpiry, w.now); err != nil {
				t.Fatal(err)
			}
			w.keys.Root = []signature.Signer{newRoot}
			w.head("1.4")
			_, err := w.verifier(t.TempDir()).Head(context.Background(), w.repo, "1.4")
			if tc.ok && err != nil {
				t.Fatalf("rotation refused: %v", err)
			}
			if !tc.ok {
				wantClass(t, err, ClassUntrustedRoot)
			}
		})
	}
}

func TestNoMetadata(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	other, _ := name.NewRepository(w.reg.Host + "/team/other")
	_, err := w.verifier("").Head(context.Background(), other, "1.4")
	wantClass(t, err, ClassNotSigned)
}

// The metadata artifact is gone (deleted, or never published): the tag has
// no signed head. That is a refusal, not a registry hiccup to retry.
func TestNoMetadataIsNotSigned(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	d := w.head("1.4")
	if err := remote.Delete(metadataTag(w.repo)); err != nil {
		t.Fatal(err)
	}
	_, err := w.verifier(t.TempDir()).Check(context.Background(), w.repo, "1.4", d.DigestStr())
	wantClass(t, err, ClassNotSigned)
	if !strings.Contains(err.Error(), "no signed tag heads") {
		t.Fatalf("the refusal does not say what is missing: %v", err)
	}
	_, err = VerifierForDigest(context.Background(), w.client, w.repo, strings.Repeat("0", 64), "")
	wantClass(t, err, ClassNotSigned)
}

// copyMetadata copies the metadata artifact of from into to, as someone
// with push access to both could.
func (w *world) copyMetadata(from, to name.Repository) {
	w.t.Helper()
	desc, err := remote.Get(metadataTag(from))
	if err != nil {
		w.t.Fatal(err)
	}
	img, err := desc.Image()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := remote.Write(metadataTag(to), img); err != nil {
		w.t.Fatal(err)
	}
}

// One root is trusted for every repository a rule matches; another
// repository's metadata (signed by the same keys) copied in, with its
// image, must not pass as this repository's heads.
func TestWrongRepository(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	prod, _ := name.NewRepository(w.reg.Host + "/prod/app")
	if _, err := Init(context.Background(), w.client, prod, w.keys, DefaultExpiry, w.now); err != nil {
		t.Fatal(err)
	}
	d := w.head("1.4") // team/app:1.4
	v := w.verifier(t.TempDir())
	if _, err := v.Check(context.Background(), w.repo, "1.4", d.DigestStr()); err != nil {
		t.Fatalf("the head in its own repository: %v", err)
	}
	w.copyMetadata(w.repo, prod)
	_, err := w.verifier(t.TempDir()).Check(context.Background(), prod, "1.4", d.DigestStr())
	wantClass(t, err, ClassWrongRepository)
	if !strings.Contains(err.Error(), "signed for "+w.repo.Name()) {
		t.Fatalf("the refusal does not name the repository the head was signed for: %v", err)
	}
}

// Metadata written before heads named their repository is refused, with
// what to do about it.
func TestUnboundHead(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	d := w.head("1.4")
	// What an older signet wrote: the same target without the repository.
	for _, tf := range w.repoMD.Targets.Signed.Targets {
		tf.Custom = nil
	}
	w.repoMD.Targets.Signed.Version++
	if err := w.repoMD.finish(w.keys, DefaultExpiry, w.now); err != nil {
		t.Fatal(err)
	}
	if err := Publish(context.Background(), w.client, w.repo, w.repoMD); err != nil {
		t.Fatal(err)
	}
	_, err := w.verifier(t.TempDir()).Check(context.Background(), w.repo, "1.4", d.DigestStr())
	wantClass(t, err, ClassWrongRepository)
	if !strings.Contains(err.Error(), "signet tag sign "+w.repo.Name()+":1.4") {
		t.Fatalf("the refusal does not say how to re-sign: %v", err)
	}
	// Re-signed with this version, it verifies.
	w.head("1.4")
	if _, err := w.verifier(t.TempDir()).Head(context.Background(), w.repo, "1.4"); err != nil {
		t.Fatalf("after re-signing: %v", err)
	}
}

// A verified head says which repository it was signed for and until when
// its metadata is valid; Heads reports the repository as stored.
func TestHeadNamesRepository(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.head("1.4")
	h, err := w.verifier(t.TempDir()).Head(context.Background(), w.repo, "1.4")
	if err != nil {
		t.Fatal(err)
	}
	if h.Repository != w.repo.Name() {
		t.Fatalf("head repository %q, want %q", h.Repository, w.repo.Name())
	}
	// The timestamp (a day) expires first.
	if want := w.now.Add(DefaultExpiry.Timestamp); !h.Expires.Equal(want.Truncate(time.Second)) && !h.Expires.Equal(want) {
		t.Fatalf("head expires %s, want %s", h.Expires, want)
	}
	heads := w.repoMD.Heads()
	if len(heads) != 1 || heads[0].Repository != w.repo.Name() {
		t.Fatalf("Heads: %+v", heads)
	}
}

func TestSameRepository(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"registry.example.com/team/app", "registry.example.com/team/app", true},
		{"Registry.Example.COM/team/app", "registry.example.com/team/app", true},
		{"registry.example.com./team/app", "registry.example.com/team/app", true},
		{"registry.example.com:443/team/app", "registry.example.com/team/app", true},
		{"registry.example.com.:443/team/app", "registry.example.com/team/app", true},
		{"[::1]:443/team/app", "[::1]/team/app", true},
		{"127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app", true},
		{"registry.example.com:5000/team/app", "registry.example.com/team/app", false},
		{"registry.example.com/dev/app", "registry.example.com/prod/app", false},
		{"registry.example.com/team/app", "registry.example.com/team/app2", false},
		{"other.example.com/team/app", "registry.example.com/team/app", false},
	} {
		t.Run(tc.a+" vs "+tc.b, func(t *testing.T) {
			if got := sameRepository(tc.a, tc.b); got != tc.same {
				t.Fatalf("sameRepository = %v, want %v", got, tc.same)
			}
		})
	}
}

// SetHead refuses to write a head it cannot bind to a repository.
func TestSetHeadNeedsRepository(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	d := w.reg.PushImage(t, "team/app:1.4")
	r := &Repo{Roots: w.repoMD.Roots, Targets: w.repoMD.Targets}
	err := r.SetHead(w.keys, DefaultExpiry, w.now, Head{Tag: "1.4", Digest: d.DigestStr(), Size: 1})
	if err == nil || !strings.Contains(err.Error(), "which repository") {
		t.Fatalf("SetHead without a repository: %v", err)
	}
}

// Attack: the state directory is shared by every policy of the webhook
// (each SignetPolicy's engine, the cluster policies'), and it keeps the
// newest root trusted per repository. A namespace's own policy that pins
// the attacker's root for a repository must not make the cluster policy,
// which pins the real root, trust the attacker's heads.
func TestStateIsPerConfiguredRoot(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.head("1.4")
	legitRoot, err := w.repoMD.Roots[0].ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	// The attacker can push to the repository: it publishes metadata of its
	// own root with 1.4 pointing at an image of its choice.
	online := newKey(t)
	evilKeys := Keys{Root: []signature.Signer{newKey(t)}, Targets: online, Snapshot: online, Timestamp: online}
	evil, err := Init(context.Background(), w.client, w.repo, evilKeys, DefaultExpiry, w.now)
	if err != nil {
		t.Fatal(err)
	}
	bad := w.reg.PushImage(t, "team/app:evil")
	tg, err := w.client.Resolve(context.Background(), bad.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := evil.SetHead(evilKeys, DefaultExpiry, w.now, Head{Tag: "1.4", Digest: bad.DigestStr(), Size: tg.Descriptor.Size}); err != nil {
		t.Fatal(err)
	}
	if err := Publish(context.Background(), w.client, w.repo, evil); err != nil {
		t.Fatal(err)
	}
	evilRoot, err := evil.Roots[0].ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	// The namespace's policy trusts the attacker's root: its heads pass there.
	ns, err := NewVerifier(w.client, evilRoot, state)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ns.Check(context.Background(), w.repo, "1.4", bad.DigestStr()); err != nil {
		t.Fatalf("the attacker's own root: %v", err)
	}
	// The cluster policy trusts the real root, sharing the state directory.
	cluster, err := NewVerifier(w.client, legitRoot, state)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cluster.Check(context.Background(), w.repo, "1.4", bad.DigestStr())
	wantClass(t, err, ClassUntrustedRoot)
}

func TestSetTarget(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	d := "sha256:" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"trust-bundles/prod", true},
		{"tags/prod", false}, // SetHead's, bound to a repository
		{"../prod", false},
		{"prod", false},
	} {
		err := w.repoMD.SetTarget(w.keys, DefaultExpiry, w.now, tc.path, d, 10, []byte(`{"version":3}`))
		if (err == nil) != tc.ok {
			t.Fatalf("%s: %v", tc.path, err)
		}
	}
	if err := Publish(context.Background(), w.client, w.repo, w.repoMD); err != nil {
		t.Fatal(err)
	}
	got, err := w.verifier(t.TempDir()).Target(context.Background(), w.repo, nil, "trust-bundles/prod")
	if err != nil || got.Digest != d || got.Size != 10 || string(got.Custom) != `{"version":3}` || got.TargetsVersion != 2 {
		t.Fatalf("%+v %v", got, err)
	}
	_, err = w.verifier("").Target(context.Background(), w.repo, nil, "trust-bundles/staging")
	wantClass(t, err, ClassNotSigned)
	// The tag-head namespace holds nothing it did not sign as a head.
	_, err = w.verifier("").Head(context.Background(), w.repo, "prod")
	wantClass(t, err, ClassNotSigned)
}
