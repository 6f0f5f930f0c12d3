package resilience_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/inspect"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/verify"
)

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// TestHostileArtifacts: what an attacker can attach is refused or bounded —
// no crash, no unbounded read — and verification ends with a reason.
func TestHostileArtifacts(t *testing.T) {
	ctx := context.Background()
	priv, _ := keys.Generate(keys.ECDSAP256)
	key := verify.Key{Name: "release", PublicKey: priv.Public()}

	cases := []struct {
		name   string
		attach func(t *testing.T, reg *registrytest.Registry, c *oci.Client, tg *oci.Target, serve func(path string, body []byte))
		want   string // in the verification error
	}{
		{"deeply nested JSON as a bundle", func(t *testing.T, reg *registrytest.Registry, c *oci.Client, tg *oci.Target, _ func(string, []byte)) {
			deep := strings.Repeat(`{"a":`, 200_000) + "1" + strings.Repeat("}", 200_000)
			if _, err := c.AttachBundle(ctx, tg, []byte(deep), nil); err != nil {
				t.Fatal(err)
			}
		}, "malformed signature artifact"},
		{"a 50 MB certificate chain in a bundle", func(t *testing.T, reg *registrytest.Registry, c *oci.Client, tg *oci.Target, _ func(string, []byte)) {
			chain := strings.Repeat("A", 50<<20)
			b := `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"x509CertificateChain":{"certificates":[{"rawBytes":"` + chain + `"}]}}}`
			if _, err := c.AttachBundle(ctx, tg, []byte(b), map[string]string{oci.AnnotationPredicateType: oci.CosignSignPredicateType}); err != nil {
				t.Fatal(err)
			}
		}, "over the 8388608-byte cap"},
		{"a referrers list of 10,000 entries", func(t *testing.T, reg *registrytest.Registry, c *oci.Client, tg *oci.Target, serve func(string, []byte)) {
			idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
			for i := range 10_000 {
				h, _ := v1.NewHash(fmt.Sprintf("sha256:%064x", i))
				idx.Manifests = append(idx.Manifests, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: 100, ArtifactType: oci.BundleMediaType})
			}
			raw, _ := json.Marshal(idx)
			// A registry would check the entries exist; a hostile one serves it anyway.
			serve("/v2/team/app/manifests/"+oci.FallbackTag(tg.Digest).TagStr(), raw)
		}, "10000 entries, more than the 1000 Signet reads"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			served := map[string][]byte{}
			reg := registrytest.NewWrapped(t, false, func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					body, ok := served[r.URL.Path]
					mu.Unlock()
					if !ok {
						h.ServeHTTP(w, r)
						return
					}
					w.Header().Set("Content-Type", string(types.OCIImageIndex))
					w.Write(body)
				})
			})
			serve := func(path string, body []byte) { mu.Lock(); served[path] = body; mu.Unlock() }
			d := reg.PushImage(t, "team/app:v1")
			c := oci.New()
			tg, err := c.Resolve(ctx, d.String())
			if err != nil {
				t.Fatal(err)
			}
			tc.attach(t, reg, c, tg, serve)
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			v, _ := verify.New(oci.New(), []verify.Key{key})
			ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			_, err = v.Verify(ctx, d.String(), verify.Request{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("verify: %v (want %q)", err, tc.want)
			}
			if _, err := inspect.Inspect(ctx, oci.New(), d.String(), inspect.Options{}); err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("inspect: %v", err)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grew := int64(after.TotalAlloc - before.TotalAlloc); grew > 256<<20 {
				t.Fatalf("allocated %d MiB handling it", grew>>20)
			}
		})
	}
}

// TestSelfReferencingIndex: an index is read one level deep only — a
// registry that answers an index's entries with the index again cannot make
// inspect or a recursive verification loop.
func TestSelfReferencingIndex(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t, true)
	d := reg.PushIndex(t, "team/app:v1")
	// A second index listing the first, twice over, as if it were its own entry.
	desc, _ := remote.Get(d)
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{desc.Descriptor, desc.Descriptor}}
	raw, _ := json.Marshal(idx)
	outer, _ := name.NewTag(reg.Host + "/team/app:outer")
	if err := remote.Put(outer, rawManifest{raw, types.OCIImageIndex}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rep, err := inspect.Inspect(ctx, oci.New(), outer.String(), inspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Subject.Platforms) != 2 || len(rep.Subject.Platforms[0].Platforms) != 0 {
		t.Fatalf("not one level: %+v", rep.Subject)
	}
	targets, err := oci.New().Targets(ctx, outer.String(), true)
	if err != nil || len(targets) != 3 {
		t.Fatalf("recursive targets: %d %v", len(targets), err)
	}
}
