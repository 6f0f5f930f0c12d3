package resilience_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/inspect"
	"github.com/signet-dev/signet/internal/faultproxy"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

type fault struct {
	name      string
	rule      faultproxy.Rule
	transient bool // persistent: the operation must fail, transient-class, in time
}

var (
	manifests = regexp.MustCompile(`/manifests/`)
	// Bodies: blobs, and manifests read by digest or tag (a signer reads
	// the fallback index).
	bodies = regexp.MustCompile(`/blobs/sha256:|/manifests/`)
)

// faults are the rows of the matrix.
var faults = []fault{
	{"500 on manifests, twice", faultproxy.Rule{Kind: faultproxy.Status, Code: 500, Path: manifests, First: 2}, false},
	{"502, twice", faultproxy.Rule{Kind: faultproxy.Status, Code: 502, First: 2}, false},
	{"503, twice", faultproxy.Rule{Kind: faultproxy.Status, Code: 503, First: 2}, false},
	{"429 with Retry-After: 1", faultproxy.Rule{Kind: faultproxy.TooMany, RetryAfter: "1", First: 1}, false},
	{"connection reset, twice", faultproxy.Rule{Kind: faultproxy.Reset, Method: "GET", First: 2}, false},
	{"truncated body", faultproxy.Rule{Kind: faultproxy.Truncate, Method: "GET", Path: bodies, First: 1}, false},
	{"body not matching its digest", faultproxy.Rule{Kind: faultproxy.BadDigest, Method: "GET", Path: bodies, First: 1}, false},
	{"slow bodies", faultproxy.Rule{Kind: faultproxy.SlowBody, Method: "GET", Path: bodies, Delay: 5 * time.Millisecond}, false},
	{"503 always", faultproxy.Rule{Kind: faultproxy.Status, Code: 503}, true},
	{"stall always", faultproxy.Rule{Kind: faultproxy.Stall}, true},
	{"reset always", faultproxy.Rule{Kind: faultproxy.Reset}, true},
}

// deadline bounds every operation; persistent faults must end in it.
const deadline = 4 * time.Second

type world struct {
	reg     *registrytest.Registry
	proxy   *faultproxy.Proxy
	client  *oci.Client // through the proxy
	signer  *sign.Signer
	pub     []byte
	signed  string // a signed image, through the proxy
	policy  *policy.Compiled
	trivial []byte // a CycloneDX SBOM
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{reg: registrytest.New(t, false)} // no referrers API: the fallback tag is exercised
	w.proxy = faultproxy.New(t, w.reg.Host)
	w.client = oci.New()
	priv, _ := keys.Generate(keys.ECDSAP256)
	w.pub, _ = keys.PublicKeyPEM(priv.Public())
	sv, _ := keys.SignerVerifier(priv)
	w.signer, _ = sign.New(sv, w.client)
	d := w.reg.PushImage(t, "team/app:v1")
	w.signed = w.proxy.Host + "/team/app@" + d.DigestStr()
	if _, err := w.signer.SignImage(context.Background(), w.signed, sign.Request{}); err != nil {
		t.Fatal(err)
	}
	doc := fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    signers: [{name: release, publicKey: %q}]\n", w.proxy.Host+"/**", string(w.pub))
	var err error
	if w.policy, err = policy.Compile([]byte(doc), ".", keys.Loader{}); err != nil {
		t.Fatal(err)
	}
	w.trivial = []byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"library","name":"zlib","version":"1.3.1"}]}`)
	return w
}

// op runs one command's library path and reports its error.
type op struct {
	name string
	run  func(ctx context.Context, t *testing.T, w *world) error
}

var ops = []op{
	{"sign", func(ctx context.Context, t *testing.T, w *world) error {
		d := w.reg.PushImage(t, "team/sign:v1")
		_, err := w.signer.SignImage(ctx, w.proxy.Host+"/team/sign@"+d.DigestStr(), sign.Request{})
		return err
	}},
	{"attest", func(ctx context.Context, t *testing.T, w *world) error {
		d := w.reg.PushImage(t, "team/attest:v1")
		_, err := attest.New(w.signer, w.client).AttestImage(ctx, w.proxy.Host+"/team/attest@"+d.DigestStr(), attest.Request{Type: "cyclonedx", Predicate: w.trivial})
		return err
	}},
	{"verify", func(ctx context.Context, t *testing.T, w *world) error {
		v, err := verify.New(w.client, []verify.Key{{Name: "release", PublicKey: mustPub(t, w.pub)}})
		if err != nil {
			return err
		}
		_, err = v.Verify(ctx, w.signed, verify.Request{})
		return err
	}},
	{"inspect", func(ctx context.Context, t *testing.T, w *world) error {
		rep, err := inspect.Inspect(ctx, w.client, w.signed, inspect.Options{})
		if err != nil {
			return err
		}
		if rep.Subject.Error != "" {
			return fmt.Errorf("%w: %s", oci.ErrRegistry, rep.Subject.Error)
		}
		for _, a := range rep.Subject.Artifacts {
			if a.Unreadable != "" {
				return fmt.Errorf("unreadable: %s", a.Unreadable)
			}
		}
		if len(rep.Subject.Artifacts) == 0 {
			return errors.New("no artifacts shown")
		}
		return nil
	}},
	{"admission review", func(ctx context.Context, t *testing.T, w *world) error {
		eng, err := verify.NewEngine(w.client, w.policy)
		if err != nil {
			return err
		}
		wh := admission.New(eng, admission.WithBudget(deadline-time.Second))
		pod, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "x"},
			"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": w.signed}}}})
		resp := wh.Review(ctx, &admissionv1.AdmissionRequest{UID: "u", Kind: metav1.GroupVersionKind{Kind: "Pod"}, Object: runtime.RawExtension{Raw: pod}}, false)
		if resp.Allowed {
			return nil
		}
		if strings.Contains(resp.Result.Message, "[transient]") {
			return fmt.Errorf("%w: %s", oci.ErrRegistry, resp.Result.Message)
		}
		return errors.New(resp.Result.Message)
	}},
}

func mustPub(t *testing.T, pem []byte) any {
	t.Helper()
	k, err := keys.ParsePublicKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type cell struct{ fault, op, outcome string }

// TestFaultMatrix: each fault × each operation gives the documented outcome:
// a passing fault is retried through (success), a persistent one ends in a
// transient-class error (oci.ErrRegistry, or the webhook's [transient]
// denial) within the deadline — never a verdict about signatures.
func TestFaultMatrix(t *testing.T) {
	var mu sync.Mutex
	var table []cell
	for _, f := range faults {
		for _, o := range ops {
			t.Run(f.name+"/"+o.name, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t)
				w.proxy.Set(f.rule)
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				defer cancel()
				start := time.Now()
				err := o.run(ctx, t, w)
				took := time.Since(start)
				outcome := "success after retry"
				switch {
				case !f.transient && err != nil:
					t.Fatalf("%s under %q: %v (want success after retry)", o.name, f.name, err)
				case f.transient && err == nil:
					t.Fatalf("%s under %q succeeded", o.name, f.name)
				case f.transient && !errors.Is(err, oci.ErrRegistry) && !errors.Is(err, context.DeadlineExceeded):
					t.Fatalf("%s under %q: %v is not a transient (registry) error", o.name, f.name, err)
				case f.transient:
					outcome = fmt.Sprintf("transient error in %.1fs", took.Seconds())
				}
				if took > deadline+time.Second {
					t.Fatalf("%s under %q took %s", o.name, f.name, took)
				}
				if !f.transient && w.proxy.Faults() == 0 {
					t.Fatalf("%s under %q: no fault was injected", o.name, f.name)
				}
				w.proxy.Set()
				checkNoHalfWritten(t, w)
				mu.Lock()
				table = append(table, cell{f.name, o.name, outcome})
				mu.Unlock()
			})
		}
	}
	t.Cleanup(func() {
		sort.Slice(table, func(i, j int) bool { return table[i].fault+table[i].op < table[j].fault+table[j].op })
		var b strings.Builder
		for _, c := range table {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", c.fault, c.op, c.outcome)
		}
		t.Logf("fault matrix:\n%s", b.String())
	})
}

// checkNoHalfWritten: every fallback-tag index in the registry names only
// manifests that exist, and names each at most once.
func checkNoHalfWritten(t *testing.T, w *world) {
	t.Helper()
	ctx := context.Background()
	for _, repo := range []string{"team/app", "team/sign", "team/attest"} {
		tags, err := listTags(w.reg.Host + "/" + repo)
		if err != nil {
			continue
		}
		for _, tag := range tags {
			if !strings.HasPrefix(tag, "sha256-") || strings.Contains(tag, ".") {
				continue
			}
			raw, _, err := w.client.Manifest(ctx, w.reg.Host+"/"+repo+":"+tag)
			if err != nil {
				t.Fatalf("fallback tag %s:%s unreadable: %v", repo, tag, err)
			}
			var idx struct {
				Manifests []struct{ Digest string }
			}
			json.Unmarshal(raw, &idx)
			seen := map[string]bool{}
			for _, m := range idx.Manifests {
				if seen[m.Digest] {
					t.Fatalf("%s:%s names %s twice", repo, tag, m.Digest)
				}
				seen[m.Digest] = true
				if _, _, err := w.client.Manifest(ctx, w.reg.Host+"/"+repo+"@"+m.Digest); err != nil {
					t.Fatalf("%s:%s names %s, which does not exist: %v", repo, tag, m.Digest, err)
				}
			}
		}
	}
}

func listTags(repo string) ([]string, error) {
	r, err := name.NewRepository(repo)
	if err != nil {
		return nil, err
	}
	return remote.List(r)
}

// TestSignRerunAfterFailure: the registry refuses the fallback-index write
// (the last step of attaching a signature); the signature is then not
// listed anywhere, the index names nothing missing, and running sign again
// succeeds with one entry, which verifies.
func TestSignRerunAfterFailure(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	d := w.reg.PushImage(t, "team/sign:v1")
	ref := w.proxy.Host + "/team/sign@" + d.DigestStr()
	w.proxy.Set(faultproxy.Rule{Kind: faultproxy.Status, Code: 503, Method: "PUT", Path: regexp.MustCompile(`/manifests/sha256-`)})
	if _, err := w.signer.SignImage(ctx, ref, sign.Request{}); !errors.Is(err, oci.ErrRegistry) {
		t.Fatalf("sign with the index write refused: %v", err)
	}
	checkNoHalfWritten(t, w)
	w.proxy.Set()
	if _, err := w.signer.SignImage(ctx, ref, sign.Request{}); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	checkNoHalfWritten(t, w)
	raw, _, err := w.client.Manifest(ctx, w.reg.Host+"/team/sign:"+oci.FallbackTag(d).TagStr())
	if err != nil {
		t.Fatal(err)
	}
	var idx struct{ Manifests []json.RawMessage }
	json.Unmarshal(raw, &idx)
	if len(idx.Manifests) != 1 {
		t.Fatalf("index has %d entries after the re-run, want 1", len(idx.Manifests))
	}
	v, _ := verify.New(w.client, []verify.Key{{Name: "release", PublicKey: mustPub(t, w.pub)}})
	if _, err := v.Verify(ctx, ref, verify.Request{}); err != nil {
		t.Fatal(err)
	}
}
