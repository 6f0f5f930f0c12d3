package verify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// receiptPolicy trusts carol's key as the push gate "push-gate" and alice
// as the release signer of prod (images[0]) and dev (images[1]). EXTRA
// goes into the receipts section.
const receiptPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
metadata: {name: admission}
images:
  - pattern: "REG/prod/**"
    signers: [{name: release, key: alice.pub}]
  - pattern: "REG/dev/**"
    signers: [{name: release, key: alice.pub}]
receipts:
  gates: [{name: push-gate, key: carol.pub}]
  maxAge: 24h
  verifierId: https://signet.dev/gate
EXTRA
`

// summary is a verification summary as a gate writes it; the zero value of
// a field means "as the gate would write it for this image".
type summary struct {
	result   string    // PASSED (default) or FAILED
	resource string    // resourceUri; default oci://REPO@DIGEST
	subject  string    // in-toto subject name; default REPO
	policy   string    // policy digest; default the engine's
	rule     string    // policy uri fragment; default #/images/0
	verifier string    // default https://signet.dev/gate
	at       time.Time // timeVerified; default now
	undated  bool      // timeVerified is not a time
}

// receipt signs s about img with who's key and attaches it to each of onto
// (default img itself): copying a referrer to another repository is
// attaching the same signed bundle there.
func (w *world) receipt(t *testing.T, e *verify.Engine, who string, img name.Digest, s summary, onto ...name.Digest) {
	t.Helper()
	repo := img.Context().Name()
	if s.result == "" {
		s.result = "PASSED"
	}
	if s.resource == "" {
		s.resource = "oci://" + repo + "@" + img.DigestStr()
	}
	if s.subject == "" {
		s.subject = repo
	}
	if s.policy == "" {
		s.policy = e.PolicyHash()
	}
	if s.rule == "" {
		s.rule = "#/images/0"
	}
	if s.verifier == "" {
		s.verifier = "https://signet.dev/gate"
	}
	if s.at.IsZero() {
		s.at = time.Now()
	}
	pred, _ := json.Marshal(map[string]any{
		"verifier":           map[string]any{"id": s.verifier},
		"timeVerified":       map[bool]string{false: s.at.UTC().Format(time.RFC3339Nano), true: "yesterday"}[s.undated],
		"resourceUri":        s.resource,
		"policy":             map[string]any{"uri": "signet-policy:admission" + s.rule, "digest": map[string]string{"sha256": s.policy}},
		"verificationResult": s.result,
		"verifiedLevels":     []string{},
	})
	stmt, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": s.subject, "digest": map[string]string{"sha256": strings.TrimPrefix(img.DigestStr(), "sha256:")}}},
		"predicateType": policy.VSAPredicateType,
		"predicate":     json.RawMessage(pred),
	})
	ctx := context.Background()
	b, _, err := w.signers[who].SignStatement(ctx, stmt)
	if err != nil {
		t.Fatal(err)
	}
	if len(onto) == 0 {
		onto = []name.Digest{img}
	}
	for _, d := range onto {
		tg, err := w.client.Resolve(ctx, d.String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.client.AttachBundle(ctx, tg, b, sign.BundleAnnotations(policy.VSAPredicateType, s.at)); err != nil {
			t.Fatal(err)
		}
	}
}

func receiptCheck(d *verify.Decision) verify.PolicyCheck {
	for _, c := range d.Checks {
		if c.Name == "receipt" {
			return c
		}
	}
	return verify.PolicyCheck{}
}

// TestReceiptBinding: a gate's summary stands in for the rule's checks only
// when it is the newest from that gate, PASSED, about this repository and
// digest, decided under this policy and rule, and neither too old nor from
// the future. Every refused receipt leaves the rule's own checks to decide
// (here: the image is unsigned, so it is denied as not-found).
func TestReceiptBinding(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	e := w.engine(t, strings.ReplaceAll(receiptPolicy, "EXTRA", ""))
	now := time.Now()
	repo := func(r string) string { return w.reg.Host + "/" + r }

	type row struct {
		name string
		// receipts attaches summaries about img (in prod/app) or its twin
		// (the same image in dev/app).
		receipts func(t *testing.T, img, twin name.Digest)
		allowed  bool
		message  string // in the receipt check's message
	}
	rows := []row{
		{"control: a PASSED summary of this policy and repository", func(t *testing.T, img, _ name.Digest) {
			w.receipt(t, e, "carol", img, summary{})
		}, true, "gate push-gate verified " + repo("prod/app")},
		{"a dev summary copied onto prod", func(t *testing.T, img, twin name.Digest) {
			w.receipt(t, e, "carol", twin, summary{rule: "#/images/1"}, twin, img)
		}, false, "receipt from gate push-gate refused: it names " + repo("dev/app") + ", not " + repo("prod/app")},
		{"resourceUri names prod, the signed subject names dev", func(t *testing.T, img, _ name.Digest) {
			w.receipt(t, e, "carol", img, summary{subject: repo("dev/app")})
		}, false, "its subject names " + repo("dev/app") + ", not " + repo("prod/app")},
		{"resourceUri names another digest", func(t *testing.T, img, _ name.Digest) {
			w.receipt(t, e, "carol", img, summary{resource: "oci://" + repo("prod/app") + "@sha256:" + strings.Repeat("ab", 32)})
		}, false, "it is about sha256:abababababab"},
		{"resourceUri is not an image reference", func(t *testing.T, img, _ name.Digest) {
			w.receipt(t, e, "carol", img, summary{resource: "https://example.com/elsewhere"})
		}, false, "resourceUri"},
		{"a newer FAILED revokes an older PASSED", func(t *testing.T, img, _ name.Digest) {
			w.receipt(t, e, "carol", img, summary{at: now.Add(-2 * time.Hour)})
			w.receipt(t, e, "carol", img, summary{result: "FAILED", at: now.Add(-time.Hour)})
		}, false, "newest summary"},
		{"control: a newer PASSED after an older FAILED", func(t *testing.T, img, _ name.Digest) {
			w.receipt(t, e, "carol", img, summary{result: "FAILED", at: now.Add(-2 * time.Hour)})
			w.receipt(t, e, "carol", img, summary{at: now.Add(-time.Hour)})
		}, true, "gate push-gate verified"},
		{"a FAILED copied from dev does not revoke prod's PASSED", func(t *testing.T, img, twin name.Digest) {
			w.receipt(t, e, "carol", img, summary{at: now.Add(-2 * time.Hour)})
			w.receipt(t, e, "carol", twin, summary{result: "FAILED", rule: "#/images/1", at: now.Add(-time.Hour)}, twin, img)
		}, true, "gate push-gate verified"},
		{"an untrusted key's FAILED does not count", func(t *testing.T, img, _ name.Digest) {
			w.receipt(t, e, "carol", img, summary{at: now.Add(-2 * time.Hour)})
			w.receipt(t, e, "mallory", img, summary{result: "FAILED", at: now.Add(-time.Hour)})
		}, true, "gate push-gate verified"},
		{"an undated summary cannot be ordered, so it blocks the PASSED", func(t *testing.T, img, _ name.Digest) {
			w.receipt(t, e, "carol", img, summary{at: now.Add(-time.Hour)})
			w.receipt(t, e, "carol", img, summary{undated: true})
		}, false, "its timeVerified cannot be read"},
		{"dated in the future", func(t *testing.T, img, _ name.Digest) {
			w.receipt(t, e, "carol", img, summary{at: now.Add(time.Hour)})
		}, false, "in the future"},
		{"control: within the clock skew", func(t *testing.T, img, _ name.Digest) {
			w.receipt(t, e, "carol", img, summary{at: now.Add(2 * time.Minute)})
		}, true, "gate push-gate verified"},
		{"too old", func(t *testing.T, img, _ name.Digest) {
			w.receipt(t, e, "carol", img, summary{at: now.Add(-48 * time.Hour)})
		}, false, "too old"},
		{"another verifier id", func(t *testing.T, img, _ name.Digest) {
			w.receipt(t, e, "carol", img, summary{verifier: "https://elsewhere.example/gate"})
		}, false, "https://elsewhere.example/gate"},
		{"another policy's digest", func(t *testing.T, img, _ name.Digest) {
			w.receipt(t, e, "carol", img, summary{policy: strings.Repeat("0", 64)})
		}, false, "decided under policy 000000000000"},
		{"another rule of this policy", func(t *testing.T, img, _ name.Digest) {
			w.receipt(t, e, "carol", img, summary{rule: "#/images/1"})
		}, false, "decided under rule images[1]"},
		{"no rule named", func(t *testing.T, img, _ name.Digest) {
			w.receipt(t, e, "carol", img, summary{rule: "#"})
		}, false, "does not say which rule"},
		{"signed by an untrusted key", func(t *testing.T, img, _ name.Digest) {
			w.receipt(t, e, "mallory", img, summary{})
		}, false, "does not verify with any trusted key"},
	}
	for i, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			img, err := random.Image(128, 1)
			if err != nil {
				t.Fatal(err)
			}
			prod := w.reg.Push(t, fmt.Sprintf("prod/app:r%d", i), img)
			dev := w.reg.Push(t, fmt.Sprintf("dev/app:r%d", i), img)
			tc.receipts(t, prod, dev)
			d := e.Decide(ctx, prod.String())
			c := receiptCheck(d)
			if d.Allowed != tc.allowed || !strings.Contains(c.Message, tc.message) {
				t.Fatalf("want allowed=%v and a receipt check saying %q; got allowed=%v, receipt check %q, reason %q",
					tc.allowed, tc.message, d.Allowed, c.Message, d.Reason)
			}
			if !tc.allowed && (d.Class != verify.ClassNotFound || !strings.HasPrefix(d.Reason, "signatures [not-found]")) {
				t.Fatalf("a refused receipt must leave the rule's own checks to decide; got %q", d.Reason)
			}
		})
	}
}

// TestReceiptOtherPolicy: by default only receipts decided under this very
// policy count; listing another policy's digest in receipts.policyDigests
// trusts its receipts too.
func TestReceiptOtherPolicy(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	gatePolicy := strings.Repeat("7", 64)
	own := w.engine(t, strings.ReplaceAll(receiptPolicy, "EXTRA", ""))
	listing := w.engine(t, strings.ReplaceAll(receiptPolicy, "EXTRA", "  policyDigests: ["+gatePolicy+"]"))
	img := w.reg.PushImage(t, "prod/app:v1")
	w.receipt(t, own, "carol", img, summary{policy: gatePolicy, rule: "#/images/3"})

	d := own.Decide(ctx, img.String())
	if c := receiptCheck(d); d.Allowed || !strings.Contains(c.Message, "decided under policy 777777777777") ||
		!strings.Contains(c.Message, "receipts.policyDigests") {
		t.Fatalf("another policy's receipt, not listed: allowed=%v, receipt check %q", d.Allowed, c.Message)
	}
	d = listing.Decide(ctx, img.String())
	if c := receiptCheck(d); !d.Allowed || c.Outcome != verify.Pass {
		t.Fatalf("another policy's receipt, listed in policyDigests: allowed=%v, receipt check %q, reason %q", d.Allowed, c.Message, d.Reason)
	}
	// The listing engine still takes its own policy's receipts.
	mine := w.reg.PushImage(t, "prod/app:v2")
	w.receipt(t, listing, "carol", mine, summary{})
	if d := listing.Decide(ctx, mine.String()); !d.Allowed {
		t.Fatalf("its own policy's receipt, with policyDigests set: %q / %q", receiptCheck(d).Message, d.Reason)
	}
}

// TestReceiptKeyReplaced: replacing a key file next to an unchanged policy
// changes the policy's digest, so receipts decided under the old key no
// longer count.
func TestReceiptKeyReplaced(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	doc := strings.ReplaceAll(receiptPolicy, "EXTRA", "")
	before := w.engine(t, doc)
	img := w.reg.PushImage(t, "prod/app:v1")
	w.receipt(t, before, "carol", img, summary{})
	if d := before.Decide(ctx, img.String()); !d.Allowed {
		t.Fatalf("control, before the key changed: %q / %q", receiptCheck(d).Message, d.Reason)
	}

	mallory, err := os.ReadFile(filepath.Join(w.dir, "mallory.pub"))
	if err != nil {
		t.Fatal(err)
	}
	// A copy of the directory, so the other subtests' key files stay put.
	dir := t.TempDir()
	for _, f := range []string{"alice.pub", "carol.pub"} {
		b, _ := os.ReadFile(filepath.Join(w.dir, f))
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "alice.pub"), mallory, 0o644)
	c, err := policy.Compile([]byte(strings.ReplaceAll(doc, "REG", w.reg.Host)), dir, keys.Loader{})
	if err != nil {
		t.Fatal(err)
	}
	after, err := verify.NewEngine(w.client, c)
	if err != nil {
		t.Fatal(err)
	}
	if after.PolicyHash() == before.PolicyHash() {
		t.Fatalf("the release key file changed but the policy digest did not: %s", after.PolicyHash())
	}
	d := after.Decide(ctx, img.String())
	if c := receiptCheck(d); d.Allowed || !strings.Contains(c.Message, "decided under policy "+before.PolicyHash()[:12]) {
		t.Fatalf("a receipt from before the key changed: allowed=%v, receipt check %q", d.Allowed, c.Message)
	}
}
