package trustbundle

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/taghead"
)

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

type world struct {
	t      *testing.T
	client *oci.Client
	tag    name.Tag
	keys   Keys
	root   []byte // TUF root version 1, from the first publish
	now    time.Time
}

func newWorld(t *testing.T, reg *registrytest.Registry) *world {
	t.Helper()
	if reg == nil {
		reg = registrytest.New(t, true)
	}
	tag, _ := name.NewTag(reg.Host + "/trust/bundle:prod")
	return &world{t: t, client: oci.New(), tag: tag, keys: Keys{Root: []signature.Signer{newKey(t)}, Online: newKey(t)}, now: time.Now()}
}

// publish signs and pushes version with recalls as its recall list.
func (w *world) publish(version int64, recalls string) *Published {
	w.t.Helper()
	b, err := New(version, w.now, sampleInputs(recalls))
	if err != nil {
		w.t.Fatal(err)
	}
	p, err := Publish(context.Background(), w.client, w.tag, b, w.keys, taghead.DefaultExpiry, w.now)
	if err != nil {
		w.t.Fatal(err)
	}
	if p.Root != nil {
		w.root = p.Root
	}
	return p
}

func (w *world) verifier(state string) *Verifier {
	w.t.Helper()
	v, err := NewVerifier(w.client, w.root, state)
	if err != nil {
		w.t.Fatal(err)
	}
	return v
}

func recallsOf(t *testing.T, v *Verified) string {
	t.Helper()
	f, ok := v.File(RoleRecalls)
	if !ok {
		t.Fatal("no recalls in the bundle")
	}
	return string(f.Data)
}

func wantClass(t *testing.T, err error, c Class) {
	t.Helper()
	if got := ClassOf(err); got != c {
		t.Fatalf("got class %q (%v), want %q", got, err, c)
	}
}

func TestSignedRoundTrip(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.publish(1, "v1")
	v := w.verifier(t.TempDir())
	got, err := v.Verify(context.Background(), w.tag.String())
	if err != nil || got.Version != 1 || recallsOf(t, got) != "v1" {
		t.Fatalf("%+v %v", got, err)
	}
	w.publish(2, "v2")
	dir := t.TempDir()
	got, err = v.PullDir(context.Background(), w.tag.String(), dir)
	if err != nil || got.Version != 2 {
		t.Fatalf("%+v %v", got, err)
	}
	// A fresh verifier, no registry needed: the directory holds the metadata.
	got, err = w.verifier(t.TempDir()).VerifyDir(context.Background(), dir)
	if err != nil || got.Version != 2 || recallsOf(t, got) != "v2" || got.Expires.IsZero() {
		t.Fatalf("%+v %v", got, err)
	}
	t.Run("not newer", func(t *testing.T) {
		b, _ := New(2, w.now, sampleInputs("v2 again"))
		_, err := Publish(context.Background(), w.client, w.tag, b, w.keys, taghead.DefaultExpiry, w.now)
		if !errors.Is(err, ErrNotNewer) {
			t.Fatalf("got %v, want ErrNotNewer", err)
		}
	})
	t.Run("another root key", func(t *testing.T) {
		b, _ := New(3, w.now, sampleInputs("v3"))
		other := Keys{Root: []signature.Signer{newKey(t)}, Online: w.keys.Online}
		_, err := Publish(context.Background(), w.client, w.tag, b, other, taghead.DefaultExpiry, w.now)
		if err == nil || !strings.Contains(err.Error(), "does not trust this key for targets") {
			t.Fatalf("got %v, want a refusal of the key", err)
		}
	})
}

func TestRetaggedIgnored(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.publish(1, "signed")
	// Whoever can write to the registry moves the tag to another bundle;
	// the verifier reads the signed digest, not the tag.
	b, _ := New(9, w.now, sampleInputs("forged"))
	if _, err := Push(context.Background(), w.client, w.tag, b); err != nil {
		t.Fatal(err)
	}
	got, err := w.verifier("").Verify(context.Background(), w.tag.String())
	if err != nil || got.Version != 1 || recallsOf(t, got) != "signed" {
		t.Fatalf("%+v %v", got, err)
	}
}

// TestTamperedLayer serves the recall list's layer altered (same size).
func TestTamperedLayer(t *testing.T) {
	t.Parallel()
	var tamper string
	reg := registrytest.NewWrapped(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if tamper == "" || !strings.HasSuffix(r.URL.Path, "/blobs/"+tamper) {
				h.ServeHTTP(rw, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := bytes.ToUpper(rec.Body.Bytes())
			for k, v := range rec.Header() {
				rw.Header()[k] = v
			}
			rw.WriteHeader(rec.Code)
			_, _ = io.Copy(rw, bytes.NewReader(body))
		})
	})
	w := newWorld(t, reg)
	w.publish(1, "recalled")
	b, _ := New(1, w.now, sampleInputs("recalled"))
	f, _ := b.File(RoleRecalls)
	tamper = f.Digest
	got, err := w.verifier("").Verify(context.Background(), w.tag.String())
	if err == nil || got != nil {
		t.Fatalf("a tampered layer was accepted: %+v", got)
	}
	if c := ClassOf(err); c != ClassUnavailable && c != ClassAltered {
		t.Fatalf("got class %q (%v)", c, err)
	}
}

func TestTamperedDir(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.publish(1, "v1")
	for _, tc := range []struct {
		name, file string
	}{
		{"file", "recalls.yaml"},
		{"contents", ContentsFile},
		{"manifest", filepath.Join(sigDir, "manifest.json")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := w.verifier("").PullDir(context.Background(), w.tag.String(), dir); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, tc.file)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, append(b, ' '), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = w.verifier("").VerifyDir(context.Background(), dir)
			wantClass(t, err, ClassAltered)
		})
	}
}

func TestNotRootKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.publish(1, "v1")
	v := w.verifier(t.TempDir())
	if _, err := v.Verify(context.Background(), w.tag.String()); err != nil {
		t.Fatal(err)
	}
	// Someone with registry access replaces the metadata with their own,
	// signed by keys the trusted root does not name.
	md, err := taghead.Init(context.Background(), w.client, w.tag.Context(), taghead.Keys{Root: []signature.Signer{newKey(t)}, Targets: newKey(t), Snapshot: newKey(t), Timestamp: newKey(t)}, taghead.DefaultExpiry, w.now)
	if err != nil || md == nil {
		t.Fatal(err)
	}
	for _, state := range []string{"", t.TempDir()} {
		_, err = w.verifier(state).Verify(context.Background(), w.tag.String())
		wantClass(t, err, ClassUntrustedRoot)
	}
	_, err = v.Verify(context.Background(), w.tag.String())
	if c := ClassOf(err); c != ClassUntrustedRoot && c != ClassRollback {
		t.Fatalf("got class %q (%v)", c, err)
	}
}

func TestRollback(t *testing.T) {
	t.Parallel()
	t.Run("replayed metadata", func(t *testing.T) {
		w := newWorld(t, nil)
		w.publish(1, "v1")
		old := t.TempDir()
		if err := taghead.CopyMetadata(context.Background(), w.client, w.tag.Context(), old); err != nil {
			t.Fatal(err)
		}
		v := w.verifier(t.TempDir())
		w.publish(2, "v2")
		if got, err := v.Verify(context.Background(), w.tag.String()); err != nil || got.Version != 2 {
			t.Fatalf("%+v %v", got, err)
		}
		replay(t, w, old)
		_, err := v.Verify(context.Background(), w.tag.String())
		wantClass(t, err, ClassRollback)
		// Without state, the replayed (valid, unexpired) v1 is all one can see.
		if got, err := w.verifier("").Verify(context.Background(), w.tag.String()); err != nil || got.Version != 1 {
			t.Fatalf("%+v %v", got, err)
		}
	})
	t.Run("older version re-signed", func(t *testing.T) {
		w := newWorld(t, nil)
		p1 := w.publish(1, "v1")
		v := w.verifier(t.TempDir())
		w.publish(2, "v2")
		if got, err := v.Verify(context.Background(), w.tag.String()); err != nil || got.Version != 2 {
			t.Fatalf("%+v %v", got, err)
		}
		// The signer (by mistake, or forced) signs version 1 again, newer
		// metadata: TUF accepts it, the bundle version does not.
		resign(t, w, p1, 1)
		_, err := v.Verify(context.Background(), w.tag.String())
		wantClass(t, err, ClassRollback)
		if !strings.Contains(err.Error(), "rollback") || !strings.Contains(err.Error(), "older than version 2") {
			t.Fatalf("message: %v", err)
		}
	})
}

// replay puts the metadata files saved in dir back in the registry.
func replay(t *testing.T, w *world, dir string) {
	t.Helper()
	files, fetch, err := taghead.DirSource(dir).Files(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []oci.File
	for n, d := range files {
		b, err := fetch(d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, oci.File{Name: n, Data: b})
	}
	if _, err := w.client.PutFiles(context.Background(), w.tag.Context().Tag(taghead.MetadataTag), taghead.ArtifactType, taghead.RoleType, out); err != nil {
		t.Fatal(err)
	}
}

// resign signs the already pushed bundle p as version, bypassing Publish's check.
func resign(t *testing.T, w *world, p *Published, version int64) {
	t.Helper()
	md, err := taghead.Read(context.Background(), w.client, w.tag.Context())
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := w.client.Manifest(context.Background(), w.tag.Context().Digest(p.Digest).String())
	if err != nil {
		t.Fatal(err)
	}
	tk, _ := w.keys.taghead()
	custom := []byte(`{"repository":"` + w.tag.Context().Name() + `","tag":"prod","version":` + strconv.FormatInt(version, 10) + `}`)
	if err := md.SetTarget(tk, taghead.DefaultExpiry, w.now, TargetPath("prod"), p.Digest, int64(len(raw)), custom); err != nil {
		t.Fatal(err)
	}
	if err := taghead.Publish(context.Background(), w.client, w.tag.Context(), md); err != nil {
		t.Fatal(err)
	}
}

func TestFreeze(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.publish(1, "v1")
	for _, tc := range []struct {
		after time.Duration
		want  Class
	}{
		{time.Hour, ""},
		{taghead.DefaultExpiry.Timestamp + time.Hour, ClassFreeze},
	} {
		v := w.verifier(t.TempDir()).WithClock(func() time.Time { return w.now.Add(tc.after) })
		_, err := v.Verify(context.Background(), w.tag.String())
		wantClass(t, err, tc.want)
	}
	// A pulled directory freezes the same way.
	dir := t.TempDir()
	if _, err := w.verifier("").PullDir(context.Background(), w.tag.String(), dir); err != nil {
		t.Fatal(err)
	}
	v := w.verifier("").WithClock(func() time.Time { return w.now.Add(2 * taghead.DefaultExpiry.Timestamp) })
	_, err := v.VerifyDir(context.Background(), dir)
	wantClass(t, err, ClassFreeze)
}

func TestRefreshKeepsLastGood(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	reg := registrytest.NewWrapped(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if down.Load() {
				http.Error(rw, "down", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(rw, r)
		})
	})
	w := newWorld(t, reg)
	w.publish(1, "v1")
	cache, state := t.TempDir(), t.TempDir()
	v := w.verifier(state)
	got, dir, stale, err := v.Refresh(context.Background(), "oci://"+w.tag.String(), cache)
	if err != nil || stale != nil || got.Version != 1 {
		t.Fatalf("%+v %v %v", got, stale, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "recalls.yaml")); err != nil || string(b) != "v1" {
		t.Fatalf("%q %v", b, err)
	}
	down.Store(true)
	got, _, stale, err = v.Refresh(context.Background(), w.tag.String(), cache)
	if err != nil || stale == nil || got.Version != 1 {
		t.Fatalf("registry down: want the last good bundle and the reason it is stale, got %+v %v %v", got, stale, err)
	}
	// Stale stops counting when its metadata expires.
	frozen := w.verifier(state).WithClock(func() time.Time { return w.now.Add(2 * taghead.DefaultExpiry.Timestamp) })
	_, _, _, err = frozen.Refresh(context.Background(), w.tag.String(), cache)
	wantClass(t, err, ClassUnavailable)
	if !strings.Contains(err.Error(), "last good bundle cannot be used") {
		t.Fatalf("message: %v", err)
	}
	// A refusal is not answered with the last good bundle.
	down.Store(false)
	w.publish(2, "v2")
	if _, _, _, err := v.Refresh(context.Background(), w.tag.String(), cache); err != nil {
		t.Fatal(err)
	}
	resign(t, w, &Published{Digest: mustDigest(t, w, 1)}, 1)
	_, _, _, err = v.Refresh(context.Background(), w.tag.String(), cache)
	wantClass(t, err, ClassRollback)
	// Another tag's cache is not this tag's last good bundle.
	down.Store(true)
	other := *w
	other.tag = w.tag.Context().Tag("staging")
	if _, _, _, err := v.Refresh(context.Background(), other.tag.String(), cache); err == nil {
		t.Fatal("another tag's bundle served from the cache")
	}
}

// mustDigest is the digest of the bundle version with recalls "v<version>".
func mustDigest(t *testing.T, w *world, version int64) string {
	t.Helper()
	b, _ := New(version, w.now, sampleInputs("v"+strconv.FormatInt(version, 10)))
	d, err := Push(context.Background(), w.client, w.tag.Context().Tag("scratch"), b)
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}
