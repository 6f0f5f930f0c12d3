package taghead

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
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
	wantClass(t, err, ClassUnavailable)
}
