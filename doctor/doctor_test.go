package doctor_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/doctor"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
)

var bundleAnn = map[string]string{"dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1", "dev.sigstore.bundle.content": "dsse-envelope"}

// fixture is an image in a registry without the referrers API with a
// bundle, a Notation signature and an attestation artifact attached (its
// fallback index healthy), and another image with a bundle of its own.
type fixture struct {
	c       *oci.Client
	reg     *registrytest.Registry
	image   name.Digest
	tag     name.Tag // the image's fallback tag
	healthy []v1.Descriptor
	other   v1.Descriptor // a bundle of the other image
	missing v1.Descriptor // a bundle deleted after planting
}

// attachGone attaches one more bundle, to be listed and then deleted.
func (f *fixture) attachGone(t *testing.T) v1.Descriptor {
	t.Helper()
	a, err := f.c.AttachBundle(context.Background(), f.resolve(t, f.image.String()), []byte(`{"bundle":"gone"}`), bundleAnn)
	if err != nil {
		t.Fatal(err)
	}
	d := a.Descriptor
	d.ArtifactType, d.Annotations = oci.BundleMediaType, bundleAnn
	return d
}

func newFixture(t *testing.T, referrers bool, wrap func(http.Handler) http.Handler) *fixture {
	t.Helper()
	ctx := context.Background()
	reg := registrytest.NewWrapped(t, referrers, wrap)
	f := &fixture{c: oci.New(), reg: reg}
	f.image = reg.PushImage(t, "team/app:v1")
	otherImg := reg.PushImage(t, "team/app:v2")
	f.tag = oci.FallbackTag(f.image)
	target := f.resolve(t, f.image.String())
	if _, err := f.c.AttachBundle(ctx, target, []byte(`{"bundle":1}`), bundleAnn); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.AttachNotation(ctx, target, []byte(`{"jws":1}`), "application/jose+json", map[string]string{"io.cncf.notary.x509chain.thumbprint#S256": `["ab"]`}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.AttachAttestation(ctx, target, []byte(`{"spdxVersion":"SPDX-2.3"}`), oci.SPDXMediaType, nil); err != nil {
		t.Fatal(err)
	}
	other, err := f.c.AttachBundle(ctx, f.resolve(t, otherImg.String()), []byte(`{"bundle":2}`), bundleAnn)
	if err != nil {
		t.Fatal(err)
	}
	f.other = other.Descriptor
	if !referrers {
		f.healthy = f.index(t).Manifests
		if len(f.healthy) != 3 {
			t.Fatalf("the fallback index lists %d entries, want 3", len(f.healthy))
		}
	}
	return f
}

func (f *fixture) resolve(t *testing.T, ref string) *oci.Target {
	t.Helper()
	target, err := f.c.Resolve(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return target
}

func (f *fixture) index(t *testing.T) *v1.IndexManifest {
	t.Helper()
	got, err := f.c.Get(context.Background(), f.tag)
	if err != nil {
		t.Fatal(err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(got.Raw, &im); err != nil {
		t.Fatal(err)
	}
	return &im
}

// plant writes the index listing entries at the fallback tag.
func (f *fixture) plant(t *testing.T, entries []v1.Descriptor) {
	t.Helper()
	raw, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: entries})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.c.PutManifest(context.Background(), f.tag, raw, types.OCIImageIndex); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, f *fixture, fix bool) *doctor.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := doctor.Run(ctx, f.c, f.image.String(), doctor.Options{Fix: fix})
	if err != nil {
		t.Fatalf("doctor: %v", err)
	}
	return r
}

func problems(r *doctor.Report) []doctor.Problem {
	var out []doctor.Problem
	for _, fd := range r.Subjects[0].Fallback.Findings {
		out = append(out, fd.Problem)
	}
	return out
}

func stripped(d v1.Descriptor) v1.Descriptor {
	d.ArtifactType, d.Annotations = "", nil
	return d
}

func TestHealthy(t *testing.T) {
	f := newFixture(t, false, nil)
	r := run(t, f, false)
	if r.ReferrersAPI || !r.Healthy || r.Err() != nil || len(r.Subjects) != 1 {
		t.Fatalf("report %+v, want a healthy image on a registry without the referrers API", r)
	}
	fb := r.Subjects[0].Fallback
	want := map[oci.Kind]int{oci.KindBundle: 1, oci.KindNotation: 1, oci.KindAttestationArtifact: 1}
	if !fb.Present || fb.Entries != 3 || len(fb.Findings) != 0 || !mapsEqual(fb.Kinds, want) {
		t.Fatalf("fallback %+v, want 3 entries (bundle, notation, attestation) and no findings", fb)
	}
	if r := run(t, f, true); r.Subjects[0].Fallback.Fix != nil || !r.Healthy {
		t.Fatalf("--fix on a healthy index: %+v, want nothing done", r.Subjects[0].Fallback.Fix)
	}
}

func mapsEqual(a, b map[oci.Kind]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestDamage(t *testing.T) {
	tests := []struct {
		name  string
		plant func(f *fixture) []v1.Descriptor
		want  []doctor.Problem
	}{
		{"no artifactType or annotations (cosign #4641)", func(f *fixture) []v1.Descriptor {
			return []v1.Descriptor{stripped(f.healthy[0]), f.healthy[1], f.healthy[2]}
		}, []doctor.Problem{doctor.NoArtifactType, doctor.NoAnnotations}},
		{"missing manifest", func(f *fixture) []v1.Descriptor {
			return append(slices.Clone(f.healthy), f.missing)
		}, []doctor.Problem{doctor.Missing}},
		{"duplicate", func(f *fixture) []v1.Descriptor {
			return append(slices.Clone(f.healthy), f.healthy[1])
		}, []doctor.Problem{doctor.Duplicate}},
		{"other subject", func(f *fixture) []v1.Descriptor {
			return append([]v1.Descriptor{f.other}, f.healthy...)
		}, []doctor.Problem{doctor.OtherSubject}},
		{"wrong size and media type", func(f *fixture) []v1.Descriptor {
			d := slices.Clone(f.healthy)
			d[2].Size++
			d[1].MediaType = types.DockerManifestSchema2
			return d
		}, []doctor.Problem{doctor.Mismatch, doctor.Mismatch}},
		{"everything at once", func(f *fixture) []v1.Descriptor {
			return []v1.Descriptor{f.missing, stripped(f.healthy[0]), f.other, f.healthy[1], stripped(f.healthy[0]), f.healthy[2]}
		}, []doctor.Problem{doctor.Missing, doctor.NoArtifactType, doctor.NoAnnotations, doctor.OtherSubject, doctor.Duplicate}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, false, nil)
			f.missing = f.attachGone(t)
			f.plant(t, tt.plant(f))
			if err := remote.Delete(f.image.Context().Digest(f.missing.Digest.String())); err != nil {
				t.Fatal(err)
			}
			r := run(t, f, false)
			if got := problems(r); !slices.Equal(got, tt.want) {
				t.Fatalf("problems %v, want %v", got, tt.want)
			}
			if !errors.Is(r.Err(), doctor.ErrDamaged) || r.Healthy {
				t.Fatalf("Err() = %v, want ErrDamaged", r.Err())
			}
			r = run(t, f, true)
			fix := r.Subjects[0].Fallback.Fix
			if fix == nil || !fix.Fixed || len(fix.Changes) != len(tt.want) || r.Err() != nil || !r.Healthy {
				t.Fatalf("fix %+v (err %v), want fixed with %d changes", fix, r.Err(), len(tt.want))
			}
			if got := f.index(t).Manifests; !descriptorsEqual(got, f.healthy) {
				t.Fatalf("repaired index lists %+v, want exactly the healthy entries %+v", got, f.healthy)
			}
			// Idempotent: a second --fix finds nothing and writes nothing.
			before := f.index(t)
			r = run(t, f, true)
			if len(problems(r)) != 0 || r.Subjects[0].Fallback.Fix != nil || !r.Healthy {
				t.Fatalf("second --fix: findings %v, fix %+v; want none", problems(r), r.Subjects[0].Fallback.Fix)
			}
			if after := f.index(t); !descriptorsEqual(after.Manifests, before.Manifests) {
				t.Fatal("the second --fix changed the index")
			}
		})
	}
}

func descriptorsEqual(a, b []v1.Descriptor) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestNotAnIndex(t *testing.T) {
	f := newFixture(t, false, nil)
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	f.reg.Push(t, "team/app:"+f.tag.TagStr(), img)
	for _, fix := range []bool{false, true} {
		r := run(t, f, fix)
		if got := problems(r); !slices.Equal(got, []doctor.Problem{doctor.NotAnIndex}) || !errors.Is(r.Err(), doctor.ErrDamaged) {
			t.Fatalf("fix=%v: problems %v (err %v), want not-an-index, damaged", fix, got, r.Err())
		}
		if fixed := r.Subjects[0].Fallback.Fix; fix && (fixed == nil || fixed.Fixed || fixed.Stopped == "") {
			t.Fatalf("fix %+v, want refused", fixed)
		}
	}
	got, err := f.c.Get(context.Background(), f.tag)
	if err != nil || got.Descriptor.MediaType == types.OCIImageIndex {
		t.Fatalf("the tag was overwritten (%v)", err)
	}
}

func TestReferrersAPIRefusesFix(t *testing.T) {
	f := newFixture(t, true, nil)
	f.plant(t, []v1.Descriptor{stripped(f.other)})
	r := run(t, f, true)
	fix := r.Subjects[0].Fallback.Fix
	if !r.ReferrersAPI || fix == nil || fix.Fixed || !strings.Contains(fix.Stopped, "referrers API") || !errors.Is(r.Err(), doctor.ErrDamaged) {
		t.Fatalf("report: api %v, fix %+v, err %v; want the fix refused on a referrers-API registry", r.ReferrersAPI, fix, r.Err())
	}
	if got := f.index(t).Manifests; len(got) != 1 || got[0].ArtifactType != "" {
		t.Fatalf("the tag was rewritten: %+v", got)
	}
}

// TestIndexPlatforms: an index's platforms each get their fallback index
// examined and repaired.
func TestIndexPlatforms(t *testing.T) {
	f := newFixture(t, false, nil)
	ctx := context.Background()
	idx := f.reg.PushIndex(t, "team/app:multi")
	it := f.resolve(t, idx.String())
	children, err := f.c.Children(ctx, it)
	if err != nil || len(children) < 2 {
		t.Fatalf("children %v, %v", children, err)
	}
	child := it.Child(children[1])
	att, err := f.c.AttachBundle(ctx, child, []byte(`{"bundle":3}`), bundleAnn)
	if err != nil {
		t.Fatal(err)
	}
	ct := oci.FallbackTag(child.Digest)
	raw, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{stripped(att.Descriptor)}})
	if err := f.c.PutManifest(ctx, ct, raw, types.OCIImageIndex); err != nil {
		t.Fatal(err)
	}
	r, err := doctor.Run(ctx, f.c, idx.String(), doctor.Options{Fix: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Subjects) != 1+len(children) {
		t.Fatalf("%d subjects, want the index and its %d platforms", len(r.Subjects), len(children))
	}
	s := r.Subjects[2]
	if s.Digest != child.Digest.DigestStr() || len(s.Fallback.Findings) != 2 || s.Fallback.Fix == nil || !s.Fallback.Fix.Fixed || !r.Healthy {
		t.Fatalf("platform %+v, want two findings fixed", s)
	}
}

// TestConcurrentWriter: a tag that changes between the read and the write
// stops the repair with nothing written, and the other writer's entry stays.
func TestConcurrentWriter(t *testing.T) {
	var f *fixture
	var armed, fired atomic.Bool
	var concurrent []byte
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The signed-heads read comes after every fallback read and
			// before the repair: another writer adds an entry then.
			if armed.Load() && strings.HasSuffix(r.URL.Path, "/manifests/signet-tuf") && !fired.Swap(true) {
				put := httptest.NewRequest(http.MethodPut, "/v2/team/app/manifests/"+f.tag.TagStr(), strings.NewReader(string(concurrent)))
				put.Header.Set("Content-Type", string(types.OCIImageIndex))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, put)
				if rec.Code != http.StatusCreated {
					t.Errorf("concurrent write: %d %s", rec.Code, rec.Body)
				}
			}
			h.ServeHTTP(w, r)
		})
	}
	f = newFixture(t, false, wrap)
	damaged := []v1.Descriptor{stripped(f.healthy[0]), f.healthy[1], f.healthy[2]}
	f.plant(t, damaged)
	concurrent, _ = json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: append(slices.Clone(damaged), f.other)})
	armed.Store(true)
	r := run(t, f, true)
	fix := r.Subjects[0].Fallback.Fix
	if !fired.Load() || fix == nil || fix.Fixed || !strings.Contains(fix.Stopped, "changed since it was read") || !errors.Is(r.Err(), doctor.ErrTagChanged) || !errors.Is(r.Err(), oci.ErrRegistry) {
		t.Fatalf("fix %+v, err %v; want stopped because the tag changed", fix, r.Err())
	}
	if got := f.index(t).Manifests; len(got) != 4 || got[3].Digest != f.other.Digest {
		t.Fatalf("the other writer's index was replaced: %+v", got)
	}
}

// TestReadFailureWritesNothing: a manifest the registry fails to serve is
// never taken for a missing one; doctor stops with a registry error and
// writes nothing.
func TestReadFailureWritesNothing(t *testing.T) {
	var failing atomic.Value
	failing.Store("")
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if d := failing.Load().(string); d != "" && strings.HasSuffix(r.URL.Path, "/manifests/"+d) {
				http.Error(w, "storage backend unavailable", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	f := newFixture(t, false, wrap)
	f.plant(t, []v1.Descriptor{stripped(f.healthy[0]), f.healthy[1], f.healthy[1], f.healthy[2]})
	before := f.index(t)
	failing.Store(f.healthy[2].Digest.String())
	c := oci.New(oci.WithRetries(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := doctor.Run(ctx, c, f.image.String(), doctor.Options{Fix: true})
	if !errors.Is(err, oci.ErrRegistry) || r != nil {
		t.Fatalf("Run: %v (report %v), want a registry error and no report", err, r)
	}
	failing.Store("")
	if after := f.index(t); !descriptorsEqual(after.Manifests, before.Manifests) {
		t.Fatalf("the fallback index was rewritten after a failed read: %+v", after.Manifests)
	}
}

// TestTagChangedAfterWrite: another writer right after doctor's write is
// reported, and doctor does not write again.
func TestTagChangedAfterWrite(t *testing.T) {
	var f *fixture
	var armed, fired atomic.Bool
	var concurrent []byte
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r)
			if armed.Load() && r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/"+f.tag.TagStr()) && !fired.Swap(true) {
				put := httptest.NewRequest(http.MethodPut, r.URL.Path, strings.NewReader(string(concurrent)))
				put.Header.Set("Content-Type", string(types.OCIImageIndex))
				h.ServeHTTP(httptest.NewRecorder(), put)
			}
		})
	}
	f = newFixture(t, false, wrap)
	damaged := []v1.Descriptor{stripped(f.healthy[0]), f.healthy[1], f.healthy[2]}
	f.plant(t, damaged)
	concurrent, _ = json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: append(slices.Clone(f.healthy), f.other)})
	armed.Store(true)
	r := run(t, f, true)
	fix := r.Subjects[0].Fallback.Fix
	if !fired.Load() || fix == nil || fix.Fixed || fix.After == "" || !strings.Contains(fix.Stopped, "someone else wrote it") || !errors.Is(r.Err(), doctor.ErrTagChanged) {
		t.Fatalf("fix %+v, err %v; want the change after the write reported", fix, r.Err())
	}
	if got := f.index(t).Manifests; len(got) != 4 || got[3].Digest != f.other.Digest {
		t.Fatalf("doctor wrote again over the other writer: %+v", got)
	}
}
