package attacks

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature"
	"go.yaml.in/yaml/v3"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

var listCorpus = flag.Bool("corpus.list", false, "print the attack corpus as a Markdown table")

// entry is the way an attack reaches a verdict.
type entry string

// Entry points.
const (
	entryVerify      entry = "verify"             // verify.Verifier.Verify (signet verify --key)
	entryPolicy      entry = "verify --policy"    // verify.Engine.Decide
	entryAttestation entry = "verify-attestation" // verify.Verifier.VerifyAttestations
	entryReview      entry = "admission review"   // admission.Webhook.Review on a manifest
	entryWebhook     entry = "admission webhook"  // the HTTP webhook, /validate and /mutate
	entryFallback    entry = "admission failure mode"
	entryGate        entry = "gate"
	entryReceipt     entry = "receipt"
	entryInspect     entry = "inspect"
	entryTagHead     entry = "signed tag heads"
	entryKeys        entry = "keys"
	entryAttest      entry = "attest"
	entryReferrers   entry = "referrers listing" // oci.Client.Referrers, what every entry point lists
)

// verdict is what an entry point answered.
type verdict struct {
	allowed bool
	class   string
	reason  string
}

// expect is what a row must get: a refusal with a class and a reason
// (substring), or, for a control, an allowed verdict.
type expect struct {
	allowed bool
	class   string
	reason  string
}

func refused(class verify.Class, reason string) expect {
	return expect{class: string(class), reason: reason}
}

// refusedAs is refused with a class that is not one of verify's (a gate
// state, a taghead class, an entry point's own).
func refusedAs(class, reason string) expect { return expect{class: class, reason: reason} }

func allowed() expect { return expect{allowed: true} }

// row is one attack (or control).
type row struct {
	name  string
	entry entry
	// fallbackOnly runs the row against a registry without the referrers
	// API (signatures in the fallback tag).
	fallbackOnly bool
	run          func(w *world) verdict
	want         expect
}

var corpus []row

// register adds rows to the corpus (from each area file's init).
func register(rows ...row) { corpus = append(corpus, rows...) }

func TestCorpus(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range corpus {
		if seen[r.name] {
			t.Fatalf("two rows are named %q", r.name)
		}
		seen[r.name] = true
	}
	if *listCorpus {
		printCorpus()
	}
	for _, r := range corpus {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, !r.fallbackOnly)
			got := r.run(w)
			check(t, r, got)
		})
	}
}

// TestCorpusSize keeps the corpus from shrinking unnoticed.
func TestCorpusSize(t *testing.T) {
	attacks := 0
	for _, r := range corpus {
		if !r.want.allowed {
			attacks++
		}
	}
	if len(corpus) < 120 || attacks < 100 {
		t.Errorf("the corpus has %d rows (%d attacks); it must keep at least 120 rows and 100 attacks", len(corpus), attacks)
	}
}

func check(t *testing.T, r row, got verdict) {
	t.Helper()
	switch {
	case r.want.allowed && !got.allowed:
		t.Errorf("[%s] control refused: want allowed, got %s: %s", r.entry, got.class, got.reason)
	case r.want.allowed:
	case got.allowed:
		t.Errorf("[%s] ATTACK ACCEPTED: want refused as %s (%q)", r.entry, r.want.class, r.want.reason)
	case got.class != r.want.class:
		t.Errorf("[%s] refused with class %q, want %q; reason: %s", r.entry, got.class, r.want.class, got.reason)
	case !strings.Contains(got.reason, r.want.reason):
		t.Errorf("[%s] refused as %s, but the reason does not say %q:\n  %s", r.entry, got.class, r.want.reason, got.reason)
	}
}

func printCorpus() {
	rows := append([]row(nil), corpus...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].entry < rows[j].entry })
	fmt.Println("| # | entry point | attack | expected | reason says |")
	fmt.Println("|---|---|---|---|---|")
	for i, r := range rows {
		want := "allowed (control)"
		if !r.want.allowed {
			want = "refused: " + r.want.class
		}
		fmt.Printf("| %d | %s | %s | %s | %s |\n", i+1, r.entry, r.name, want, strings.ReplaceAll(r.want.reason, "|", "\\|"))
	}
}

// world is one fresh registry and the keys a row plays with.
type world struct {
	t       *testing.T
	reg     *registrytest.Registry
	client  *oci.Client
	dir     string
	signers map[string]*sign.Signer
	svs     map[string]signature.SignerVerifier // the signers' keys
	pubs    map[string][]byte
	ctx     context.Context
	// outage, when set, makes the registry answer 503 to everything.
	outage atomic.Bool
}

// keyNames are the keys of every world: release and second are trusted by
// the rows' policies, attacker never is, gate signs receipts.
var keyNames = []string{"release", "second", "attacker", "gate"}

func newWorld(t *testing.T, referrers bool) *world {
	t.Helper()
	w := &world{t: t, client: oci.New(oci.WithRetries(1)), dir: t.TempDir(),
		signers: map[string]*sign.Signer{}, svs: map[string]signature.SignerVerifier{}, pubs: map[string][]byte{}, ctx: context.Background()}
	w.reg = registrytest.NewWrapped(t, referrers, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if w.outage.Load() {
				http.Error(rw, "registry outage (the row's)", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(rw, r)
		})
	})
	for _, n := range keyNames {
		priv, err := keys.Generate(keys.ECDSAP256)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := keys.PublicKeyPEM(priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		w.write(n+".pub", pub)
		w.pubs[n] = pub
		sv, err := keys.SignerVerifier(priv)
		if err != nil {
			t.Fatal(err)
		}
		w.svs[n] = sv
		if w.signers[n], err = sign.New(sv, w.client); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// write puts a file in the world's directory (where policies live).
func (w *world) write(name string, data []byte) string {
	w.t.Helper()
	p := filepath.Join(w.dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		w.t.Fatal(err)
	}
	return p
}

// ref is repoTag (or repo@digest) in the world's registry.
func (w *world) ref(repoTag string) string { return w.reg.Host + "/" + repoTag }

// image pushes a new random image to repoTag and returns its digest reference.
func (w *world) image(repoTag string) name.Digest {
	w.t.Helper()
	return w.reg.PushImage(w.t, repoTag)
}

// sign signs image with who's key (annotations optional).
func (w *world) sign(who, image string, annotations ...map[string]string) {
	w.t.Helper()
	req := sign.Request{}
	if len(annotations) > 0 {
		req.Annotations = annotations[0]
	}
	if _, err := w.signers[who].SignImage(w.ctx, image, req); err != nil {
		w.t.Fatal(err)
	}
}

// attest attaches an attestation of predicate type typ signed by who.
func (w *world) attest(who, image, typ string, predicate []byte) {
	w.t.Helper()
	if _, err := attest.New(w.signers[who], w.client).AttestImage(w.ctx, image, attest.Request{Type: typ, Predicate: predicate}); err != nil {
		w.t.Fatal(err)
	}
}

// attestStatement signs and attaches a whole in-toto statement by who.
func (w *world) attestStatement(who, image string, statement []byte) {
	w.t.Helper()
	if _, err := attest.New(w.signers[who], w.client).AttestImage(w.ctx, image, attest.Request{Statement: statement}); err != nil {
		w.t.Fatal(err)
	}
}

// attachBundle attaches a raw bundle to image as a signature referrer.
func (w *world) attachBundle(image string, bundle []byte, predicateType string) {
	w.t.Helper()
	t, err := w.client.Resolve(w.ctx, image)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.client.AttachBundle(w.ctx, t, bundle, sign.BundleAnnotations(predicateType, time.Now())); err != nil {
		w.t.Fatal(err)
	}
}

// policy compiles doc (REG replaced by the registry host; key files
// relative to the world's directory).
func (w *world) policy(doc string) *policy.Compiled {
	w.t.Helper()
	c, err := policy.Compile([]byte(strings.ReplaceAll(doc, "REG", w.reg.Host)), w.dir, keys.Loader{})
	if err != nil {
		w.t.Fatalf("compiling the row's policy: %v", err)
	}
	return c
}

// engine builds a policy engine for doc.
func (w *world) engine(doc string, opts ...verify.EngineOption) *verify.Engine {
	w.t.Helper()
	e, err := verify.NewEngine(w.client, w.policy(doc), opts...)
	if err != nil {
		w.t.Fatal(err)
	}
	return e
}

// decide asks a fresh engine for doc about image.
func (w *world) decide(doc, image string, opts ...verify.EngineOption) verdict {
	w.t.Helper()
	return decision(w.engine(doc, opts...).Decide(w.ctx, image))
}

func decision(d *verify.Decision) verdict {
	return verdict{allowed: d.Allowed, class: string(d.Class), reason: d.Reason}
}

// verifier trusts the named keys (default release).
func (w *world) verifier(trusted ...string) *verify.Verifier {
	w.t.Helper()
	if len(trusted) == 0 {
		trusted = []string{"release"}
	}
	var ks []verify.Key
	for _, n := range trusted {
		pub, err := keys.ParsePublicKey(w.pubs[n])
		if err != nil {
			w.t.Fatal(err)
		}
		ks = append(ks, verify.Key{Name: n + ".pub", PublicKey: pub})
	}
	v, err := verify.New(w.client, ks)
	if err != nil {
		w.t.Fatal(err)
	}
	return v
}

// verify is signet verify --key (release.pub by default).
func (w *world) verify(image string, req verify.Request, trusted ...string) verdict {
	w.t.Helper()
	_, err := w.verifier(trusted...).Verify(w.ctx, image, req)
	return verifyVerdict(err)
}

// verifyAttestation is signet verify-attestation --key (release.pub by default).
func (w *world) verifyAttestation(image string, req verify.AttestationRequest, trusted ...string) verdict {
	w.t.Helper()
	_, err := w.verifier(trusted...).VerifyAttestations(w.ctx, image, req)
	return verifyVerdict(err)
}

// verifyVerdict classes a Verifier's error the way the CLI's exit codes do.
func verifyVerdict(err error) verdict {
	v := verdict{allowed: err == nil}
	if err == nil {
		return v
	}
	v.reason = err.Error()
	switch {
	case errors.Is(err, oci.ErrNotFound):
		v.class = string(verify.ClassNotFound)
	case errors.Is(err, oci.ErrRegistry):
		v.class = string(verify.ClassTransient)
	case errors.Is(err, verify.ErrNoValidSignature):
		v.class = string(verify.ClassInvalid)
	case errors.Is(err, verify.ErrNoSignatures):
		v.class = string(verify.ClassNotFound)
	default:
		v.class = "error"
	}
	return v
}

// review answers a workload manifest (YAML or JSON) as the webhook would,
// with the engine for doc.
func (w *world) review(doc, manifest string, mutate bool, opts ...admission.Option) verdict {
	w.t.Helper()
	return w.reviewWith(w.engine(doc, verify.WithCache(100, time.Minute, time.Minute)), manifest, mutate, opts...)
}

func (w *world) reviewWith(d admission.Decider, manifest string, mutate bool, opts ...admission.Option) verdict {
	w.t.Helper()
	obj := toJSON(w.t, strings.ReplaceAll(manifest, "REG", w.reg.Host))
	req, err := admission.ReviewObject(obj)
	if err != nil {
		return verdict{class: "bad-request", reason: err.Error()}
	}
	resp := admission.New(d, opts...).Review(w.ctx, req, mutate)
	v := verdict{allowed: resp.Allowed}
	if resp.Result != nil {
		v.reason = resp.Result.Message
		v.class = "denied"
	}
	return v
}

// toJSON turns one YAML (or JSON) document into JSON.
func toJSON(t *testing.T, doc string) []byte {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("the row's manifest: %v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// podWith is a Pod manifest running image.
func podWith(image string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - {name: c, image: %q}\n", image)
}

// Policies the rows share. REG is the world's registry.
const (
	// releasePolicy: everything in the registry must be signed by release.
	releasePolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/**"
    signers: [{name: release, key: release.pub}]
`
	// thresholdPolicy: REG/team/** needs both release and second.
	thresholdPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    threshold: 2
    signers:
      - {name: release, key: release.pub}
      - {name: second, key: second.pub}
`
)

// now is the world's clock.
func (w *world) now() time.Time { return time.Now() }
