package verify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/signet-dev/signet/mirror"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

const mirrorPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
mirrors:
  - {mirror: REG/mirror/team, origin: REG/team}
images:
  - pattern: "REG/team/**"
    signers: [{name: alice, key: alice.pub}]
    attestations: [{predicateType: cyclonedx}]
  - pattern: "REG/mirror/**"
    mode: audit
`

func mirrorImage(t *testing.T, w *world, src, dst string) {
	t.Helper()
	req, err := mirror.Endpoints(w.client, src, dst, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mirror.Copy(context.Background(), req); err != nil {
		t.Fatal(err)
	}
}

// TestMirrors: a mirrored image is judged by its origin's rule, with its
// signatures bound to the origin; the mirror mapping never makes an image
// pass that its origin's rule would refuse.
func TestMirrors(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	reg := w.reg.Host

	signed := w.reg.PushImage(t, "team/app:v1")
	w.sign(t, "alice", signed.String())
	if _, err := w.signers["alice"].SignImage(ctx, signed.String(), sign.Request{Layout: sign.LayoutLegacy}); err != nil {
		t.Fatal(err)
	}
	w.attest(t, "alice", signed.String(), "cyclonedx", "sbom.cdx.json")
	mirrorImage(t, w, reg+"/team/app:v1", reg+"/mirror/team/app")

	w.reg.PushImage(t, "team/unsigned:v1")
	mirrorImage(t, w, reg+"/team/unsigned:v1", reg+"/mirror/team/unsigned")

	// The same image pushed to another repository and signed (and
	// attested) there: its signatures name that repository.
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	other := w.reg.Push(t, "other/app:v1", img)
	w.reg.Push(t, "team/app2:v1", img)
	w.sign(t, "alice", other.String())
	w.attest(t, "alice", other.String(), "cyclonedx", "sbom.cdx.json")
	mirrorImage(t, w, reg+"/other/app:v1", reg+"/mirror/team/app2")

	w.reg.PushImage(t, "mirror/team-evil/app:v1")

	e := w.engine(t, mirrorPolicy)
	cases := []struct {
		name, image string
		allowed     bool
		rule        string
		class       verify.Class
		reason      string
	}{
		{"the origin itself", reg + "/team/app:v1", true, reg + "/team/**", "", ""},
		{"mirrored, signed for the origin", reg + "/mirror/team/app:v1", true, reg + "/team/**", "", ""},
		{"mirrored by digest", reg + "/mirror/team/app@" + signed.DigestStr(), true, reg + "/team/**", "", ""},
		// The audit rule for the mirror's own name would allow it: the
		// origin's rule judges it, and refuses.
		{"mirrored, unsigned", reg + "/mirror/team/unsigned:v1", false, reg + "/team/**", verify.ClassNotFound, "no signatures found"},
		{"mirrored, signed for another repository", reg + "/mirror/team/app2:v1", false, reg + "/team/**", verify.ClassInvalid, "signed for " + reg + "/other/app"},
		// A path boundary: team-evil is not under the mirror prefix team.
		{"not under the mirror prefix", reg + "/mirror/team-evil/app:v1", true, reg + "/mirror/**", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := e.Decide(ctx, tc.image)
			if d.Allowed != tc.allowed || d.Rule != tc.rule || d.Class != tc.class || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("allowed=%v rule=%q class=%q reason=%q; want allowed=%v rule=%q class=%q reason containing %q",
					d.Allowed, d.Rule, d.Class, d.Reason, tc.allowed, tc.rule, tc.class, tc.reason)
			}
		})
	}

	t.Run("without the mapping the mirror's own rule applies", func(t *testing.T) {
		e := w.engine(t, strings.Replace(mirrorPolicy, "mirrors:\n  - {mirror: REG/mirror/team, origin: REG/team}\n", "", 1))
		d := e.Decide(ctx, reg+"/mirror/team/unsigned:v1")
		if !d.Allowed || d.Rule != reg+"/mirror/**" {
			t.Fatalf("allowed=%v rule=%q, want the audit rule", d.Allowed, d.Rule)
		}
	})

	t.Run("an attestation for another repository is refused too", func(t *testing.T) {
		// Signed for the origin (team/app4), attested for other/app4.
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		w.reg.Push(t, "team/app4:v1", img)
		w.reg.Push(t, "other/app4:v1", img)
		w.sign(t, "alice", reg+"/team/app4:v1")
		w.attest(t, "alice", reg+"/other/app4:v1", "cyclonedx", "sbom.cdx.json")
		mirrorImage(t, w, reg+"/team/app4:v1", reg+"/mirror/team/app4")
		req, err := mirror.Endpoints(w.client, reg+"/other/app4:v1", reg+"/mirror/team/app4", 0)
		if err != nil {
			t.Fatal(err)
		}
		req.Only = []mirror.Kind{mirror.KindAttestation}
		if _, err := mirror.Copy(ctx, req); err != nil {
			t.Fatal(err)
		}
		d := e.Decide(ctx, reg+"/mirror/team/app4:v1")
		if d.Allowed || !strings.Contains(d.Reason, "signed for "+reg+"/other/app4") {
			t.Fatalf("allowed=%v reason=%q; want a refusal of the attestation signed for %s/other/app", d.Allowed, d.Reason, reg)
		}
		for _, c := range d.Checks {
			if c.Name == "signatures" && c.Outcome != verify.Pass {
				t.Fatalf("the signature check failed too (%s): the test meant only the attestation to fail", c.Message)
			}
		}
	})
}
