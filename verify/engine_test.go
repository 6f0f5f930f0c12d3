package verify_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// world is a registry, three signers and an untrusted one, with key files
// a policy can name.
type world struct {
	reg     *registrytest.Registry
	client  *oci.Client
	dir     string
	signers map[string]*sign.Signer // alice, bob, carol, mallory
	// plainSigners are the same keys signing through a client that embeds
	// no bundle in its referrer manifest, as cosign writes them.
	plainSigners map[string]*sign.Signer
}

func newWorld(t testing.TB) *world {
	t.Helper()
	return newWorldAt(t, registrytest.New(t, true))
}

// newWorldAt is newWorld with the registry given.
func newWorldAt(t testing.TB, reg *registrytest.Registry) *world {
	t.Helper()
	w := &world{reg: reg, client: oci.New(oci.WithLayoutDirs(true)), dir: t.TempDir(), signers: map[string]*sign.Signer{},
		plainSigners: map[string]*sign.Signer{}}
	plain := oci.New(oci.WithLayoutDirs(true), oci.WithEmbeddedBundles(0))
	for _, n := range []string{"alice", "bob", "carol", "mallory"} {
		priv, err := keys.Generate(keys.ECDSAP256)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := keys.PublicKeyPEM(priv.Public())
		if err := os.WriteFile(filepath.Join(w.dir, n+".pub"), pub, 0o644); err != nil {
			t.Fatal(err)
		}
		sv, _ := keys.SignerVerifier(priv)
		s, err := sign.New(sv, w.client)
		if err != nil {
			t.Fatal(err)
		}
		w.signers[n] = s
		if w.plainSigners[n], err = sign.New(sv, plain); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *world) engine(t testing.TB, doc string, opts ...verify.EngineOption) *verify.Engine {
	t.Helper()
	return w.engineWith(t, w.client, doc, opts...)
}

// engineWith is engine reading the registry through client.
func (w *world) engineWith(t testing.TB, client *oci.Client, doc string, opts ...verify.EngineOption) *verify.Engine {
	t.Helper()
	doc = strings.ReplaceAll(doc, "REG", w.reg.Host)
	c, err := policy.Compile([]byte(doc), w.dir, keys.Loader{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := verify.NewEngine(client, c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (w *world) sign(t testing.TB, who, image string) {
	t.Helper()
	if _, err := w.signers[who].SignImage(context.Background(), image, sign.Request{}); err != nil {
		t.Fatal(err)
	}
}

func (w *world) attest(t testing.TB, who, image, typ, file string) {
	t.Helper()
	data, err := os.ReadFile("../attest/testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := attest.New(w.signers[who], w.client).AttestImage(context.Background(), image, attest.Request{Type: typ, Predicate: data}); err != nil {
		t.Fatal(err)
	}
}

// badSignature attaches a signature by who that is valid but for another digest.
func (w *world) badSignature(t testing.TB, who string, d name.Digest) {
	t.Helper()
	ctx := context.Background()
	b, err := w.signers[who].Bundle(ctx, "x", "sha256:"+strings.Repeat("cd", 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	target, err := w.client.Resolve(ctx, d.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.client.AttachBundle(ctx, target, b, sign.BundleAnnotations(oci.CosignSignPredicateType, time.Now())); err != nil {
		t.Fatal(err)
	}
}

const thresholdPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    threshold: 2
    signers:
      - {name: alice, key: alice.pub}
      - {name: bob, key: bob.pub}
      - {name: carol, key: carol.pub}
`

func TestThresholds(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	e := w.engine(t, thresholdPolicy)
	ctx := context.Background()

	oneBad := w.reg.PushImage(t, "team/app:onebad")
	w.sign(t, "alice", oneBad.String())
	w.sign(t, "bob", oneBad.String())
	w.badSignature(t, "carol", oneBad)
	if d := e.Decide(ctx, oneBad.String()); !d.Allowed || d.Failed() {
		t.Fatalf("2 of 3 with one bad signature: %+v", d)
	}

	twoBad := w.reg.PushImage(t, "team/app:twobad")
	w.sign(t, "alice", twoBad.String())
	w.badSignature(t, "bob", twoBad)
	w.badSignature(t, "carol", twoBad)
	// A valid signature, too few signers: the policy denies (exit 6), the
	// signatures are not all invalid (exit 4).
	d := e.Decide(ctx, twoBad.String())
	if d.Allowed || d.Class != verify.ClassPolicyDenied || !strings.Contains(d.Reason, "1 of 2 required signers: alice; the rule needs 2 different signers; no valid signature by bob or carol; refused: ") {
		t.Fatalf("2 of 3 with two bad signatures: want policy-denied, got %s: %s", d.Class, d.Reason)
	}
	one := w.reg.PushImage(t, "team/app:one")
	w.sign(t, "alice", one.String())
	if d := e.Decide(ctx, one.String()); d.Allowed || d.Class != verify.ClassPolicyDenied ||
		d.Reason != "signatures [policy-denied]: 1 of 2 required signers: alice; the rule needs 2 different signers; no valid signature by bob or carol" {
		t.Fatalf("1 of 2 signers: want policy-denied, got %s: %s", d.Class, d.Reason)
	}

	// The same signer twice counts once.
	twice := w.reg.PushImage(t, "team/app:twice")
	w.sign(t, "alice", twice.String())
	w.sign(t, "alice", twice.String())
	if d := e.Decide(ctx, twice.String()); d.Allowed || d.Class != verify.ClassPolicyDenied {
		t.Fatalf("one signer twice met a threshold of 2: %+v", d)
	}

	// No valid signature at all is still invalid.
	allBad := w.reg.PushImage(t, "team/app:allbad")
	w.badSignature(t, "alice", allBad)
	w.badSignature(t, "bob", allBad)
	if d := e.Decide(ctx, allBad.String()); d.Allowed || d.Class != verify.ClassInvalid || !strings.Contains(d.Reason, "0 of 2 required signers: none; refused: ") {
		t.Fatalf("only bad signatures: want invalid, got %s: %s", d.Class, d.Reason)
	}
	unsigned := w.reg.PushImage(t, "team/app:none")
	if d := e.Decide(ctx, unsigned.String()); d.Allowed || d.Class != verify.ClassNotFound {
		t.Fatalf("unsigned: %+v", d)
	}
}

const attestPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    signers:
      - {name: release, key: alice.pub}
      - {name: scanner, key: bob.pub}
    attestations:
      - name: sbom
        predicateType: cyclonedx
        signers: [release]
        condition: size(predicate.components) > 1
      - name: scan
        predicateType: vuln
        signers: [scanner]
        condition: predicate.scanner.result.summary.critical <= CRIT
        maxAge: MAXAGE
`

func TestAttestationRequirements(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	img := w.reg.PushImage(t, "team/app:v1")
	w.sign(t, "alice", img.String())
	w.attest(t, "alice", img.String(), "cyclonedx", "sbom.cdx.json")
	w.attest(t, "bob", img.String(), "vuln", "trivy.json") // 1 critical, scanned 2026-11-30T10:05:00Z
	scanTime := time.Date(2026, 11, 30, 10, 5, 0, 0, time.UTC)
	clock := func() time.Time { return scanTime.Add(48 * time.Hour) }
	pol := func(crit, maxAge string) string {
		return strings.NewReplacer("CRIT", crit, "MAXAGE", maxAge).Replace(attestPolicy)
	}
	cases := []struct {
		name, crit, maxAge string
		allowed            bool
		class              verify.Class
		reason             string
	}{
		{"conditions hold", "1", "72h", true, "", ""},
		{"condition false", "0", "72h", false, verify.ClassPolicyDenied, "condition is false"},
		// A field the vuln predicate may have (its result is free) but this
		// one lacks: a field it cannot have is refused when the policy loads.
		{"condition on a missing field", "predicate.scanner.result.nope", "72h", false, verify.ClassInvalid, "invalid condition"},
		{"too old", "1", "24h", false, verify.ClassPolicyDenied, "attestation too old"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := w.engine(t, pol(tc.crit, tc.maxAge), verify.WithEngineClock(clock))
			d := e.Decide(ctx, img.String())
			if d.Allowed != tc.allowed || d.Class != tc.class || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("got allowed=%v class=%q reason=%q", d.Allowed, d.Class, d.Reason)
			}
		})
	}

	t.Run("a cached pass ends when the scan reaches its maxAge", func(t *testing.T) {
		now := scanTime.Add(71 * time.Hour)
		e := w.engine(t, pol("1", "72h"), verify.WithEngineClock(func() time.Time { return now }), verify.WithCache(10, time.Hour, time.Minute))
		if d := e.Decide(ctx, img.String()); !d.Allowed {
			t.Fatalf("71h after the scan: want allowed, got %s", d.Reason)
		}
		if d := e.Decide(ctx, img.String()); !d.Allowed || !d.Cached {
			t.Fatalf("again at once: want allowed from the cache, got allowed=%v cached=%v %s", d.Allowed, d.Cached, d.Reason)
		}
		now = now.Add(time.Hour + time.Second) // past 72h: the cache TTL has not run out, the scan's maxAge has
		if d := e.Decide(ctx, img.String()); d.Allowed || !strings.Contains(d.Reason, "attestation too old") {
			t.Fatalf("past 72h after the scan: want refused as too old, not a cached pass, got allowed=%v cached=%v %s", d.Allowed, d.Cached, d.Reason)
		}
		if d := e.Fallback(img.String(), "outage", true, true); d.Allowed {
			t.Fatalf("failure mode receipt past 72h after the scan: want refused, got allowed (cached=%v)", d.Cached)
		}
	})
	t.Run("forged: right predicate, wrong signer", func(t *testing.T) {
		forged := w.reg.PushImage(t, "team/app:forged")
		w.sign(t, "alice", forged.String())
		w.attest(t, "alice", forged.String(), "cyclonedx", "sbom.cdx.json")
		w.attest(t, "alice", forged.String(), "vuln", "trivy.json") // alice is not the scanner
		d := w.engine(t, pol("1", "72h"), verify.WithEngineClock(clock)).Decide(ctx, forged.String())
		if d.Allowed || !strings.Contains(d.Reason, "attestation scan") || !strings.Contains(d.Reason, "does not verify with any trusted key") {
			t.Fatalf("%+v", d.Reason)
		}
	})
	t.Run("valid attestation for another digest", func(t *testing.T) {
		other := w.reg.PushImage(t, "team/app:other")
		w.sign(t, "alice", other.String())
		w.attest(t, "alice", other.String(), "cyclonedx", "sbom.cdx.json")
		copyAttestations(t, w, img, other, attest.PredicateVuln)
		d := w.engine(t, pol("1", "72h"), verify.WithEngineClock(clock)).Decide(ctx, other.String())
		if d.Allowed || !strings.Contains(d.Reason, "another image digest") {
			t.Fatalf("%+v", d.Reason)
		}
	})
}

func copyAttestations(t *testing.T, w *world, from, to name.Digest, predicateType string) {
	t.Helper()
	ctx := context.Background()
	src, _ := w.client.Resolve(ctx, from.String())
	dst, _ := w.client.Resolve(ctx, to.String())
	arts, err := w.client.Discover(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range arts {
		if a.Kind == oci.KindBundle && a.PredicateType() == predicateType {
			if _, err := w.client.AttachBundle(ctx, dst, a.Content, a.Annotations); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestTagRulesModesAndLock(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	v1 := w.reg.PushImage(t, "team/app:v1.2")
	w.sign(t, "alice", v1.String())
	w.reg.PushImage(t, "team/app:latest")
	lock := &policy.LockFile{}
	lock.Set(w.reg.Host+"/team/app:v1.2", v1.DigestStr(), time.Now())
	if err := policy.WriteLock(filepath.Join(w.dir, "signet.lock"), lock); err != nil {
		t.Fatal(err)
	}
	doc := `apiVersion: signet.dev/v1alpha1
kind: Policy
defaultAction: DEFAULT
images:
  - pattern: "REG/team/**"
    mode: MODE
    signers: [{name: alice, key: alice.pub}]
    tags: {TAGS}
`
	pol := func(def, mode, tags string) string {
		return strings.NewReplacer("DEFAULT", def, "MODE", mode, "TAGS", tags).Replace(doc)
	}
	cases := []struct {
		name, def, mode, tags, image string
		allowed, failed              bool
		class                        verify.Class
	}{
		{"digest required, tag given", "deny", "enforce", "digestRequired: true", "REG/team/app:v1.2", false, true, verify.ClassPolicyDenied},
		{"digest required, digest given", "deny", "enforce", "digestRequired: true", v1.String(), true, false, ""},
		{"allowed tag", "deny", "enforce", "allowedTags: ['v*']", "REG/team/app:v1.2", true, false, ""},
		{"tag not allowed", "deny", "enforce", "allowedTags: ['v*']", "REG/team/app:latest", false, true, verify.ClassPolicyDenied},
		{"warn mode allows a failure", "deny", "warn", "allowedTags: ['v*']", "REG/team/app:latest", true, true, verify.ClassPolicyDenied},
		{"audit mode allows a failure", "deny", "audit", "allowedTags: ['v*']", "REG/team/app:latest", true, true, verify.ClassPolicyDenied},
		{"lock holds", "deny", "enforce", "lock: signet.lock", "REG/team/app:v1.2", true, false, ""},
		{"no rule, default deny", "deny", "enforce", "digestRequired: false", "REG/elsewhere/app:v1", false, true, verify.ClassPolicyDenied},
		{"no rule, default allow", "allow", "enforce", "digestRequired: false", "REG/elsewhere/app:v1", true, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := w.engine(t, pol(tc.def, tc.mode, tc.tags))
			d := e.Decide(ctx, strings.ReplaceAll(tc.image, "REG", w.reg.Host))
			if d.Allowed != tc.allowed || d.Failed() != tc.failed || d.Class != tc.class {
				t.Fatalf("got allowed=%v failed=%v class=%q reason=%q", d.Allowed, d.Failed(), d.Class, d.Reason)
			}
		})
	}
	t.Run("lock drift", func(t *testing.T) {
		e := w.engine(t, pol("deny", "enforce", "lock: signet.lock"))
		moved := w.reg.PushImage(t, "team/app:v1.2") // the tag now names another image
		w.sign(t, "alice", moved.String())           // validly signed, but not what was locked
		d := e.Decide(ctx, w.reg.Host+"/team/app:v1.2")
		if d.Allowed || !strings.Contains(d.Reason, "tag moved") || d.Digest != moved.DigestStr() {
			t.Fatalf("%+v", d)
		}
	})
}

// TestSharedCacheConcurrency runs many decisions at once over a shared
// cache (run with -race) and checks the cache never answers for a
// request-dependent check.
func TestSharedCacheConcurrency(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	var images []string
	want := map[string]bool{}
	for i := range 10 {
		d := w.reg.PushImage(t, fmt.Sprintf("team/app:v%d", i))
		if i%2 == 0 {
			w.sign(t, "alice", d.String())
		}
		tag := w.reg.Host + fmt.Sprintf("/team/app:v%d", i)
		images = append(images, d.String(), tag)
		want[d.String()] = i%2 == 0
		want[tag] = i%2 == 0 && i <= 4 // allowedTags v[0-4] is checked per request, never cached
	}
	e := w.engine(t, `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    signers: [{name: alice, key: alice.pub}]
    tags: {allowedTags: ["v[0-4]"]}
`, verify.WithCache(100, time.Minute, 10*time.Second), verify.WithWorkers(8))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, d := range e.DecideAll(ctx, images) {
				if d.Allowed != want[d.Image] {
					t.Errorf("%s: allowed=%v want %v (%s)", d.Image, d.Allowed, want[d.Image], d.Reason)
				}
			}
		}()
	}
	wg.Wait()
	if d := e.Decide(ctx, images[0]); !d.Cached {
		t.Fatal("second decision not served from the cache")
	}
	// A transient failure is never cached as a deny.
	down := w.engine(t, `apiVersion: signet.dev/v1alpha1
kind: Policy
defaultAction: allow
images:
  - pattern: "127.0.0.1:1/**"
    signers: [{name: alice, key: alice.pub}]
`, verify.WithCache(10, time.Minute, time.Minute))
	for range 2 {
		d := down.Decide(ctx, "127.0.0.1:1/app@sha256:"+strings.Repeat("ab", 32))
		if d.Class != verify.ClassTransient || d.Cached {
			t.Fatalf("transient: %+v", d)
		}
	}
}

// BenchmarkDecide verifies 200 distinct signed images from a local registry,
// cold (no cache) and cached, and reports verifications/s and registry
// round trips per verification.
func BenchmarkDecide(b *testing.B) {
	w := newWorld(b)
	ctx := context.Background()
	var images []string
	for i := range 200 {
		d := w.reg.PushImage(b, fmt.Sprintf("team/app:%d", i))
		w.sign(b, "alice", d.String())
		images = append(images, d.String())
	}
	doc := `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    signers: [{name: alice, key: alice.pub}]
`
	for _, cached := range []bool{false, true} {
		b.Run(fmt.Sprintf("cached=%v", cached), func(b *testing.B) {
			var opts []verify.EngineOption
			if cached {
				opts = append(opts, verify.WithCache(1000, time.Hour, time.Minute))
			}
			var trips atomic.Int64
			counted := oci.New(oci.WithTransport(countingTransport{base: remote.DefaultTransport, fn: func(*http.Request) { trips.Add(1) }}))
			c, err := policy.Compile([]byte(strings.ReplaceAll(doc, "REG", w.reg.Host)), w.dir, keys.Loader{})
			if err != nil {
				b.Fatal(err)
			}
			e, err := verify.NewEngine(counted, c, opts...)
			if err != nil {
				b.Fatal(err)
			}
			if cached {
				e.DecideAll(ctx, images) // warm
			}
			trips.Store(0)
			b.ResetTimer()
			n := 0
			for b.Loop() {
				for _, d := range e.DecideAll(ctx, images) {
					if !d.Allowed {
						b.Fatal(d.Reason)
					}
				}
				n += len(images)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "verifications/s")
			b.ReportMetric(float64(trips.Load())/float64(n), "round-trips/verification")
		})
	}
}

// TestOneRunFetchesOnce counts registry requests: the same image twice, and
// a tag and a digest of the same image, cost no second referrers listing.
func TestOneRunFetchesOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	d := w.reg.PushImage(t, "team/app:v1")
	w.sign(t, "alice", d.String())
	var mu sync.Mutex
	counts := map[string]int{}
	client := oci.New(oci.WithTransport(countingTransport{base: http.DefaultTransport, fn: func(r *http.Request) {
		mu.Lock()
		counts[r.Method+" "+r.URL.Path]++
		mu.Unlock()
	}}))
	doc := strings.ReplaceAll(`apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    signers: [{name: alice, key: alice.pub}]
`, "REG", w.reg.Host)
	c, err := policy.Compile([]byte(doc), w.dir, keys.Loader{})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := verify.NewEngine(client, c, verify.WithWorkers(1))
	tag := w.reg.Host + "/team/app:v1"
	for _, dec := range e.DecideAll(ctx, []string{d.String(), d.String(), tag}) {
		if !dec.Allowed {
			t.Fatal(dec.Reason)
		}
	}
	for k, n := range counts {
		if strings.Contains(k, "/referrers/") && n > 1 {
			t.Errorf("%s fetched %d times", k, n)
		}
	}
}

type countingTransport struct {
	base http.RoundTripper
	fn   func(*http.Request)
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.fn(r)
	return c.base.RoundTrip(r)
}

// TestAttestationOnlyRule: threshold 0 needs no image signature — the
// rule's attestations, by its signers, decide alone; an image with an
// image signature but no attestation, or an attestation by someone else,
// is refused.
func TestAttestationOnlyRule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	attested := w.reg.PushImage(t, "team/app:attested")
	w.attest(t, "alice", attested.String(), "cyclonedx", "sbom.cdx.json")
	signedOnly := w.reg.PushImage(t, "team/app:signed")
	w.sign(t, "alice", signedOnly.String())
	byOther := w.reg.PushImage(t, "team/app:other")
	w.attest(t, "mallory", byOther.String(), "cyclonedx", "sbom.cdx.json")
	e := w.engine(t, `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    threshold: 0
    signers: [{name: build, key: alice.pub}]
    attestations: [{predicateType: cyclonedx}]
`)
	d := e.Decide(ctx, attested.String())
	if !d.Allowed {
		t.Fatalf("attestation only: %s", d.Reason)
	}
	if c := d.Checks[len(d.Checks)-2]; c.Name != "signatures" || c.Outcome != verify.Skip {
		t.Fatalf("signatures check %+v: want skipped", c)
	}
	for img, want := range map[string]string{signedOnly.String(): "no https://cyclonedx.org/bom attestation found", byOther.String(): "not among the trusted keys"} {
		if d := e.Decide(ctx, img); d.Allowed || !strings.Contains(d.Reason, want) {
			t.Fatalf("%s: allowed=%v, reason %q lacks %q", img, d.Allowed, d.Reason, want)
		}
	}
}
