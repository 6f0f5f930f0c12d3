package admission_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/internal/faultproxy"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// TestPodRoundTrips counts the registry requests of one review of a pod of
// 8 containers, each a signed image by tag in its own repository, as the
// registry sees them: cold (a new engine and client), the containers are
// verified at once, 4 requests each and one /v2/ ping; warm (verdicts
// cached), only each tag is resolved again — a moved tag is never missed.
func TestPodRoundTrips(t *testing.T) {
	t.Parallel()
	reg := registrytest.New(t, true)
	p := faultproxy.New(t, reg.Host)
	images, c := signedPod(t, reg, p.Host, oci.New())
	eng, err := verify.NewEngine(oci.New(), c, verify.WithCache(100, time.Minute, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	hook := admission.New(eng)
	for _, tc := range []struct {
		name         string
		want         map[string]int
		fallbackTags int // fallback tags read beside the API: up to this many
	}{
		// /v2/ once for the registry (not per repository); per container:
		// the tag (HEAD), the referrers, the signature's manifest, which
		// embeds its bundle (the legacy .sig tag is not read: the referrers
		// meet the rule's one signer); and up to 8 referrers fallback tags, read at
		// once beside the API while the client does not know a repository
		// (oci.referrersOrFallback), unless the API answered before the
		// tag's request went out.
		{"cold", map[string]int{"ping": 1, "HEAD manifest": 8, "GET referrers": 8, "GET manifest": 8}, 8},
		{"warm", map[string]int{"HEAD manifest": 8}, 0},
	} {
		// A fallback tag read cancelled by an earlier answer may reach the
		// registry late: let it land before counting.
		time.Sleep(100 * time.Millisecond)
		p.ResetCounts()
		resp := hook.Review(context.Background(), reviewRequest(t, "Pod", images...), false)
		if !resp.Allowed {
			t.Fatalf("%s: a pod of 8 signed images was refused: %s", tc.name, resp.Result.Message)
		}
		got := p.Counts()
		if extra := got["GET manifest"] - tc.want["GET manifest"]; tc.fallbackTags > 0 && extra >= 0 && extra <= tc.fallbackTags {
			got["GET manifest"] = tc.want["GET manifest"]
		}
		if !maps.Equal(got, tc.want) {
			t.Errorf("%s: the registry saw %v for a pod of 8 containers, want %v (GET manifest: up to %d more)", tc.name, p.Counts(), tc.want, tc.fallbackTags)
		}
	}
}

// TestPodReadsAtOnce: the containers of a cold pod are verified at once —
// their tags resolved, referrers listed and bundles read together, not a
// few at a time (go-containerregistry let a client read 4 blobs at once,
// so the fifth container's bundle waited a round trip). The registry holds
// each such request until all 8 of its kind have arrived, or 10 s have
// passed; the test asserts how many arrived together. The bundles are not
// embedded in their manifests (as cosign writes them), so they are read.
func TestPodReadsAtOnce(t *testing.T) {
	t.Parallel()
	kinds := []string{"HEAD manifest", "GET referrers", "GET blob"}
	var mu sync.Mutex
	arrived, waiting := map[string]int{}, map[string]int{} // most held at once; held now
	release := map[string]chan struct{}{}
	for _, k := range kinds {
		release[k] = make(chan struct{})
	}
	var holding atomic.Bool
	reg := registrytest.NewWrapped(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k := faultproxy.KindOf(r)
			if ch, ok := release[k]; ok && holding.Load() {
				mu.Lock()
				waiting[k]++
				arrived[k] = max(arrived[k], waiting[k])
				if waiting[k] == 8 {
					close(ch)
				}
				mu.Unlock()
				select {
				case <-ch:
				case <-time.After(10 * time.Second):
				}
				mu.Lock()
				waiting[k]--
				mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	})
	images, c := signedPod(t, reg, reg.Host, oci.New(oci.WithEmbeddedBundles(0)))
	eng, err := verify.NewEngine(oci.New(), c)
	if err != nil {
		t.Fatal(err)
	}
	holding.Store(true)
	resp := admission.New(eng, admission.WithBudget(time.Minute)).Review(context.Background(), reviewRequest(t, "Pod", images...), false)
	if !resp.Allowed {
		t.Fatalf("a pod of 8 signed images was refused: %s", resp.Result.Message)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, k := range kinds {
		select {
		case <-release[k]:
		default:
			t.Errorf("%s: at most %d of the 8 containers' requests reached the registry together, want all 8", k, arrived[k])
		}
	}
}

// signedPod pushes 8 images to reg, each in its own repository
// (team/c0..c7, tag v1) and signed by release, and returns their tag
// references at host (reg's, or a proxy's in front of it) and a policy
// requiring release's signature on host/team/**. The signatures are
// attached through client.
func signedPod(t *testing.T, reg *registrytest.Registry, host string, client *oci.Client) ([]string, *policy.Compiled) {
	t.Helper()
	dir := t.TempDir()
	priv, _ := keys.Generate(keys.ECDSAP256)
	pub, _ := keys.PublicKeyPEM(priv.Public())
	os.WriteFile(filepath.Join(dir, "release.pub"), pub, 0o644)
	sv, _ := keys.SignerVerifier(priv)
	s, _ := sign.New(sv, client)
	var images []string
	for i := range 8 {
		d := reg.PushImage(t, fmt.Sprintf("team/c%d:v1", i))
		if _, err := s.SignImage(context.Background(), d.String(), sign.Request{}); err != nil {
			t.Fatal(err)
		}
		images = append(images, fmt.Sprintf("%s/team/c%d:v1", host, i))
	}
	doc := fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    signers: [{name: release, key: release.pub}]\n", host+"/team/**")
	c, err := policy.Compile([]byte(doc), dir, keys.Loader{})
	if err != nil {
		t.Fatal(err)
	}
	return images, c
}
