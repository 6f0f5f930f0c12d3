package attest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/tlog/logserver"
	"github.com/signet-dev/signet/verify"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type fixture struct {
	reg      *registrytest.Registry
	attester *attest.Attester
	verifier *verify.Verifier
	other    *verify.Verifier
	signer   *sign.Signer
	client   *oci.Client
}

func newFixture(t *testing.T, referrers bool) *fixture {
	t.Helper()
	f := &fixture{reg: registrytest.New(t, referrers), client: oci.New()}
	priv, _ := keys.Generate(keys.ECDSAP256)
	sv, _ := keys.SignerVerifier(priv)
	var err error
	if f.signer, err = sign.New(sv, f.client); err != nil {
		t.Fatal(err)
	}
	f.attester = attest.New(f.signer, f.client)
	if f.verifier, err = verify.New(f.client, []verify.Key{{Name: "release", PublicKey: priv.Public()}}); err != nil {
		t.Fatal(err)
	}
	otherKey, _ := keys.Generate(keys.ECDSAP256)
	if f.other, err = verify.New(f.client, []verify.Key{{Name: "other", PublicKey: otherKey.Public()}}); err != nil {
		t.Fatal(err)
	}
	return f
}

func mustCondition(t *testing.T, expr string) *verify.Condition {
	t.Helper()
	c, err := verify.CompileCondition(expr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRoundTripEveryType attests with each --type and verifies it back,
// with a condition that reads the predicate.
func TestRoundTripEveryType(t *testing.T) {
	t.Parallel()
	cases := []struct {
		typ, file, condition string
	}{
		{"spdxjson", "sbom.spdx.json", `size(predicate.packages) == 2`},
		{"spdx", "sbom.spdx", `predicate.spdxVersion == "SPDX-2.3"`},
		{"cyclonedx", "sbom.cdx.json", `predicate.specVersion == "1.5" && size(predicate.components) == 2`},
		{"vuln", "trivy.json", `predicate.scanner.result.summary.critical == 1 && predicate.scanner.result.summary.fixable.critical == 1`},
		{"vuln", "grype.json", `predicate.scanner.result.summary.fixable.medium == 1 && predicate.scanner.db.version == "2026-11-29T01:30:00Z"`},
		{"slsaprovenance1", "provenance-v1.json", `predicate.runDetails.builder.id.startsWith("https://github.com/example/app/")`},
		{"slsaprovenance", "provenance-v02.json", `predicate.builder.id == "https://example.com/builder"`},
		{"openvex", "openvex.json", `predicate.statements[0].status == "not_affected"`},
		{"custom", "custom.txt", `predicate.Data.contains("free-form")`},
		{"https://example.com/review/v1", "review.json", `predicate.approved && predicateType == "https://example.com/review/v1"`},
	}
	for _, referrers := range []bool{true, false} {
		t.Run(fmt.Sprintf("referrers=%v", referrers), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, referrers)
			ctx := context.Background()
			for i, tc := range cases {
				t.Run(tc.typ+"/"+tc.file, func(t *testing.T) {
					d := f.reg.PushImage(t, fmt.Sprintf("team/app:%d", i))
					out, err := f.attester.AttestImage(ctx, d.String(), attest.Request{Type: tc.typ, Predicate: read(t, tc.file)})
					if err != nil {
						t.Fatal(err)
					}
					pt, _, _ := attest.ResolveType(tc.typ)
					res, err := f.verifier.VerifyAttestations(ctx, d.String(), verify.AttestationRequest{PredicateType: pt, Condition: mustCondition(t, tc.condition)})
					if err != nil {
						t.Fatalf("verify: %v", err)
					}
					if !res.Verified || len(res.Signatures) != 1 || res.Signatures[0].Statement == nil || out[0].PredicateType != pt {
						t.Fatalf("result %+v", res)
					}
					// A signature verification must not count an attestation as a signature.
					if _, err := f.verifier.Verify(ctx, d.String(), verify.Request{}); !errors.Is(err, verify.ErrNoSignatures) {
						t.Fatalf("attestation counted as an image signature: %v", err)
					}
				})
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, false)
	d := f.reg.PushImage(t, "team/app:v1")
	other := f.reg.PushImage(t, "team/app:other")
	cdx, _, _ := attest.ResolveType("cyclonedx")

	t.Run("inputs", func(t *testing.T) {
		for _, tc := range []struct {
			typ  string
			data []byte
			want string
		}{
			{"spdxjson", []byte(`{"spdxVersion": 7}`), "not an SPDX JSON document"},
			{"spdxjson", []byte(`not json`), "not JSON"},
			{"cyclonedx", []byte(`{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"type": 3}]}`), "components[0]"},
			{"cyclonedx", []byte(`{"bomFormat": "CycloneDX", "specVersion": "1.2"}`), "Signet accepts CycloneDX 1.4, 1.5 or 1.6"},
			{"cyclonedx", read(t, "trivy.json"), "a Trivy report (use --type vuln)"},
			{"spdxjson", read(t, "sbom.cdx.json"), "this is a cyclonedx document (use --type cyclonedx)"},
			{"vuln", read(t, "sbom.cdx.json"), "use --type cyclonedx"},
			{"vuln", []byte(`{"hello": 1}`), "neither a Trivy nor a Grype"},
			{"slsaprovenance1", []byte(`{"buildDefinition": {}}`), "needs buildDefinition.buildType"},
			{"openvex", []byte(`{"@context": "https://example.com"}`), "OpenVEX"},
			{"not a type", []byte(`{}`), "neither one of"},
		} {
			_, err := f.attester.AttestImage(ctx, d.String(), attest.Request{Type: tc.typ, Predicate: tc.data})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: got %v, want %q", tc.typ, err, tc.want)
			}
		}
	})

	t.Run("statement for another digest", func(t *testing.T) {
		st, _ := attest.NewStatement("team/app", other.DigestStr(), cdx, read(t, "sbom.cdx.json"))
		raw, _ := json.Marshal(st)
		if _, err := f.attester.AttestImage(ctx, d.String(), attest.Request{Statement: raw}); !errors.Is(err, attest.ErrSubjectMismatch) {
			t.Fatalf("got %v", err)
		}
	})

	if _, err := f.attester.AttestImage(ctx, d.String(), attest.Request{Type: "cyclonedx", Predicate: read(t, "sbom.cdx.json")}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		v    *verify.Verifier
		req  verify.AttestationRequest
		want []error
	}{
		{"untrusted key", f.other, verify.AttestationRequest{PredicateType: cdx}, []error{verify.ErrNoValidSignature, verify.ErrBadSignature}},
		{"condition false", f.verifier, verify.AttestationRequest{PredicateType: cdx, Condition: mustCondition(t, `size(predicate.components) > 10`)}, []error{verify.ErrNoValidSignature, verify.ErrConditionFalse}},
		{"condition on a missing field", f.verifier, verify.AttestationRequest{PredicateType: cdx, Condition: mustCondition(t, `predicate.nope == 1`)}, []error{verify.ErrConditionInvalid}},
		{"other predicate type", f.verifier, verify.AttestationRequest{PredicateType: attest.PredicateVuln}, []error{verify.ErrNoAttestations, verify.ErrNoSignatures}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.v.VerifyAttestations(ctx, d.String(), tc.req)
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("got %v, want %v", err, w)
				}
			}
		})
	}
	t.Run("invalid expression", func(t *testing.T) {
		if _, err := verify.CompileCondition(`predicate.(`); !errors.Is(err, verify.ErrConditionInvalid) {
			t.Fatalf("got %v", err)
		}
		if _, err := verify.CompileCondition(`"a string"`); !errors.Is(err, verify.ErrConditionInvalid) {
			t.Fatalf("non-bool: got %v", err)
		}
	})
	t.Run("predicate type relabelled", func(t *testing.T) {
		img := f.reg.PushImage(t, "team/app:relabel")
		target, _ := f.client.Resolve(ctx, img.String())
		st, _ := attest.NewStatement("team/app", img.DigestStr(), attest.PredicateVuln, json.RawMessage(`{"scanner":{}}`))
		raw, _ := json.Marshal(st)
		b, _, err := f.signer.SignStatement(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		// The referrer claims CycloneDX; the signed statement is a vuln scan.
		if _, err := f.client.AttachBundle(ctx, target, b, sign.BundleAnnotations(cdx, time.Now())); err != nil {
			t.Fatal(err)
		}
		_, err = f.verifier.VerifyAttestations(ctx, img.String(), verify.AttestationRequest{PredicateType: cdx})
		if !errors.Is(err, verify.ErrPredicateType) {
			t.Fatalf("got %v", err)
		}
	})
}

// TestStreamedAttestation attests from a file through the streaming path
// (threshold 1 byte), logged in an embedded log, and verifies it offline.
func TestStreamedAttestation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registrytest.New(t, false)
	client := oci.New()
	l, err := logserver.Open(ctx, t.TempDir(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	defer l.Close(ctx)
	svc := tlog.Service{URL: srv.URL, APIVersion: 2}
	w, _ := svc.Writer(0)
	priv, _ := keys.Generate(keys.ECDSAP256)
	sv, _ := keys.SignerVerifier(priv)
	signer, err := sign.New(sv, client, sign.WithTransparencyLog(w), sign.WithDigestLog(svc))
	if err != nil {
		t.Fatal(err)
	}
	a := attest.New(signer, client, attest.WithStreamingThreshold(1))
	d := reg.PushImage(t, "team/app:big")
	out, err := a.AttestImage(ctx, d.String(), attest.Request{Type: "cyclonedx", PredicatePath: "testdata/sbom.cdx.json"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out[0].Log) != 1 {
		t.Fatalf("not logged: %+v", out)
	}
	tr, _ := tlog.TrustedRoot(l.Self(srv.URL))
	v, _ := verify.New(client, []verify.Key{{Name: "k", PublicKey: priv.Public()}}, verify.WithTrustedRoot(tr))
	res, err := v.VerifyAttestations(ctx, d.String(), verify.AttestationRequest{PredicateType: attest.PredicateCycloneDX,
		Condition: mustCondition(t, `predicate.components[1].name == "zlib"`), TransparencyLog: verify.TlogRequired})
	if err != nil {
		t.Fatal(err)
	}
	// The SBOM is in the statement byte for byte.
	var st struct {
		Predicate json.RawMessage `json:"predicate"`
	}
	json.Unmarshal(res.Signatures[0].Statement, &st)
	if string(st.Predicate) != strings.TrimSpace(string(read(t, "sbom.cdx.json"))) {
		t.Fatal("streamed predicate differs from the file")
	}

	// A malformed large file is refused before anything is signed.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"name":`), 0o644)
	if _, err := a.AttestImage(ctx, d.String(), attest.Request{Type: "cyclonedx", PredicatePath: bad}); !errors.Is(err, attest.ErrInvalidPredicate) {
		t.Fatalf("malformed: got %v", err)
	}
	// Ed25519 signs whole messages: the streaming signer refuses it clearly,
	// and attest falls back to reading the file.
	edPriv, _ := keys.Generate(keys.ED25519)
	edSV, _ := keys.SignerVerifier(edPriv)
	edSigner, _ := sign.New(edSV, client)
	if _, err := edSigner.SignLargeStatement(ctx, sign.LargePayload{}, nil); !errors.Is(err, sign.ErrLargeUnsupported) {
		t.Fatalf("ed25519 streaming: got %v", err)
	}
	if _, err := attest.New(edSigner, client, attest.WithStreamingThreshold(1)).AttestImage(ctx, d.String(),
		attest.Request{Type: "cyclonedx", PredicatePath: "testdata/sbom.cdx.json"}); err != nil {
		t.Fatalf("ed25519 in memory: %v", err)
	}
}

func TestRecursiveIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, false)
	idx := f.reg.PushIndex(t, "team/multi:v1")
	out, err := f.attester.AttestImage(ctx, idx.String(), attest.Request{Type: "cyclonedx", Predicate: read(t, "sbom.cdx.json"), Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || out[1].Platform != "linux/amd64" || out[2].Platform != "linux/arm64" {
		t.Fatalf("%+v", out)
	}
	for _, o := range out {
		ref := idx.Context().Digest(o.Digest).String()
		if _, err := f.verifier.VerifyAttestations(ctx, ref, verify.AttestationRequest{PredicateType: attest.PredicateCycloneDX}); err != nil {
			t.Fatalf("%s: %v", o.Platform, err)
		}
	}
}
