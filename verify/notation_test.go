package verify_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/internal/notarytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/notary"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// notationWorld is the engine test world with Notation PKIs: "security"
// (CA security-ca, leaf CN=security) and "rogue" (another CA, same leaf
// subject), their CAs written as PEM files next to the policy.
type notationWorld struct {
	*world
	pki map[string]*notarytest.PKI
}

func newNotationWorld(t *testing.T) *notationWorld {
	t.Helper()
	w := &notationWorld{world: newWorld(t), pki: map[string]*notarytest.PKI{}}
	for _, n := range []string{"security", "rogue"} {
		p := notarytest.New(t, n+"-ca", "security")
		w.pki[n] = p
		if err := os.WriteFile(filepath.Join(w.dir, n+"-ca.pem"), notarytest.PEM(p.CA), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// notationSign signs image in Notation's format with pki's leaf.
func (w *notationWorld) notationSign(t *testing.T, pki, envelope, image string) {
	t.Helper()
	p := w.pki[pki]
	s, err := sign.NewNotation(p.Key, p.Chain, w.client, notary.SignOptions{Envelope: envelope})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignImage(context.Background(), image, sign.Request{}); err != nil {
		t.Fatal(err)
	}
}

const notationPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    threshold: THRESHOLD
    transparencyLog: TLOG
    signers:
      - name: release
        key: alice.pub
      - name: security
        notation: {trustStore: security-ca.pem, subject: "CN=security,O=Acme,ST=WA,C=US"}
`

func (w *notationWorld) notationEngine(t *testing.T, threshold, tlog string) *verify.Engine {
	doc := strings.NewReplacer("THRESHOLD", threshold, "TLOG", tlog).Replace(notationPolicy)
	return w.engine(t, doc)
}

// TestNotationAcrossFormats: one policy over cosign and Notation
// signatures — a threshold of two distinct principals across the formats
// passes with both, fails naming what is missing without either, and the
// evidence names format, principal and layout.
func TestNotationAcrossFormats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newNotationWorld(t)
	both := w.reg.PushImage(t, "team/app:both").String()
	w.sign(t, "alice", both)
	w.notationSign(t, "security", "jws", both)
	cosignOnly := w.reg.PushImage(t, "team/app:cosign").String()
	w.sign(t, "alice", cosignOnly)
	notationOnly := w.reg.PushImage(t, "team/app:notation").String()
	w.notationSign(t, "security", "cose", notationOnly)
	rogue := w.reg.PushImage(t, "team/app:rogue").String()
	w.sign(t, "alice", rogue)
	w.notationSign(t, "rogue", "jws", rogue)

	e := w.notationEngine(t, "2", "optional")
	d := e.Decide(ctx, both)
	if !d.Allowed {
		t.Fatalf("cosign + Notation, threshold 2: %s", d.Reason)
	}
	// The signers are named in the policy's order whatever order the
	// registry lists the signatures in (by digest here: six images make
	// both orders all but certain).
	for i := range 6 {
		img := w.reg.PushImage(t, fmt.Sprintf("team/app:order-%d", i)).String()
		w.notationSign(t, "security", "jws", img)
		w.sign(t, "alice", img)
		if d := e.Decide(ctx, img); !d.Allowed || !slices.ContainsFunc(d.Checks, func(c verify.PolicyCheck) bool {
			return c.Message == "2 of 2 required signers: release, security"
		}) {
			t.Fatalf("image %d: signers not in the policy's order: %+v", i, d.Checks)
		}
	}
	formats := map[string]string{}
	for _, c := range d.Checks {
		if c.Name == "signatures" {
			for _, ev := range c.Evidence {
				formats[ev.Signer] = ev.Format + " " + ev.Layout
			}
		}
	}
	if formats["release"] != "sigstore-bundle referrers-api" || formats["security"] != "notation referrers-api" {
		t.Fatalf("evidence: %v", formats)
	}
	for img, want := range map[string]string{cosignOnly: "1 of 2 required signers: release", notationOnly: "1 of 2 required signers: security"} {
		if d := e.Decide(ctx, img); d.Allowed || d.Class != verify.ClassPolicyDenied || !strings.Contains(d.Reason, want) {
			t.Fatalf("%s: allowed=%v %s %s", img, d.Allowed, d.Class, d.Reason)
		}
	}
	d = e.Decide(ctx, rogue)
	t.Logf("another CA: %s", d.Reason)
	if d.Allowed || !strings.Contains(d.Reason, "security: ") || !strings.Contains(d.Reason, "trust store") {
		t.Fatalf("a certificate from another CA with the same subject: allowed=%v %s", d.Allowed, d.Reason)
	}
	// Threshold 1: the Notation signature alone is enough.
	if d := w.notationEngine(t, "1", "optional").Decide(ctx, notationOnly); !d.Allowed {
		t.Fatalf("Notation only, threshold 1: %s", d.Reason)
	}
	// transparencyLog required: a Notation signature never has an entry.
	d = w.notationEngine(t, "1", "required").Decide(ctx, notationOnly)
	if d.Allowed || !strings.Contains(d.Reason, "carries no transparency-log entry") {
		t.Fatalf("Notation under transparencyLog required: allowed=%v %s", d.Allowed, d.Reason)
	}
}

// TestNotationSignerCountsOnce: one Notation signer whom two principals
// accept (any certificate of the CA, and its named subject) signing in both
// envelopes is one signer, and does not meet a threshold of two.
func TestNotationSignerCountsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newNotationWorld(t)
	img := w.reg.PushImage(t, "team/app:twice").String()
	w.notationSign(t, "security", "jws", img)
	w.notationSign(t, "security", "cose", img)
	e := w.engine(t, `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    threshold: 2
    signers:
      - name: anyone-certified
        notation: {trustStore: security-ca.pem}
      - name: security
        notation: {trustStore: security-ca.pem, subject: "CN=security,O=Acme,ST=WA,C=US"}
`)
	d := e.Decide(ctx, img)
	if d.Allowed || !strings.Contains(d.Reason, "1 of 2 required signers") {
		t.Fatalf("one signer, two envelopes, two overlapping principals: allowed=%v %s", d.Allowed, d.Reason)
	}
}

// TestNotationSignatureMovedToAnotherImage: a Notation signature copied
// onto another image (its referrer manifest re-pointed) names the first
// image's descriptor and is refused.
func TestNotationSignatureMovedToAnotherImage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newNotationWorld(t)
	signed := w.reg.PushImage(t, "team/app:signed")
	other := w.reg.PushImage(t, "team/app:other")
	w.notationSign(t, "security", "jws", signed.String())
	arts, err := w.client.Discover(ctx, mustResolve(t, w, signed))
	if err != nil || len(arts) != 1 {
		t.Fatalf("discover: %v %d", err, len(arts))
	}
	if _, err := w.client.AttachNotation(ctx, mustResolve(t, w, other), arts[0].Content, arts[0].MediaType, nil); err != nil {
		t.Fatal(err)
	}
	d := w.notationEngine(t, "1", "optional").Decide(ctx, other.String())
	t.Logf("moved: %s", d.Reason)
	if d.Allowed || d.Class != verify.ClassInvalid || !strings.Contains(d.Reason, "security: ") {
		t.Fatalf("moved Notation signature: allowed=%v %s %s", d.Allowed, d.Class, d.Reason)
	}
}

// TestNotationRevokedKey: a recall list revoking the Notation leaf's key
// refuses its signature when no trusted time places it before the
// revocation (these signatures carry no timestamp).
func TestNotationRevokedKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newNotationWorld(t)
	img := w.reg.PushImage(t, "team/app:revoked").String()
	w.notationSign(t, "security", "jws", img)
	id, err := keys.ID(w.pki["security"].Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	r, err := policy.ParseRecalls([]byte("apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: 1\nkeys: [{keyId: \"" + id + "\", revokedFrom: 2020-01-01T00:00:00Z, reason: leaked}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.NewReplacer("THRESHOLD", "1", "TLOG", "optional").Replace(notationPolicy)
	d := w.engine(t, doc, verify.WithEngineRecalls(r)).Decide(ctx, img)
	if d.Allowed || d.Class != verify.ClassRevoked || !strings.Contains(d.Reason, "leaked") {
		t.Fatalf("revoked Notation key: allowed=%v %s %s", d.Allowed, d.Class, d.Reason)
	}
}

func mustResolve(t *testing.T, w *notationWorld, d name.Digest) *oci.Target {
	t.Helper()
	tg, err := w.client.Resolve(context.Background(), d.String())
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// TestNotationOneSubjectTwoCAsCountsOnce: attack — one party holding
// certificates for one subject from two CAs, each CA a principal of its
// own, signs twice to meet a threshold of two alone. The CA vouches for
// the subject (as Fulcio for a keyless identity); it does not make a
// second signer.
func TestNotationOneSubjectTwoCAsCountsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newNotationWorld(t)
	img := w.reg.PushImage(t, "team/app:twocas").String()
	w.notationSign(t, "security", "jws", img)
	w.notationSign(t, "rogue", "cose", img)
	d := w.engine(t, `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    threshold: 2
    signers:
      - name: internal-ca
        notation: {trustStore: security-ca.pem}
      - name: partner-ca
        notation: {trustStore: rogue-ca.pem}
`).Decide(ctx, img)
	if d.Allowed || !strings.Contains(d.Reason, "1 of 2 required signers") {
		t.Fatalf("one subject certified by two CAs met a threshold of two: allowed=%v %s", d.Allowed, d.Reason)
	}
}

// TestNotationKeyAlsoCosignKeyCountsOnce: attack — the key of a trusted
// cosign signer, certified by a CA another principal trusts, signs once as
// cosign and once as Notation: one key is one signer in any format.
func TestNotationKeyAlsoCosignKeyCountsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newNotationWorld(t)
	p := w.pki["security"]
	pub, err := keys.PublicKeyPEM(p.Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.dir, "dave.pub"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	sv, err := keys.SignerVerifier(p.Key)
	if err != nil {
		t.Fatal(err)
	}
	cosign, err := sign.New(sv, w.client)
	if err != nil {
		t.Fatal(err)
	}
	img := w.reg.PushImage(t, "team/app:onekey").String()
	if _, err := cosign.SignImage(ctx, img, sign.Request{}); err != nil {
		t.Fatal(err)
	}
	w.notationSign(t, "security", "jws", img)
	d := w.engine(t, `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    threshold: 2
    signers:
      - name: dave
        key: dave.pub
      - name: anyone-certified
        notation: {trustStore: security-ca.pem}
`).Decide(ctx, img)
	if d.Allowed || !strings.Contains(d.Reason, "1 of 2 required signers") {
		t.Fatalf("one key in two formats met a threshold of two: allowed=%v %s", d.Allowed, d.Reason)
	}
}

// TestNotationCachedPassEndsAtExpiry: attack — a Notation signature that
// notation-go would refuse once its envelope expires (it judges expiry by
// the clock) kept passing from the verdict cache, and from the cache a
// failure mode falls back on, until the cache TTL ran out.
func TestNotationCachedPassEndsAtExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newNotationWorld(t)
	img := w.reg.PushImage(t, "team/app:expiring").String()
	p := w.pki["security"]
	s, err := sign.NewNotation(p.Key, p.Chain, w.client, notary.SignOptions{Expiry: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignImage(ctx, img, sign.Request{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	doc := strings.NewReplacer("THRESHOLD", "1", "TLOG", "optional").Replace(notationPolicy)
	e := w.engine(t, doc, verify.WithEngineClock(func() time.Time { return now }), verify.WithCache(10, 24*time.Hour, time.Minute))
	if d := e.Decide(ctx, img); !d.Allowed {
		t.Fatalf("fresh Notation signature: %s", d.Reason)
	}
	if d := e.Decide(ctx, img); !d.Allowed || !d.Cached {
		t.Fatalf("again at once: want a cached pass, got allowed=%v cached=%v %s", d.Allowed, d.Cached, d.Reason)
	}
	now = now.Add(time.Hour + time.Minute) // past the envelope's expiry, well within the cache TTL
	if d := e.Decide(ctx, img); d.Cached {
		t.Fatalf("past the signature's expiry: want it verified again, got a cached pass (allowed=%v)", d.Allowed)
	}
	if d := e.Fallback(img, "outage", true, true); d.Allowed {
		t.Fatalf("failure mode past the signature's expiry: want refused, got allowed (cached=%v)", d.Cached)
	}
}
