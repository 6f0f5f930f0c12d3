package verify_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/notaryproject/notation-core-go/signature"
	"github.com/notaryproject/notation-go"
	notationreg "github.com/notaryproject/notation-go/registry"
	notationsigner "github.com/notaryproject/notation-go/signer"
	"github.com/notaryproject/tspclient-go"
	godigest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	orasremote "oras.land/oras-go/v2/registry/remote"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/internal/notarytest"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/internal/sigstoretest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/notary"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// notationAttestPolicy: a cosign key signer and two Notation principals; the
// attestation requirement accepts only "security".
const notationAttestPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    signers:
      - name: release
        key: alice.pub
      - name: security
        notation: {trustStore: security-ca.pem, subject: "CN=security,O=Acme,ST=WA,C=US"TSA}
      - name: audit
        notation: {trustStore: rogue-ca.pem}
    attestations:
      - name: sbom
        predicateType: TYPE
        signers: [security]
        condition: COND
MAXAGE`

// attestPolicyFor fills notationAttestPolicy: the predicate type, the
// condition, maxAge ("" for none), and whether security trusts the TSA.
func attestPolicyFor(typ, cond, maxAge string, tsa bool) string {
	r := []string{"TYPE", typ, "COND", cond, "TSA", "", "MAXAGE", ""}
	if maxAge != "" {
		r[7] = "        maxAge: " + maxAge + "\n"
	}
	if tsa {
		r[5] = ", tsa: tsa.pem"
	}
	return strings.NewReplacer(r...).Replace(notationAttestPolicy)
}

// notationSigner is a Signet Notation signer for pki, timestamped by tsa
// when it is not nil.
func (w *notationWorld) notationSigner(t testing.TB, pki string, tsa *sigstoretest.Sigstore) *sign.NotationSigner {
	t.Helper()
	p := w.pki[pki]
	o := notary.SignOptions{}
	if tsa != nil {
		o.TSAURL, o.TSARoots = tsa.TSAURL, x509.NewCertPool()
		o.TSARoots.AddCert(tsa.TSARoot())
	}
	s, err := sign.NewNotation(p.Key, p.Chain, w.client, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// notationAttest attests image with the predicate file under typ, signed
// with Notation by pki.
func (w *notationWorld) notationAttest(t testing.TB, pki, image, typ, file string, tsa *sigstoretest.Sigstore) []attest.Attested {
	t.Helper()
	data, err := os.ReadFile("../attest/testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	out, err := attest.NewNotation(w.notationSigner(t, pki, tsa), w.client).AttestImage(context.Background(), image, attest.Request{Type: typ, Predicate: data})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// orasAttach pushes doc as an attestation artifact of image the way
// `oras attach --artifact-type TYPE IMAGE doc:TYPE` does, with oras-go —
// an independent writer — and returns the artifact's descriptor.
func orasAttach(t testing.TB, image name.Digest, artifactType string, doc []byte) ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	repo, err := orasremote.NewRepository(image.Context().Name())
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	subject, err := repo.Resolve(ctx, image.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	layer := ocispec.Descriptor{MediaType: artifactType, Digest: godigest.FromBytes(doc), Size: int64(len(doc)),
		Annotations: map[string]string{ocispec.AnnotationTitle: "sbom.json"}}
	if err := repo.Push(ctx, layer, bytes.NewReader(doc)); err != nil {
		t.Fatal(err)
	}
	desc, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, artifactType, oras.PackManifestOptions{Subject: &subject, Layers: []ocispec.Descriptor{layer}})
	if err != nil {
		t.Fatal(err)
	}
	return desc
}

// notationGoSign signs the manifest desc of image's repository with
// notation-go's own API (what the notation CLI does), which pushes the
// signature as a referrer of it.
func notationGoSign(t testing.TB, p *notarytest.PKI, image name.Digest, desc ocispec.Descriptor, mediaType string) {
	t.Helper()
	ctx := context.Background()
	ref := image.Context().Name() + "@" + desc.Digest.String()
	repo, err := orasremote.NewRepository(ref)
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	s, err := notationsigner.NewGenericSigner(p.Key, p.Chain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := notation.Sign(ctx, s, notationreg.NewRepository(repo), notation.SignOptions{
		SignerSignOptions: notation.SignerSignOptions{SignatureMediaType: mediaType}, ArtifactReference: ref,
	}); err != nil {
		t.Fatal(err)
	}
}

func attestationCheck(d *verify.Decision) *verify.PolicyCheck {
	for i := range d.Checks {
		if d.Checks[i].Name == "attestation sbom" {
			return &d.Checks[i]
		}
	}
	return nil
}

// TestNotationAttestations: an attestation requirement whose signer is a
// Notation principal passes with a Notation-signed in-toto statement
// (written by signet attest --format notation) and with a raw SPDX
// document attached by oras and signed by notation-go itself; a condition
// over the predicate holds or fails on both forms; the evidence names the
// format, layout and the attestation artifact.
func TestNotationAttestations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newNotationWorld(t)
	cdx := w.reg.PushImage(t, "team/app:cdx")
	w.sign(t, "alice", cdx.String())
	attested := w.notationAttest(t, "security", cdx.String(), "cyclonedx", "sbom.cdx.json", nil)
	spdx := w.reg.PushImage(t, "team/app:spdx")
	w.sign(t, "alice", spdx.String())
	doc, err := os.ReadFile("../attest/testdata/sbom.spdx.json")
	if err != nil {
		t.Fatal(err)
	}
	artifact := orasAttach(t, spdx, oci.SPDXMediaType, doc)
	notationGoSign(t, w.pki["security"], spdx, artifact, notary.MediaTypeCOSE)

	cases := []struct {
		name, image, typ, cond, manifest string
		allowed                          bool
		reason                           string
	}{
		{"in-toto CycloneDX statement", cdx.String(), "cyclonedx", "size(predicate.components) > 1", attested[0].Attached.Digest.String(), true, ""},
		{"in-toto statement, condition false", cdx.String(), "cyclonedx", "size(predicate.components) > 5", "", false, "condition is false"},
		{"in-toto statement, condition over the subject", cdx.String(), "cyclonedx", `subject.exists(s, s.digest.sha256 == "` + strings.TrimPrefix(cdx.DigestStr(), "sha256:") + `")`, "", true, ""},
		{"raw SPDX by oras and notation-go", spdx.String(), "spdxjson", `size(predicate.packages) > 1 && predicate.name == "team-app"`, artifact.Digest.String(), true, ""},
		{"raw SPDX, condition false", spdx.String(), "spdxjson", `predicate.name == "other-app"`, "", false, "condition is false"},
		{"raw SPDX, its subject is the image", spdx.String(), "spdxjson", `subject[0].digest.sha256 == "` + strings.TrimPrefix(spdx.DigestStr(), "sha256:") + `"`, "", true, ""},
		{"no attestation of the type", spdx.String(), "cyclonedx", "true", "", false, "no https://cyclonedx.org/bom attestation found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := w.engine(t, attestPolicyFor(tc.typ, tc.cond, "", false)).Decide(ctx, tc.image)
			if d.Allowed != tc.allowed || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("allowed=%v %s", d.Allowed, d.Reason)
			}
			if !tc.allowed {
				return
			}
			c := attestationCheck(d)
			if c == nil || len(c.Evidence) != 1 {
				t.Fatalf("check %+v", c)
			}
			ev := c.Evidence[0]
			if ev.Signer != "security" || ev.Format != "notation" || ev.Layout != "referrers-api" || (tc.manifest != "" && ev.Manifest != tc.manifest) || ev.KeyID == "" {
				t.Fatalf("evidence %+v, want security's Notation signature on artifact %s", ev, tc.manifest)
			}
		})
	}
}

// TestNotationAttestationRefusals: what does not count, and says why.
func TestNotationAttestationRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newNotationWorld(t)
	// A registry without the referrers API: its fallback tags can list
	// anything, as a hostile writer may.
	w.reg = registrytest.New(t, false)
	push := func(tag string) (name.Digest, *oci.Target) {
		d := w.reg.PushImage(t, "team/app:"+tag)
		w.sign(t, "alice", d.String())
		return d, mustResolve(t, w, d)
	}
	cdx, err := os.ReadFile("../attest/testdata/sbom.cdx.json")
	if err != nil {
		t.Fatal(err)
	}
	statement := func(d name.Digest) []byte {
		st, err := attest.NewStatement(d.Context().Name(), d.DigestStr(), attest.PredicateCycloneDX, cdx)
		if err != nil {
			t.Fatal(err)
		}
		return must(json.Marshal(st))
	}
	security := w.notationSigner(t, "security", nil)

	// Unsigned: an attestation artifact with no Notation signature.
	unsigned, unsignedT := push("unsigned")
	if _, err := w.client.AttachAttestation(ctx, unsignedT, statement(unsigned), oci.InTotoMediaType, nil); err != nil {
		t.Fatal(err)
	}
	// Signed by a principal of the rule that the requirement does not name.
	audited := w.reg.PushImage(t, "team/app:audited")
	w.sign(t, "alice", audited.String())
	w.notationAttest(t, "rogue", audited.String(), "cyclonedx", "sbom.cdx.json", nil)
	// A statement about another image, in an artifact whose subject is this
	// one, properly signed.
	elsewhere, elsewhereT := push("elsewhere")
	other := w.reg.PushImage(t, "team/app:other")
	if _, _, err := security.AttestStatement(ctx, elsewhereT, statement(other)); err != nil {
		t.Fatal(err)
	}
	// A signature moved from a signed artifact to an unsigned one.
	moved, movedT := push("moved")
	donor := w.reg.PushImage(t, "team/app:donor")
	art := w.notationAttest(t, "security", donor.String(), "cyclonedx", "sbom.cdx.json", nil)[0]
	into, err := w.client.AttachAttestation(ctx, movedT, statement(moved), oci.InTotoMediaType, nil)
	if err != nil {
		t.Fatal(err)
	}
	copySignature(t, w, donor.Context().Digest(art.Attached.Digest.String()), movedT.Child(into.Descriptor))
	// A raw SPDX document made and signed for another image, listed in this
	// image's fallback tag: only the artifact's subject binds it to an
	// image.
	listed, _ := push("listed")
	origin := w.reg.PushImage(t, "team/app:origin")
	spdx, err := os.ReadFile("../attest/testdata/sbom.spdx.json")
	if err != nil {
		t.Fatal(err)
	}
	spdxArt := orasAttach(t, origin, oci.SPDXMediaType, spdx)
	notationGoSign(t, w.pki["security"], origin, spdxArt, notary.MediaTypeJWS)
	listInFallbackTag(t, listed, spdxArt)

	cases := []struct {
		name  string
		image name.Digest
		typ   string
		class verify.Class
		want  string
	}{
		{"unsigned attestation artifact", unsigned, "cyclonedx", verify.ClassInvalid, "no Notation signature on attestation artifact " + "sha256:"},
		{"signer not allowed by the requirement", audited, "cyclonedx", verify.ClassInvalid, "security: "},
		{"statement about another image", elsewhere, "cyclonedx", verify.ClassInvalid, "names " + other.DigestStr() + ", not " + elsewhere.DigestStr()},
		{"signature over another artifact", moved, "cyclonedx", verify.ClassInvalid, "the Notation signatures on attestation artifact " + into.Digest.Hex[:12] + " are refused"},
		{"artifact whose subject is another image", listed, "spdxjson", verify.ClassInvalid, "is about " + origin.DigestStr() + ", not " + listed.DigestStr()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := w.engine(t, attestPolicyFor(tc.typ, "true", "", false)).Decide(ctx, tc.image.String())
			t.Logf("%s", d.Reason)
			if d.Allowed || d.Class != tc.class || !strings.Contains(d.Reason, "attestation sbom") || !strings.Contains(d.Reason, tc.want) {
				t.Fatalf("allowed=%v %s %s, want refused with %q", d.Allowed, d.Class, d.Reason, tc.want)
			}
		})
	}
	t.Run("a requirement without Notation signers", func(t *testing.T) {
		doc := strings.Replace(attestPolicyFor("cyclonedx", "true", "", false), "signers: [security]", "signers: [release]", 1)
		d := w.engine(t, doc).Decide(ctx, audited.String())
		if d.Allowed || !strings.Contains(d.Reason, "the requirement names no Notation signer") {
			t.Fatalf("allowed=%v %s", d.Allowed, d.Reason)
		}
	})
}

// copySignature attaches the Notation signatures of artifact from to the
// manifest to, unchanged.
func copySignature(t *testing.T, w *notationWorld, from name.Digest, to *oci.Target) {
	t.Helper()
	ctx := context.Background()
	arts, err := w.client.Discover(ctx, mustResolve(t, w, from))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range arts {
		if a.Kind == oci.KindNotation {
			if _, err := w.client.AttachNotation(ctx, to, a.Content, a.MediaType, a.Annotations); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no signature to copy")
	}
}

// listInFallbackTag adds desc to image's referrers fallback tag.
func listInFallbackTag(t testing.TB, image name.Digest, desc ocispec.Descriptor) {
	t.Helper()
	tag := oci.FallbackTag(image)
	idx, err := remote.Index(tag)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	raw := must(json.Marshal(im))
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["manifests"] = append(doc["manifests"].([]any), map[string]any{"mediaType": desc.MediaType, "digest": desc.Digest, "size": desc.Size, "artifactType": desc.ArtifactType})
	raw = must(json.Marshal(doc))
	if err := remote.Put(tag, rawIndex(raw)); err != nil {
		t.Fatal(err)
	}
}

// TestNotationAttestationMaxAge: maxAge measures from the verified RFC 3161
// timestamp of the Notation signature when it has one, else from the
// predicate's own time; a statement with neither is refused.
func TestNotationAttestationMaxAge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newNotationWorld(t)
	tsa := sigstoretest.Start(t)
	if err := os.WriteFile(filepath.Join(w.dir, "tsa.pem"), notarytest.PEM(tsa.TSARoot()), 0o644); err != nil {
		t.Fatal(err)
	}
	review := "https://example.com/review/v1" // attest/testdata/review.json carries no time
	stamped := w.reg.PushImage(t, "team/app:stamped")
	w.sign(t, "alice", stamped.String())
	w.notationAttest(t, "security", stamped.String(), review, "review.json", tsa)
	unstamped := w.reg.PushImage(t, "team/app:unstamped")
	w.sign(t, "alice", unstamped.String())
	w.notationAttest(t, "security", unstamped.String(), review, "review.json", nil)
	sbom := w.reg.PushImage(t, "team/app:sbom")
	w.sign(t, "alice", sbom.String())
	w.notationAttest(t, "security", sbom.String(), "cyclonedx", "sbom.cdx.json", nil) // metadata.timestamp 2026-11-30T10:00:00Z
	sbomTime := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	now := time.Now()

	cases := []struct {
		name, typ, maxAge string
		tsa               bool
		image             name.Digest
		clock             time.Time
		allowed           bool
		reason            string
	}{
		{"timestamped, within maxAge", review, "24h", true, stamped, now.Add(time.Hour), true, ""},
		{"timestamped, too old by the TSA's time", review, "24h", true, stamped, now.Add(48 * time.Hour), false, "by the timestamp authority's time"},
		{"no timestamp and no predicate time", review, "24h", false, unstamped, now, false, "carries no time to check its age against"},
		{"predicate time, within maxAge", "cyclonedx", "72h", false, sbom, sbomTime.Add(48 * time.Hour), true, ""},
		{"predicate time, too old", "cyclonedx", "24h", false, sbom, sbomTime.Add(48 * time.Hour), false, "by the predicate's own time"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := func() time.Time { return tc.clock }
			d := w.engine(t, attestPolicyFor(tc.typ, "true", tc.maxAge, tc.tsa), verify.WithEngineClock(clock)).Decide(ctx, tc.image.String())
			if d.Allowed != tc.allowed || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("allowed=%v %s", d.Allowed, d.Reason)
			}
			if !tc.allowed && !strings.Contains(d.Reason, "attestation too old") {
				t.Fatalf("want too old: %s", d.Reason)
			}
		})
	}
}

// TestVerifyNotationAttestations: VerifyAttestations (verify-attestation)
// reads the Notation signatures of attestation artifacts when it trusts
// Notation signers.
func TestVerifyNotationAttestations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newNotationWorld(t)
	img := w.reg.PushImage(t, "team/app:v1")
	w.notationAttest(t, "security", img.String(), "cyclonedx", "sbom.cdx.json", nil)
	v, err := verify.New(w.client, nil, verify.WithNotation(notary.Principal{Name: "security", Certificates: []*x509.Certificate{w.pki["security"].CA}, Revocation: "skip"}))
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.VerifyAttestations(ctx, img.String(), verify.AttestationRequest{PredicateType: attest.PredicateCycloneDX})
	if err != nil || len(res.Signatures) != 1 || res.Signatures[0].Key != "security" || res.Signatures[0].Format != oci.KindNotation || len(res.Signatures[0].Statement) == 0 {
		t.Fatalf("%+v %v", res, err)
	}
	other, err := verify.New(w.client, nil, verify.WithNotation(notary.Principal{Name: "rogue", Certificates: []*x509.Certificate{w.pki["rogue"].CA}, Revocation: "skip"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.VerifyAttestations(ctx, img.String(), verify.AttestationRequest{PredicateType: attest.PredicateCycloneDX}); err == nil || !strings.Contains(err.Error(), "rogue: ") {
		t.Fatalf("another CA's principal: %v", err)
	}
}

// rawIndex lets remote.Put push an image index's bytes as they are.
type rawIndex []byte

func (r rawIndex) RawManifest() ([]byte, error)        { return r, nil }
func (r rawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

// TestNotationAttestationRevokedKey: a recall list revoking the Notation
// leaf's key refuses its attestations too, when no trusted time places
// them before the revocation.
func TestNotationAttestationRevokedKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newNotationWorld(t)
	img := w.reg.PushImage(t, "team/app:revoked")
	w.sign(t, "alice", img.String())
	w.notationAttest(t, "security", img.String(), "cyclonedx", "sbom.cdx.json", nil)
	id, err := keys.ID(w.pki["security"].Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	r, err := policy.ParseRecalls([]byte("apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: 1\nkeys: [{keyId: \"" + id + "\", revokedFrom: 2020-01-01T00:00:00Z, reason: leaked}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	doc := attestPolicyFor("cyclonedx", "true", "", false)
	if d := w.engine(t, doc).Decide(ctx, img.String()); !d.Allowed {
		t.Fatalf("not revoked: %s", d.Reason)
	}
	d := w.engine(t, doc, verify.WithEngineRecalls(r)).Decide(ctx, img.String())
	if d.Allowed || !strings.Contains(d.Reason, "attestation sbom") || !strings.Contains(d.Reason, "leaked") {
		t.Fatalf("revoked Notation key: allowed=%v %s %s", d.Allowed, d.Class, d.Reason)
	}
}

// TestNotationAttestationRestampedIsNotFresh: a Notation timestamp is an
// unsigned attribute — anyone who can push can ask a public TSA to stamp an
// old envelope's signature today and attach the result. The envelope's
// signed signing time says when its signer made it; maxAge must not measure
// from a later timestamp, or a stale attestation becomes fresh again.
func TestNotationAttestationRestampedIsNotFresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newNotationWorld(t)
	tsa := sigstoretest.Start(t)
	if err := os.WriteFile(filepath.Join(w.dir, "tsa.pem"), notarytest.PEM(tsa.TSARoot()), 0o644); err != nil {
		t.Fatal(err)
	}
	review := "https://example.com/review/v1"
	image := w.reg.PushImage(t, "team/app:restamped")
	w.sign(t, "alice", image.String())
	target, err := w.client.Resolve(ctx, image.String())
	if err != nil {
		t.Fatal(err)
	}
	alg, hex, _ := strings.Cut(image.DigestStr(), ":")
	statement, err := json.Marshal(map[string]any{"_type": attest.StatementTypeV1, "predicateType": review,
		"subject":   []map[string]any{{"name": image.Context().Name(), "digest": map[string]string{alg: hex}}},
		"predicate": map[string]any{"reviewer": "alice", "approved": true}}) // no time of its own
	if err != nil {
		t.Fatal(err)
	}
	artifact, err := w.client.AttachAttestation(ctx, target, statement, oci.InTotoMediaType, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Signed 50 minutes ago, stamped now: what re-stamping an old envelope
	// gives (the signed part is the old one; the timestamp is new).
	signedAt := time.Now().Add(-50 * time.Minute)
	p := w.pki["security"]
	signer, err := signature.NewLocalSigner(p.Chain, p.Key)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(map[string]any{"targetArtifact": ocispec.Descriptor{MediaType: string(artifact.Descriptor.MediaType),
		Digest: godigest.Digest(artifact.Descriptor.Digest.String()), Size: artifact.Descriptor.Size}})
	if err != nil {
		t.Fatal(err)
	}
	stamper, err := tspclient.NewHTTPTimestamper(nil, tsa.TSAURL)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(tsa.TSARoot())
	env, err := signature.NewEnvelope(notary.MediaTypeJWS)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := env.Sign(&signature.SignRequest{Payload: signature.Payload{ContentType: "application/vnd.cncf.notary.payload.v1+json", Content: payload},
		Signer: signer, SigningTime: signedAt, SigningScheme: signature.SigningSchemeX509, Timestamper: stamper, TSARootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	k, v := notary.ThumbprintAnnotation(p.Chain)
	if _, err := w.client.AttachNotation(ctx, target.Child(artifact.Descriptor), sig, notary.MediaTypeJWS, map[string]string{k: v}); err != nil {
		t.Fatal(err)
	}

	d := w.engine(t, attestPolicyFor(review, "true", "30m", true)).Decide(ctx, image.String())
	if d.Allowed || !strings.Contains(d.Reason, "attestation too old") || !strings.Contains(d.Reason, "signing time") {
		t.Fatalf("signed 50 minutes ago, maxAge 30m, stamped now: allowed=%v %s", d.Allowed, d.Reason)
	}
	if d := w.engine(t, attestPolicyFor(review, "true", "2h", true)).Decide(ctx, image.String()); !d.Allowed {
		t.Fatalf("signed 50 minutes ago, maxAge 2h: %s", d.Reason)
	}
}
