package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
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
	idx, byPlatform := w.reg.PushPlatforms(t, repoTag, plats...)
	return multi{index: idx, platforms: byPlatform}
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
	many := make([]v1.Descriptor, verify.MaxPlatforms+1)
	for i := range many {
		many[i] = descriptor(t, w, m.platforms["linux/amd64"], &v1.Platform{OS: "linux", Architecture: fmt.Sprintf("arch%d", i)})
	}
	tooMany := pushRawIndex(t, w, "team/app:many", many)
	for _, tc := range []struct {
		name, image string
		allowed     bool
		class       verify.Class
		reason      []string
	}{
		{"nested index", nested.String(), false, verify.ClassPolicyDenied, []string{"lists another index", m.index.DigestStr()}},
		{"missing platform manifest", gone.String(), false, verify.ClassNotFound, []string{"platform linux/arm64", "registry does not have", missing.Digest.String()}},
		{"platform changed since signing", changed.String(), false, verify.ClassInvalid, []string{"platform linux/arm64", "another image digest"}},
		{"more than 64 platforms", tooMany.String(), false, verify.ClassPolicyDenied, []string{"more than 64 platforms (65)", "platformFilter"}},
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

// TestPlatformAttestations: under every, each platform carries its own
// SBOM, signed by alice, and one without denies the index by name.
func TestPlatformAttestations(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	m := pushPlatforms(t, w, "team/app:v1", threePlatforms)
	w.sign(t, "alice", m.index.String())
	w.attest(t, "alice", m.index.String(), "cyclonedx", "sbom.cdx.json")
	for p, d := range m.platforms {
		w.sign(t, "alice", d.String())
		if p != "linux/arm/v7" {
			w.attest(t, "alice", d.String(), "cyclonedx", "sbom.cdx.json")
		}
	}
	doc := `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    platforms: MODE
    signers: [{name: alice, key: alice.pub}]
    attestations: [{name: sbom, predicateType: cyclonedx}]
`
	for _, tc := range []struct {
		mode    string
		allowed bool
	}{{"index", true}, {"every", false}, {"any", true}} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			d := w.engine(t, strings.ReplaceAll(doc, "MODE", tc.mode)).Decide(context.Background(), m.index.String())
			if d.Allowed != tc.allowed {
				t.Fatalf("allowed %v, want %v: %s", d.Allowed, tc.allowed, d.Reason)
			}
			if tc.mode == "index" {
				return
			}
			c := check(d, "platform linux/arm/v7")
			if c == nil || c.Outcome == verify.Pass || !strings.Contains(c.Message, "attestation sbom: no https://cyclonedx.org/bom attestation found") {
				t.Fatalf("platform linux/arm/v7: %+v, want a failure naming its missing SBOM", c)
			}
			if tc.mode == "every" && (d.Class != verify.ClassNotFound || !strings.Contains(d.Reason, "linux/arm/v7")) {
				t.Errorf("class %q reason %q, want not-found naming linux/arm/v7", d.Class, d.Reason)
			}
			amd := check(d, "platform linux/amd64")
			if amd == nil || amd.Outcome != verify.Pass || len(amd.Checks) != 2 || amd.Checks[1].Name != "attestation sbom" {
				t.Errorf("platform linux/amd64: %+v, want a pass with its signatures and sbom checks", amd)
			}
		})
	}
}

// TestPlatformCache: a verdict cached for the index under one rule's
// setting is never reused under another rule's (the rule is in the key),
// and per-platform verdicts are cached apart from the index's.
func TestPlatformCache(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	m := pushPlatforms(t, w, "team/app:v1", threePlatforms)
	w.sign(t, "alice", m.index.String())
	w.sign(t, "alice", m.platforms["linux/amd64"].String())
	// The same index under two tags: v1 meets the every rule, others the
	// index rule.
	if err := remote.Tag(m.index.Context().Tag("v2"), mustIndex(t, m.index)); err != nil {
		t.Fatal(err)
	}
	stats := &verify.EngineStats{}
	e := w.engine(t, `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/app:v1"
    platforms: every
    signers: [{name: alice, key: alice.pub}]
  - pattern: "REG/team/app:*"
    signers: [{name: alice, key: alice.pub}]
`, verify.WithCache(100, time.Hour, time.Hour), verify.WithStats(stats))
	ctx := context.Background()
	v1ref, v2ref := m.index.Context().Tag("v1").String(), m.index.Context().Tag("v2").String()
	for round := range 2 {
		for _, tc := range []struct {
			image   string
			allowed bool
		}{{v1ref, false}, {v2ref, true}, {v1ref, false}} {
			d := e.Decide(ctx, tc.image)
			if d.Allowed != tc.allowed {
				t.Fatalf("round %d %s: allowed %v, want %v: %s", round, tc.image, d.Allowed, tc.allowed, d.Reason)
			}
		}
	}
	// The index under each rule (2) and its three platforms under the
	// every rule (3), each verified once; the rest from the cache.
	if got := stats.Verifications.Load(); got != 5 {
		t.Errorf("%d verifications, want 5 (index under 2 rules + 3 platforms)", got)
	}
}

func mustIndex(t *testing.T, d name.Digest) v1.ImageIndex {
	t.Helper()
	idx, err := remote.Index(d)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// TestPlatformReceipts: a gate's receipt for the index stands in for every
// only when the gate ran the same policy and rule; a gate running the
// policy with platforms: index (another policy digest) passed the index on
// its own signature, which every does not accept.
func TestPlatformReceipts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	m := pushPlatforms(t, w, "prod/app:v1", threePlatforms)
	w.sign(t, "alice", m.index.String())
	doc := func(mode string) string {
		return strings.ReplaceAll(strings.ReplaceAll(receiptPolicy, "EXTRA", ""), "    signers: [{name: release, key: alice.pub}]\n  - pattern: \"REG/dev/**\"",
			"    platforms: "+mode+"\n    signers: [{name: release, key: alice.pub}]\n  - pattern: \"REG/dev/**\"")
	}
	every := w.engine(t, doc("every"))
	index := w.engine(t, doc("index"))
	if every.PolicyHash() == index.PolicyHash() {
		t.Fatal("the policy digest does not cover platforms")
	}
	ctx := context.Background()
	if d := index.Decide(ctx, m.index.String()); !d.Allowed {
		t.Fatalf("under index: %s", d.Reason)
	}
	w.receipt(t, index, "carol", m.index, summary{})
	d := every.Decide(ctx, m.index.String())
	if d.Allowed || !strings.Contains(d.Reason, "platform linux/amd64") || !strings.Contains(receiptCheck(d).Message, "not this policy") {
		t.Fatalf("a receipt made under platforms: index stood in for every: allowed %v, %s; receipt: %s", d.Allowed, d.Reason, receiptCheck(d).Message)
	}
	w.receipt(t, every, "carol", m.index, summary{at: time.Now().Add(time.Second)})
	d = every.Decide(ctx, m.index.String())
	if !d.Allowed || receiptCheck(d).Outcome != verify.Pass {
		t.Fatalf("the gate's receipt under this very policy and rule did not stand in: %s; receipt: %s", d.Reason, receiptCheck(d).Message)
	}
}

// TestVerifyPlatforms is Verify's Request.Platforms (signet verify
// --platforms, without a policy) on the three-platform index with
// linux/arm64 unsigned.
func TestVerifyPlatforms(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	m := pushPlatforms(t, w, "team/app:v1", threePlatforms)
	w.sign(t, "alice", m.index.String())
	w.sign(t, "alice", m.platforms["linux/amd64"].String())
	w.sign(t, "alice", m.platforms["linux/arm/v7"].String())
	pem, err := os.ReadFile(filepath.Join(w.dir, "alice.pub"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := keys.ParsePublicKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(w.client, []verify.Key{{Name: "alice", PublicKey: pub}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		req      verify.Request
		verified bool
		is       error           // the error matches it
		plats    map[string]bool // platform -> verified
		failed   []string        // PlatformsError.Failed
	}{
		{name: "index", req: verify.Request{}, verified: true},
		{name: "every", req: verify.Request{Platforms: verify.PlatformsEvery}, is: verify.ErrNoSignatures,
			plats: map[string]bool{"linux/amd64": true, "linux/arm64": false, "linux/arm/v7": true}, failed: []string{"linux/arm64"}},
		{name: "any", req: verify.Request{Platforms: verify.PlatformsAny}, verified: true,
			plats: map[string]bool{"linux/amd64": true, "linux/arm64": false, "linux/arm/v7": true}},
		{name: "every over linux/amd64", req: verify.Request{Platforms: verify.PlatformsEvery, PlatformFilter: []string{"linux/amd64"}}, verified: true,
			plats: map[string]bool{"linux/amd64": true}},
		{name: "no platform left", req: verify.Request{Platforms: verify.PlatformsEvery, PlatformFilter: []string{"windows/amd64"}}, is: verify.ErrNoPlatforms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := v.Verify(context.Background(), m.index.String(), tc.req)
			if tc.verified != (err == nil) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("error %v, want verified %v or an error matching %v", err, tc.verified, tc.is)
			}
			if errors.Is(err, verify.ErrPlatforms) {
				if res != nil || !errors.Is(err, verify.ErrNoValidSignature) {
					t.Errorf("a refused platform list: result %v, error %v; want no result and an error matching ErrNoValidSignature", res, err)
				}
				return
			}
			if res.Verified != tc.verified || len(res.Platforms) != len(tc.plats) {
				t.Fatalf("verified %v with %d platforms, want %v with %d", res.Verified, len(res.Platforms), tc.verified, len(tc.plats))
			}
			for _, p := range res.Platforms {
				if want, ok := tc.plats[p.Platform]; !ok || p.Verified != want || p.Digest != m.platforms[p.Platform].DigestStr() {
					t.Errorf("platform %s %s verified %v, want %v", p.Platform, p.Digest, p.Verified, want)
				}
			}
			var perr *verify.PlatformsError
			if len(tc.failed) > 0 && (!errors.As(err, &perr) || !slices.Equal(perr.Failed, tc.failed)) {
				t.Errorf("error %v, want a PlatformsError naming %v", err, tc.failed)
			}
		})
	}
}

// TestPlatformTransient: a registry failing on one platform manifest
// makes every's verdict transient (retry, do not conclude), which is never
// cached; once the registry answers, the index is judged.
func TestPlatformTransient(t *testing.T) {
	t.Parallel()
	var failing atomic.Value
	failing.Store("")
	w := newWorld(t)
	w.reg = registrytest.NewWrapped(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if d := failing.Load().(string); d != "" && strings.HasSuffix(r.URL.Path, "/manifests/"+d) {
				http.Error(rw, "overloaded", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(rw, r)
		})
	})
	m := pushPlatforms(t, w, "team/app:v1", threePlatforms[:2])
	for _, d := range m.platforms {
		w.sign(t, "alice", d.String())
	}
	stats := &verify.EngineStats{}
	e := platformEngine(t, w, "every", "", verify.WithCache(10, time.Hour, time.Hour), verify.WithStats(stats))
	failing.Store(m.platforms["linux/arm64"].DigestStr())
	d := e.Decide(context.Background(), m.index.String())
	if d.Allowed || d.Class != verify.ClassTransient || !strings.Contains(d.Reason, "platform linux/arm64") {
		t.Fatalf("allowed %v class %q, want a transient denial naming linux/arm64: %s", d.Allowed, d.Class, d.Reason)
	}
	failing.Store("")
	if d := e.Decide(context.Background(), m.index.String()); !d.Allowed || d.Cached {
		t.Fatalf("after the registry recovered: allowed %v cached %v: %s", d.Allowed, d.Cached, d.Reason)
	}
}

// TestVerifyAttestationPlatforms: VerifyAttestations under every wants an
// SBOM on each platform's own digest; one without fails it by name.
func TestVerifyAttestationPlatforms(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	m := pushPlatforms(t, w, "team/app:v1", threePlatforms)
	w.attest(t, "alice", m.index.String(), "cyclonedx", "sbom.cdx.json")
	for p, d := range m.platforms {
		if p != "linux/arm/v7" {
			w.attest(t, "alice", d.String(), "cyclonedx", "sbom.cdx.json")
		}
	}
	pem, err := os.ReadFile(filepath.Join(w.dir, "alice.pub"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := keys.ParsePublicKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(w.client, []verify.Key{{Name: "alice", PublicKey: pub}})
	if err != nil {
		t.Fatal(err)
	}
	const bom = "https://cyclonedx.org/bom"
	for _, tc := range []struct {
		mode     verify.PlatformMode
		filter   []string
		verified bool
	}{{verify.PlatformsIndex, nil, true}, {verify.PlatformsEvery, nil, false}, {verify.PlatformsAny, nil, true},
		{verify.PlatformsEvery, []string{"linux/amd64", "linux/arm64"}, true}} {
		res, err := v.VerifyAttestations(context.Background(), m.index.String(), verify.AttestationRequest{PredicateType: bom, Platforms: tc.mode, PlatformFilter: tc.filter})
		if res == nil || res.Verified != tc.verified || (err == nil) != tc.verified {
			t.Fatalf("%s %v: result %+v, error %v; want verified %v", tc.mode, tc.filter, res, err, tc.verified)
		}
		var perr *verify.PlatformsError
		if !tc.verified && (!errors.As(err, &perr) || !slices.Equal(perr.Failed, []string{"linux/arm/v7"}) || !errors.Is(err, verify.ErrNoSignatures)) {
			t.Errorf("%s: error %v, want a PlatformsError naming linux/arm/v7, matching ErrNoSignatures", tc.mode, err)
		}
	}
}
