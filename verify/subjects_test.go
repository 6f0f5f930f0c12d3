package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// subject is one subject of a hand-built in-toto statement.
type subject struct {
	Name        string            `json:"name"`
	Digest      map[string]string `json:"digest"`
	Annotations map[string]any    `json:"annotations,omitempty"`
}

func subjectOf(name, digest string, annotations map[string]any) subject {
	return subject{Name: name, Digest: map[string]string{"sha256": strings.TrimPrefix(digest, "sha256:")}, Annotations: annotations}
}

// statementJSON builds an in-toto v1 statement with the given subjects.
func statementJSON(t testing.TB, predicateType string, predicate any, subjects ...subject) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "predicateType": predicateType, "predicate": predicate, "subject": subjects})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// attachStatement signs a statement with s and attaches it to image.
func attachStatement(t testing.TB, s *sign.Signer, client *oci.Client, image, predicateType string, stmt []byte) {
	t.Helper()
	ctx := context.Background()
	b, _, err := s.SignStatement(ctx, stmt)
	if err != nil {
		t.Fatal(err)
	}
	target, err := client.Resolve(ctx, image)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.AttachBundle(ctx, target, b, sign.BundleAnnotations(predicateType, registrytestNow())); err != nil {
		t.Fatal(err)
	}
}

// TestImageSignatureNamesOneSubject: cosign signs an image with a statement
// naming exactly that image. A statement with two subjects, the first
// another image carrying the annotations a policy wants, must not lend
// them to the second (the image verified).
func TestImageSignatureNamesOneSubject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, true, keys.ECDSAP256)
	other := f.reg.PushImage(t, "team/other:v1")
	prod := map[string]any{"env": "prod"}
	dev := map[string]any{"env": "dev"}
	cases := []struct {
		name     string
		subjects func(image string) []subject
		want     error // nil: verifies
		reason   string
	}{
		{"one subject", func(d string) []subject { return []subject{subjectOf("team/app", d, prod)} }, nil, ""},
		{"another image's annotations first", func(d string) []subject {
			return []subject{subjectOf("team/other", other.DigestStr(), prod), subjectOf("team/app", d, dev)}
		}, verify.ErrMalformed, "names 2 subjects"},
		{"this image first, another after", func(d string) []subject {
			return []subject{subjectOf("team/app", d, prod), subjectOf("team/other", other.DigestStr(), prod)}
		}, verify.ErrMalformed, "names 2 subjects"},
		{"this image twice", func(d string) []subject {
			return []subject{subjectOf("team/app", d, dev), subjectOf("team/app", d, prod)}
		}, verify.ErrMalformed, "names 2 subjects"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := f.reg.PushImage(t, fmt.Sprintf("team/app:subjects-%d", i))
			attachStatement(t, f.signer, f.client, d.String(), oci.CosignSignPredicateType,
				statementJSON(t, oci.CosignSignPredicateType, map[string]any{}, tc.subjects(d.DigestStr())...))
			res, err := f.verifier.Verify(ctx, d.String(), verify.Request{Annotations: map[string]string{"env": "prod"}})
			if tc.want == nil {
				if err != nil || res.Signatures[0].SignedName != "team/app" {
					t.Fatalf("want verified, signed for team/app: %v %+v", err, res)
				}
				return
			}
			if err == nil || !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("got %v, want %v saying %q", err, tc.want, tc.reason)
			}
		})
	}
}

// TestAttestationSubjectMatched: an attestation may name several subjects
// (in-toto statements do); what verification reports — the signed name,
// digest and annotations — comes from the subject that names the image.
func TestAttestationSubjectMatched(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, true, keys.ECDSAP256)
	other := f.reg.PushImage(t, "evil/other:v1")
	d := f.reg.PushImage(t, "team/app:v1")
	pred := map[string]any{"scanner": map[string]any{"uri": "x"}}
	attachStatement(t, f.signer, f.client, d.String(), attest.PredicateVuln, statementJSON(t, attest.PredicateVuln, pred,
		subjectOf("evil/other", other.DigestStr(), map[string]any{"env": "prod"}), subjectOf("team/app", d.DigestStr(), map[string]any{"env": "dev"})))
	res, err := f.verifier.VerifyAttestations(ctx, d.String(), verify.AttestationRequest{PredicateType: attest.PredicateVuln})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Signatures[0]
	if s.SignedName != "team/app" || s.SignedDigest != d.DigestStr() || s.Annotations["env"] != "dev" {
		t.Fatalf("signed name %q, digest %s, annotations %v: want those of the subject naming %s", s.SignedName, s.SignedDigest, s.Annotations, d.DigestStr())
	}

	// No subject names the image: refused as made for another digest.
	third := f.reg.PushImage(t, "team/app:v3")
	copyAttestations(t, &world{client: f.client}, d, third, attest.PredicateVuln)
	if _, err := f.verifier.VerifyAttestations(ctx, third.String(), verify.AttestationRequest{PredicateType: attest.PredicateVuln}); !errors.Is(err, verify.ErrDigestMismatch) {
		t.Fatalf("no subject names the image: got %v, want %v", err, verify.ErrDigestMismatch)
	}
}

// TestClaimedKeyHint: a bundle's key hint is the signer's unsigned claim. A
// refused bundle has no key ID, only its claimed hint, so no report can show
// the hint as the key that signed.
func TestClaimedKeyHint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	pemBytes, err := os.ReadFile(filepath.Join(w.dir, "alice.pub"))
	if err != nil {
		t.Fatal(err)
	}
	alicePub, _ := keys.ParsePublicKey(pemBytes)
	aliceID, _ := keys.ID(alicePub)

	forged := w.reg.PushImage(t, "team/app:forged")
	b := parse(t, must(w.signers["mallory"].Bundle(ctx, "team/app", forged.DigestStr(), nil)))
	b.VerificationMaterial.Content.(*protobundle.VerificationMaterial_PublicKey).PublicKey.Hint = aliceID
	target, _ := w.client.Resolve(ctx, forged.String())
	if _, err := w.client.AttachBundle(ctx, target, marshal(t, b), signatureAnnotations); err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(w.client, []verify.Key{{Name: "alice", PublicKey: alicePub}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify(ctx, forged.String(), verify.Request{})
	if !errors.Is(err, verify.ErrBadSignature) {
		t.Fatalf("mallory's signature claiming alice's key: got %v", err)
	}
	s := res.Signatures[0]
	if s.KeyID != "" || s.Key != "" || s.ClaimedKeyID != aliceID {
		t.Fatalf("refused bundle: keyId %q key %q claimedKeyHint %q; want no key, the hint only as claimed", s.KeyID, s.Key, s.ClaimedKeyID)
	}
	js, _ := json.Marshal(s)
	if strings.Contains(string(js), `"keyId"`) || !strings.Contains(string(js), `"claimedKeyHint":"`+aliceID+`"`) {
		t.Fatalf("refused bundle as JSON: %s", js)
	}
	// The policy engine's evidence names no key for it either.
	d := w.engine(t, "apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: \"REG/team/**\"\n    signers: [{name: alice, key: alice.pub}]\n").Decide(ctx, forged.String())
	if d.Allowed {
		t.Fatal("forged signature allowed")
	}
	for _, c := range d.Checks {
		for _, ev := range c.Evidence {
			if ev.KeyID != "" || ev.Signer != "" {
				t.Fatalf("evidence for a refused bundle names key %q (%q)", ev.KeyID, ev.Signer)
			}
		}
	}

	// A verified bundle has both: the key that verified it, and what it claimed.
	good := w.reg.PushImage(t, "team/app:good")
	w.sign(t, "alice", good.String())
	res, err = v.Verify(ctx, good.String(), verify.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Signatures[0]; s.KeyID != aliceID || s.ClaimedKeyID != aliceID || s.Key != "alice" {
		t.Fatalf("verified bundle: keyId %q claimedKeyHint %q key %q", s.KeyID, s.ClaimedKeyID, s.Key)
	}
}
