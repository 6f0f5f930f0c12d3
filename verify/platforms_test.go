package verify_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/verify"
)

// platformPolicy requires alice's signature under platforms MODE (and
// FILTER, a platformFilter line or nothing).
const platformPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    platforms: MODE
    FILTER
    signers: [{name: alice, key: alice.pub}]
`

func platformEngine(t *testing.T, w *world, mode, filter string, opts ...verify.EngineOption) *verify.Engine {
	t.Helper()
	return w.engine(t, strings.NewReplacer("MODE", mode, "FILTER", filter).Replace(platformPolicy), opts...)
}

// multi is a pushed index and its platform manifests by platform name.
type multi struct {
	index     name.Digest
	platforms map[string]name.Digest
}

var threePlatforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}, {OS: "linux", Architecture: "arm", Variant: "v7"}}

// pushPlatforms pushes an index of a random image per platform to repoTag.
func pushPlatforms(t *testing.T, w *world, repoTag string, plats []v1.Platform) multi {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	m := multi{platforms: map[string]name.Digest{}}
	ref, err := name.ParseReference(w.reg.Host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plats {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
		h, _ := img.Digest()
		m.platforms[p.String()] = ref.Context().Digest(h.String())
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	h, _ := idx.Digest()
	m.index = ref.Context().Digest(h.String())
	return m
}

// pushRawIndex pushes an index listing descs as they are (whether the
// registry has them or not) and returns its digest reference.
func pushRawIndex(t *testing.T, w *world, repoTag string, descs []v1.Descriptor) name.Digest {
	t.Helper()
	raw, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: descs})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(w.reg.Host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(ref, rawManifest{raw, types.OCIImageIndex}); err != nil {
		t.Fatal(err)
	}
	h, _, _ := v1.SHA256(strings.NewReader(string(raw)))
	return ref.Context().Digest(h.String())
}

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// descriptor is what an index lists for d.
func descriptor(t *testing.T, w *world, d name.Digest, p *v1.Platform) v1.Descriptor {
	t.Helper()
	tg, err := w.client.Resolve(context.Background(), d.String())
	if err != nil {
		t.Fatal(err)
	}
	desc := tg.Descriptor
	desc.Platform = p
	return desc
}

// check finds a decision's check by name.
func check(d *verify.Decision, name string) *verify.PolicyCheck {
	for i := range d.Checks {
		if d.Checks[i].Name == name {
			return &d.Checks[i]
		}
	}
	return nil
}

// TestPlatformModes decides a three-platform index whose index and
// linux/amd64 and linux/arm/v7 manifests alice signed, and linux/arm64 not,
// under each platforms setting.
func TestPlatformModes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	m := pushPlatforms(t, w, "team/app:v1", threePlatforms)
	w.sign(t, "alice", m.index.String())
	w.sign(t, "alice", m.platforms["linux/amd64"].String())
	w.sign(t, "alice", m.platforms["linux/arm/v7"].String())
	plain := w.reg.PushImage(t, "team/plain:v1")
	w.sign(t, "alice", plain.String())
	unsignedIndex := pushPlatforms(t, w, "team/other:v1", threePlatforms)
	for _, p := range []string{"linux/amd64", "linux/arm64", "linux/arm/v7"} {
		w.sign(t, "alice", unsignedIndex.platforms[p].String())
	}
	for _, tc := range []struct {
		name, mode, filter, image string
		allowed                   bool
		class                     verify.Class
		reason                    []string                  // in the decision's reason
		outcomes                  map[string]verify.Outcome // check name -> outcome
	}{
		{name: "index: the index's signature covers its platforms", mode: "index", image: m.index.String(), allowed: true,
			outcomes: map[string]verify.Outcome{"signatures": verify.Pass}},
		{name: "index: platform signatures alone do not sign the index", mode: "index", image: unsignedIndex.index.String(),
			class: verify.ClassNotFound, reason: []string{"signatures", "no signatures found"}},
		{name: "every: the unsigned platform denies the index", mode: "every", image: m.index.String(), class: verify.ClassNotFound,
			reason:   []string{"2 of 3 platforms", "NOT verified: linux/arm64", "platform linux/arm64", "no signatures found"},
			outcomes: map[string]verify.Outcome{"platforms": verify.Fail, "platform linux/amd64": verify.Pass, "platform linux/arm64": verify.Fail, "platform linux/arm/v7": verify.Pass}},
		{name: "every: all platforms signed, the index not", mode: "every", image: unsignedIndex.index.String(), allowed: true,
			outcomes: map[string]verify.Outcome{"platforms": verify.Pass, "platform linux/arm64": verify.Pass}},
		{name: "any: allowed, the unsigned platform named", mode: "any", image: m.index.String(), allowed: true,
			outcomes: map[string]verify.Outcome{"platforms": verify.Pass, "platform linux/arm64": verify.Unverified, "platform linux/amd64": verify.Pass}},
		{name: "every over linux/amd64 ignores arm64", mode: "every", filter: "platformFilter: [linux/amd64]", image: m.index.String(), allowed: true,
			outcomes: map[string]verify.Outcome{"platforms": verify.Pass, "platform linux/amd64": verify.Pass}},
		{name: "every over linux/arm covers its variants", mode: "every", filter: "platformFilter: [linux/arm]", image: m.index.String(), allowed: true,
			outcomes: map[string]verify.Outcome{"platform linux/arm/v7": verify.Pass}},
		{name: "every over linux/arm64 denies", mode: "every", filter: "platformFilter: [linux/arm64, linux/s390x]", image: m.index.String(),
			class: verify.ClassNotFound, reason: []string{"0 of 1 platforms", "linux/arm64"}},
		{name: "a filter leaving no platform refuses", mode: "every", filter: "platformFilter: [linux/s390x]", image: m.index.String(),
			class: verify.ClassPolicyDenied, reason: []string{"no platform to verify", "linux/s390x", "linux/amd64, linux/arm64, linux/arm/v7"}},
		{name: "any: one verified platform out of the filter's", mode: "any", filter: "platformFilter: [linux/arm64, linux/arm/v7]", image: m.index.String(), allowed: true,
			outcomes: map[string]verify.Outcome{"platform linux/arm64": verify.Unverified, "platform linux/arm/v7": verify.Pass}},
		{name: "any: no verified platform denies", mode: "any", filter: "platformFilter: [linux/arm64]", image: m.index.String(),
			class: verify.ClassNotFound, reason: []string{"platforms: any needs one", "linux/arm64"}},
		{name: "every: an image that is no index ignores it", mode: "every", image: plain.String(), allowed: true,
			outcomes: map[string]verify.Outcome{"signatures": verify.Pass}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := platformEngine(t, w, tc.mode, tc.filter).Decide(context.Background(), tc.image)
			if d.Allowed != tc.allowed || d.Class != tc.class {
				t.Fatalf("allowed %v class %q, want %v %q: %s", d.Allowed, d.Class, tc.allowed, tc.class, d.Reason)
			}
			for _, want := range tc.reason {
				if !strings.Contains(d.Reason, want) {
					t.Errorf("reason %q does not say %q", d.Reason, want)
				}
			}
			for n, o := range tc.outcomes {
				c := check(d, n)
				if c == nil || c.Outcome != o {
					t.Errorf("check %s: %+v, want outcome %s", n, c, o)
				}
			}
			if tc.mode == "any" && tc.allowed && len(tc.filter) == 0 {
				if c := check(d, "platforms"); !strings.Contains(c.Message, "NOT verified: linux/arm64") || !strings.Contains(c.Message, "audit and warn") {
					t.Errorf("platforms check does not name the unverified platform and say any is for audit: %s", c.Message)
				}
			}
		})
	}
}

// TestPlatformRefusals: an index nested in the index, a platform manifest
// the registry lacks, a platform swapped since signing, and BuildKit's
// attestation manifests, which are no platform.
func TestPlatformRefusals(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	m := pushPlatforms(t, w, "team/app:v1", threePlatforms[:2])
	for _, d := range m.platforms {
		w.sign(t, "alice", d.String())
	}
	amd := descriptor(t, w, m.platforms["linux/amd64"], &threePlatforms[0])
	inner := descriptor(t, w, m.index, nil)
	nested := pushRawIndex(t, w, "team/app:nested", []v1.Descriptor{amd, inner})
	lost := w.reg.PushImage(t, "team/app:lost")
	missing := descriptor(t, w, lost, &threePlatforms[1])
	gone := pushRawIndex(t, w, "team/app:gone", []v1.Descriptor{amd, missing})
	if err := remote.Delete(lost); err != nil {
		t.Fatal(err)
	}
	// linux/arm64 rebuilt after signing: its new manifest carries a
	// signature naming another digest (the old one's, copied over).
	swapped := w.reg.PushImage(t, "team/app:arm64-new")
	w.badSignature(t, "alice", swapped)
	changed := pushRawIndex(t, w, "team/app:changed", []v1.Descriptor{amd, descriptor(t, w, swapped, &threePlatforms[1])})
	att := w.reg.PushImage(t, "team/app:att")
	withAtt := pushRawIndex(t, w, "team/app:buildkit", []v1.Descriptor{amd, descriptor(t, w, att, &v1.Platform{OS: "unknown", Architecture: "unknown"})})
	for _, tc := range []struct {
		name, image string
		allowed     bool
		class       verify.Class
		reason      []string
	}{
		{"nested index", nested.String(), false, verify.ClassPolicyDenied, []string{"lists another index", m.index.DigestStr()}},
		{"missing platform manifest", gone.String(), false, verify.ClassNotFound, []string{"platform linux/arm64", "registry does not have", missing.Digest.String()}},
		{"platform changed since signing", changed.String(), false, verify.ClassInvalid, []string{"platform linux/arm64", "another image digest"}},
		{"attestation manifest is no platform", withAtt.String(), true, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, mode := range []string{"every", "any"} {
				d := platformEngine(t, w, mode, "").Decide(context.Background(), tc.image)
				allowed := tc.allowed || (mode == "any" && tc.class != verify.ClassPolicyDenied)
				if d.Allowed != allowed {
					t.Fatalf("%s: allowed %v, want %v: %s", mode, d.Allowed, allowed, d.Reason)
				}
				if mode == "any" && allowed {
					continue // the other platform verified
				}
				if d.Class != tc.class {
					t.Errorf("%s: class %q, want %q: %s", mode, d.Class, tc.class, d.Reason)
				}
				for _, want := range tc.reason {
					if !strings.Contains(d.Reason, want) {
						t.Errorf("%s: reason %q does not say %q", mode, d.Reason, want)
					}
				}
			}
		})
	}
}
