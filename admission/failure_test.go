package admission_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/signature"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/taghead"
	"github.com/signet-dev/signet/verify"
)

// stallable is a registry whose requests can be made to hang until the
// client gives up (or the test ends).
type stallable struct {
	*registrytest.Registry
	stall atomic.Bool
}

func newStallable(t *testing.T) *stallable {
	s := &stallable{}
	over := make(chan struct{})
	s.Registry = registrytest.NewWrapped(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if s.stall.Load() {
				select {
				case <-r.Context().Done():
				case <-over:
				case <-time.After(10 * time.Second):
				}
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	// Cleanups run last-registered first: stalled requests (a client's
	// background request outlives its caller) are let go before the
	// server's Close waits for them.
	t.Cleanup(func() { close(over) })
	return s
}

func reviewRequest(t *testing.T, kind string, images ...string) *admissionv1.AdmissionRequest {
	t.Helper()
	var r admissionv1.AdmissionReview
	if err := json.Unmarshal(review(kind, workload(kind, images...)), &r); err != nil {
		t.Fatal(err)
	}
	return r.Request
}

// TestFailureModes: with the registry stalled, each review answers within
// its budget; closed denies what it cannot verify, receipt admits what
// passed recently (pinning tags in the mutating webhook) and denies the rest.
func TestFailureModes(t *testing.T) {
	t.Parallel()
	reg := newStallable(t)
	priv, _ := keys.Generate(keys.ECDSAP256)
	pub, _ := keys.PublicKeyPEM(priv.Public())
	sv, _ := keys.SignerVerifier(priv)
	s, _ := sign.New(sv, oci.New())
	d := reg.PushImage(t, "team/app:v1")
	if _, err := s.SignImage(context.Background(), d.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	reg.PushImage(t, "team/app:unsigned")
	signedTag, signedDigest, unsigned := reg.Host+"/team/app:v1", d.String(), reg.Host+"/team/app:unsigned"
	doc := fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    signers: [{name: release, publicKey: %q}]\n  - pattern: %q\n    mode: warn\n    signers: [{name: release, publicKey: %q}]\n",
		reg.Host+"/team/**", string(pub), reg.Host+"/lab/**", string(pub))
	c, err := policy.Compile([]byte(doc), ".", keys.Loader{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(oci.New(), c, verify.WithCache(100, time.Minute, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	const budget = 300 * time.Millisecond
	closed := admission.New(eng, admission.WithBudget(budget))
	receipt := admission.New(eng, admission.WithBudget(budget), admission.WithFailureMode(admission.FailReceipt))

	// Warm: the signed tag is verified once while the registry answers
	// (without the short budget, which a loaded CI machine can miss).
	if d := eng.Decide(context.Background(), signedTag); !d.Allowed {
		t.Fatalf("warm-up denied: %s", d.Reason)
	}
	reg.stall.Store(true)

	cases := []struct {
		name    string
		w       *admission.Webhook
		image   string
		mutate  bool
		allowed bool
		message string // in the denial
		pinned  string // the patched image, when mutating
	}{
		{"closed, tag", closed, signedTag, true, false, "did not finish within the 300ms budget (failure mode closed)", ""},
		{"closed, unverified digest", closed, reg.Host + "/team/app@sha256:" + strings.Repeat("ab", 32), false, false, "failure mode closed", ""},
		{"closed, warn rule", closed, reg.Host + "/lab/app:v1", false, true, "", ""},
		{"receipt, cached digest", receipt, signedDigest, false, true, "", ""},
		{"receipt, tag pinned by mutate", receipt, signedTag, true, true, "", signedTag + "@" + d.DigestStr()},
		{"receipt, tag in validate", receipt, signedTag, false, false, "a tag reference cannot be admitted on a receipt", ""},
		{"receipt, never verified", receipt, unsigned, true, false, "no verified digest of this tag within the cache TTL (failure mode receipt)", ""},
		{"receipt, unknown digest", receipt, reg.Host + "/team/app@sha256:" + strings.Repeat("cd", 32), false, false, "within the cache TTL (failure mode receipt)", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			resp := tc.w.Review(context.Background(), reviewRequest(t, "Deployment", tc.image), tc.mutate)
			if took := time.Since(start); took > budget+time.Second {
				t.Fatalf("took %s with a %s budget", took, budget)
			}
			if resp.Allowed != tc.allowed {
				t.Fatalf("allowed = %v, want %v: %+v", resp.Allowed, tc.allowed, resp.Result)
			}
			if !tc.allowed && !strings.Contains(resp.Result.Message, tc.message) {
				t.Fatalf("denial %q does not say %q", resp.Result.Message, tc.message)
			}
			if tc.pinned != "" && !strings.Contains(string(resp.Patch), tc.pinned) {
				t.Fatalf("patch %s does not pin to %s", resp.Patch, tc.pinned)
			}
		})
	}
}

// TestRegistryFailureIsTransient: a registry refusing requests is a
// transient failure, decided by the failure mode, never an "invalid
// signature".
func TestRegistryFailureIsTransient(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	reg := registrytest.NewWrapped(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				http.Error(w, "quota exceeded", http.StatusForbidden)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	reg.PushImage(t, "team/app:v1")
	priv, _ := keys.Generate(keys.ECDSAP256)
	pub, _ := keys.PublicKeyPEM(priv.Public())
	doc := fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    signers: [{name: r, publicKey: %q}]\n", reg.Host+"/**", string(pub))
	c, _ := policy.Compile([]byte(doc), ".", keys.Loader{})
	eng, _ := verify.NewEngine(oci.New(), c, verify.WithCache(10, time.Minute, time.Minute))
	m := admission.NewMetrics(nil)
	w := admission.New(eng, admission.WithFailureMode(admission.FailReceipt), admission.WithMetrics(m))
	down.Store(true)
	resp := w.Review(context.Background(), reviewRequest(t, "Pod", reg.Host+"/team/app:v1"), true)
	msg := resp.Result.Message
	if resp.Allowed || !strings.Contains(msg, "verification failed: resolve [transient]") || !strings.Contains(msg, "failure mode receipt") {
		t.Fatalf("%+v", resp.Result)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{`signet_admission_fallbacks_total{mode="receipt",outcome="denied"} 1`, `signet_admission_decisions_total{class="transient",outcome="denied"} 1`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestReceiptModeSignedHeads: the attack on failure mode receipt. Someone
// with push access moves app:1.4 back to an older, validly signed digest
// and deletes its signet-tuf metadata. The mutating webhook must not pin
// the old digest: missing metadata is a refusal (not a registry failure for
// the failure mode to answer), and in a real outage the failure mode pins
// only the head that verified, never where the moved tag points.
func TestReceiptModeSignedHeads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var down atomic.Bool
	reg := registrytest.NewWrapped(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				http.Error(w, "quota exceeded", http.StatusForbidden)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	priv, _ := keys.Generate(keys.ECDSAP256)
	pub, _ := keys.PublicKeyPEM(priv.Public())
	sv, _ := keys.SignerVerifier(priv)
	s, _ := sign.New(sv, oci.New())
	old := reg.PushImage(t, "team/app:1.4")
	cur := reg.PushImage(t, "team/app:1.4")
	for _, d := range []name.Digest{old, cur} {
		if _, err := s.SignImage(ctx, d.String(), sign.Request{}); err != nil {
			t.Fatal(err)
		}
	}
	client := oci.New()
	repo := cur.Context()
	tk := taghead.Keys{Root: []signature.Signer{sv}, Targets: sv, Snapshot: sv, Timestamp: sv}
	md, err := taghead.Init(ctx, client, repo, tk, taghead.DefaultExpiry, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tg, _ := client.Resolve(ctx, cur.String())
	if err := md.SetHead(tk, taghead.DefaultExpiry, time.Now(), taghead.Head{Tag: "1.4", Digest: cur.DigestStr(), Size: tg.Descriptor.Size}); err != nil {
		t.Fatal(err)
	}
	if err := taghead.Publish(ctx, client, repo, md); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	root, _ := md.Roots[0].ToBytes(false)
	os.WriteFile(filepath.Join(dir, "root.json"), root, 0o644)
	doc := fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    signers: [{name: release, publicKey: %q}]\n    tags:\n      signedHeads: {required: true, root: root.json}\n",
		reg.Host+"/team/**", string(pub))
	c, err := policy.Compile([]byte(doc), dir, keys.Loader{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(client, c, verify.WithCache(100, time.Minute, 10*time.Second), verify.WithTagHeadState(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	receipt := admission.New(eng, admission.WithFailureMode(admission.FailReceipt))
	image := repo.Tag("1.4").String()
	// Warm: the tag at its signed head, and the old digest (validly signed)
	// referenced by digest, both verified while the registry answers.
	for _, img := range []string{image, old.String()} {
		if d := eng.Decide(ctx, img); !d.Allowed {
			t.Fatalf("warm-up %s denied: %s", img, d.Reason)
		}
	}

	desc, err := remote.Get(old)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Tag(repo.Tag("1.4"), desc); err != nil {
		t.Fatal(err)
	}
	if err := remote.Delete(repo.Tag(taghead.MetadataTag)); err != nil {
		t.Fatal(err)
	}
	for _, mutate := range []bool{true, false} {
		resp := receipt.Review(ctx, reviewRequest(t, "Deployment", image), mutate)
		if resp.Allowed {
			t.Fatalf("mutate=%v: admitted, patch %s", mutate, resp.Patch)
		}
		if msg := resp.Result.Message; !strings.Contains(msg, "signed-head [not-found]") || !strings.Contains(msg, "no signed tag heads") {
			t.Fatalf("mutate=%v: denied for another reason: %s", mutate, msg)
		}
	}

	// Control: in an outage the failure mode pins the head that verified.
	down.Store(true)
	resp := receipt.Review(ctx, reviewRequest(t, "Deployment", image), true)
	if !resp.Allowed || !strings.Contains(string(resp.Patch), image+"@"+cur.DigestStr()) {
		t.Fatalf("outage: allowed %v, patch %s, want %s pinned: %+v", resp.Allowed, resp.Patch, cur.DigestStr(), resp.Result)
	}
}
