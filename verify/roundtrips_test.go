package verify_test

import (
	"context"
	"maps"
	"testing"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/internal/faultproxy"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// TestRoundTrips counts the registry requests one cold verification makes
// (a new client: its /v2/ ping included), by kind, as the registry sees
// them through a counting proxy. They are the guard that keeps round trips
// the protocol does not require from creeping back: a change that adds one
// fails here, and one that removes one updates the table (and
// docs/registry-round-trips.md's critical paths).
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, referrers := range []bool{true, false} {
		w := newWorldAt(t, registrytest.New(t, referrers))
		d := w.reg.PushImage(t, "team/app:v1")
		w.sign(t, "alice", d.String())
		plain := w.reg.PushImage(t, "team/plain:v1")
		if _, err := w.plainSigners["alice"].SignImage(ctx, plain.String(), sign.Request{}); err != nil {
			t.Fatal(err)
		}
		a := w.reg.PushImage(t, "team/attested:v1")
		w.sign(t, "alice", a.String())
		w.attest(t, "alice", a.String(), "cyclonedx", "sbom.cdx.json")
		// Signed by cosign v2's .sig tag only.
		l := w.reg.PushImage(t, "team/legacy:v1")
		if _, err := w.signers["alice"].SignImage(ctx, l.String(), sign.Request{Layout: sign.LayoutLegacy}); err != nil {
			t.Fatal(err)
		}
		// A referrer signature that does not verify (made for another
		// digest), and a good one in the .sig tag.
		mixed := w.reg.PushImage(t, "team/mixed:v1")
		w.badSignature(t, "alice", mixed)
		if _, err := w.signers["alice"].SignImage(ctx, mixed.String(), sign.Request{Layout: sign.LayoutLegacy}); err != nil {
			t.Fatal(err)
		}
		// Signed by two signers, in the referrers.
		two := w.reg.PushImage(t, "team/two:v1")
		w.sign(t, "alice", two.String())
		w.sign(t, "bob", two.String())
		p := faultproxy.New(t, w.reg.Host)
		via := func(ref string) string { return p.Host + ref[len(w.reg.Host):] }
		verifier := func(c *oci.Client) *verify.Verifier {
			v, err := verify.New(c, []verify.Key{{Name: "alice", PublicKey: w.signers["alice"].PublicKey()}})
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		type tc struct {
			name string
			run  func(c *oci.Client) error
			want map[string]int
		}
		cases := []tc{{
			name: "verify a digest",
			run: func(c *oci.Client) error {
				_, err := verifier(c).Verify(ctx, via(d.String()), verify.Request{})
				return err
			},
		}, {
			name: "verify a digest signed in cosign's shape, bundle not embedded",
			run: func(c *oci.Client) error {
				_, err := verifier(c).Verify(ctx, via(plain.String()), verify.Request{})
				return err
			},
		}, {
			name: "verify a tag",
			run: func(c *oci.Client) error {
				_, err := verifier(c).Verify(ctx, via(w.reg.Host+"/team/app:v1"), verify.Request{})
				return err
			},
		}, {
			name: "verify one attestation",
			run: func(c *oci.Client) error {
				_, err := verifier(c).VerifyAttestations(ctx, via(a.String()), verify.AttestationRequest{PredicateType: attest.PredicateCycloneDX})
				return err
			},
		}, {
			name: "policy engine, a tag",
			run: func(c *oci.Client) error {
				return decided(t, w, c, via(w.reg.Host+"/team/app:v1"), "")
			},
		}, {
			name: "policy engine, a digest with a signature and one attestation",
			run: func(c *oci.Client) error {
				return decided(t, w, c, via(a.String()), "    attestations: [{predicateType: cyclonedx}]\n")
			},
		}, {
			name: "policy engine, a tag signed in the legacy .sig tag",
			run: func(c *oci.Client) error {
				return decided(t, w, c, via(w.reg.Host+"/team/legacy:v1"), "")
			},
		}, {
			name: "policy engine, a tag whose referrer signature is refused, signed in the .sig tag",
			run: func(c *oci.Client) error {
				return decided(t, w, c, via(w.reg.Host+"/team/mixed:v1"), "")
			},
		}, {
			name: "policy engine, a tag, two signers required",
			run: func(c *oci.Client) error {
				return decidedBy(t, w, c, via(w.reg.Host+"/team/two:v1"),
					"    signers: [{name: alice, key: alice.pub}, {name: bob, key: bob.pub}]\n    threshold: 2\n")
			},
		}}
		for _, c := range cases {
			name := c.name + map[bool]string{true: ", referrers API", false: ", fallback tag"}[referrers]
			p.ResetCounts()
			if err := c.run(oci.New()); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got := p.Counts()
			t.Logf("%s: %d requests %v", name, p.Total(), got)
			want := roundTrips[name]
			if d := got["GET manifest"] - want["GET manifest"]; referrers && (d == -1 || d == 1) {
				// The fallback tag read beside the API (counted in want)
				// is cancelled when the API answers first: the registry
				// may not see it, or see it late, counted with the next
				// case's requests.
				got["GET manifest"] = want["GET manifest"]
			}
			if !maps.Equal(got, want) {
				t.Errorf("%s: the registry saw %v, want %v", name, p.Counts(), want)
			}
		}
	}
}

// decided runs a cold engine (no cache, a new client) on one image under a
// rule signed by alice (with extra rule lines) and fails unless it allows.
func decided(t *testing.T, w *world, c *oci.Client, image, extra string) error {
	t.Helper()
	return decidedBy(t, w, c, image, "    signers: [{name: alice, key: alice.pub}]\n"+extra)
}

// decidedBy is decided with the rule's lines (after its pattern) given.
func decidedBy(t *testing.T, w *world, c *oci.Client, image, rule string) error {
	t.Helper()
	doc := "apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: \"**\"\n" + rule
	e := w.engineWith(t, c, doc)
	if d := e.Decide(context.Background(), image); !d.Allowed {
		t.Fatalf("%s: refused: %s", image, d.Reason)
	}
	return nil
}

// roundTrips are the requests each case makes, by kind. The critical path
// (the requests one after another) is in docs/registry-round-trips.md.
var roundTrips = map[string]map[string]int{
	// /v2/ once per client and repository; the referrers list, then the
	// signature's manifest, which embeds its bundle (Signet embeds bundles
	// up to oci.DefaultEmbedMax; cosign does not: the next case). A
	// client's first listing on a
	// registry reads the referrers fallback tag at once beside the API (one
	// GET manifest more where the API answers, one round trip less where it
	// does not; oci.referrersOrFallback).
	"verify a digest, referrers API": {"ping": 1, "GET referrers": 1, "GET manifest": 2},
	// A bundle only in its blob, as cosign writes it: one GET blob more.
	"verify a digest signed in cosign's shape, bundle not embedded, referrers API": {"ping": 1, "GET referrers": 1, "GET manifest": 2, "GET blob": 1},
	// The tag is resolved first (HEAD), then as a digest.
	"verify a tag, referrers API": {"ping": 1, "HEAD manifest": 1, "GET referrers": 1, "GET manifest": 2},
	// Both referrers (signature and attestation) read at once, and the
	// legacy .att tag beside them; the digest is not resolved.
	"verify one attestation, referrers API": {"ping": 1, "GET referrers": 1, "GET manifest": 4},
	// A rule of one signer met in the referrers does not read the legacy
	// .sig tag (one GET manifest fewer than it did).
	"policy engine, a tag, referrers API": {"ping": 1, "HEAD manifest": 1, "GET referrers": 1, "GET manifest": 2},
	// A digest is resolved (the engine needs its media type) while its
	// referrers and the .att tag are read.
	"policy engine, a digest with a signature and one attestation, referrers API": {"ping": 1, "HEAD manifest": 1, "GET referrers": 1, "GET manifest": 4},
	// Nothing in the referrers: the .sig tag is read after them.
	"policy engine, a tag signed in the legacy .sig tag, referrers API": {"ping": 1, "HEAD manifest": 1, "GET referrers": 1, "GET manifest": 2, "GET blob": 1},
	// The referrers do not pass it: the .sig tag is read after them (its
	// simple-signing payload is a blob).
	"policy engine, a tag whose referrer signature is refused, signed in the .sig tag, referrers API": {"ping": 1, "HEAD manifest": 1, "GET referrers": 1, "GET manifest": 3, "GET blob": 1},
	// A threshold of two reads the .sig tag at once, with the referrers.
	"policy engine, a tag, two signers required, referrers API": {"ping": 1, "HEAD manifest": 1, "GET referrers": 1, "GET manifest": 4},
	// Without the referrers API: its 404 (once per client and registry)
	// and, at the same time, the fallback tag's index (one more GET
	// manifest).
	"verify a digest, fallback tag":                                                                  {"ping": 1, "GET referrers": 1, "GET manifest": 2},
	"verify a digest signed in cosign's shape, bundle not embedded, fallback tag":                    {"ping": 1, "GET referrers": 1, "GET manifest": 2, "GET blob": 1},
	"verify a tag, fallback tag":                                                                     {"ping": 1, "HEAD manifest": 1, "GET referrers": 1, "GET manifest": 2},
	"verify one attestation, fallback tag":                                                           {"ping": 1, "GET referrers": 1, "GET manifest": 4},
	"policy engine, a tag, fallback tag":                                                             {"ping": 1, "HEAD manifest": 1, "GET referrers": 1, "GET manifest": 2},
	"policy engine, a digest with a signature and one attestation, fallback tag":                     {"ping": 1, "HEAD manifest": 1, "GET referrers": 1, "GET manifest": 4},
	"policy engine, a tag signed in the legacy .sig tag, fallback tag":                               {"ping": 1, "HEAD manifest": 1, "GET referrers": 1, "GET manifest": 2, "GET blob": 1},
	"policy engine, a tag whose referrer signature is refused, signed in the .sig tag, fallback tag": {"ping": 1, "HEAD manifest": 1, "GET referrers": 1, "GET manifest": 3, "GET blob": 1},
	"policy engine, a tag, two signers required, fallback tag":                                       {"ping": 1, "HEAD manifest": 1, "GET referrers": 1, "GET manifest": 4},
}
