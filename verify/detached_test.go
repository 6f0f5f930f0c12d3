package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// attestDetached attests file's predicate as a detached predicate and
// returns the signed statement's predicate.
func (w *world) attestDetached(t testing.TB, who, image, typ, path string) attest.DetachedPredicate {
	t.Helper()
	out, err := attest.New(w.signers[who], w.client, attest.WithStreamingThreshold(1024)).AttestImage(context.Background(), image,
		attest.Request{Type: typ, PredicatePath: path, Detached: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Detached == nil || out[0].PredicateType != attest.PredicateCycloneDX {
		t.Fatalf("attested %+v, want one detached CycloneDX predicate", out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, _, _ := v1.SHA256(bytes.NewReader(data))
	return attest.DetachedPredicate{PredicateType: attest.PredicateCycloneDX, Digest: h.String(), Size: int64(len(data)),
		MediaType: oci.CycloneDXMediaType, Artifact: out[0].Detached.Digest.String()}
}

// writeSBOM writes a CycloneDX SBOM of n components, each Apache-2.0 but
// the last MIT.
func writeSBOM(t testing.TB, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"metadata":{"timestamp":"2026-11-30T10:00:00Z"},"components":[`)
	for i := range n {
		lic := "Apache-2.0"
		if i == n-1 {
			lic = "MIT"
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"library","name":"package-%d","version":"1.0.%d","purl":"pkg:generic/package-%d@1.0.%d","licenses":[{"license":{"id":%q}}]}`, i, i, i, i, lic)
	}
	b.WriteString(`]}`)
	p := filepath.Join(t.TempDir(), "sbom.cdx.json")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (w *world) detachedVerifier(t testing.TB, opts ...verify.Option) *verify.Verifier {
	t.Helper()
	pub := w.signers["alice"].PublicKey()
	v, err := verify.New(w.client, []verify.Key{{Name: "alice", PublicKey: pub}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDetachedPredicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	sbom := writeSBOM(t, 8000) // about 1.3 MB: components over the 1 MiB kept of a document over the memory cap
	img := w.reg.PushImage(t, "team/app:detached")
	w.attestDetached(t, "alice", img.String(), "cyclonedx", sbom)

	cond := func(expr string) *verify.Condition {
		c, err := verify.CompileConditionFor(attest.PredicateCycloneDX, expr)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name    string
		opts    []verify.Option
		cond    string
		wantErr error
		reason  string
	}{
		{"whole document", nil, `size(predicate.components) == 8000 && predicate.components[7999].licenses[0].license.id == "MIT"`, nil, ""},
		{"whole document, false", nil, `size(predicate.components) == 3`, verify.ErrConditionFalse, "size(predicate.components) == 3"},
		{"summary of a whole document", nil, `summary.counts.components == 8000 && "MIT" in summary.licenses`, nil, ""},
		{"over the memory cap: summary", []verify.Option{verify.WithDetachedMemoryBytes(4096)},
			`summary.counts.components == 8000 && summary.licenses == ["Apache-2.0", "MIT"] && predicate.specVersion == "1.5"`, nil, ""},
		{"over the memory cap: components not kept", []verify.Option{verify.WithDetachedMemoryBytes(4096)},
			`size(predicate.components) > 0`, verify.ErrConditionInvalid, "over the size a condition sees whole"},
		{"summary false", []verify.Option{verify.WithDetachedMemoryBytes(4096)},
			`!("MIT" in summary.licenses)`, verify.ErrConditionFalse, ""},
		{"over the memory cap: has() of a member left out", []verify.Option{verify.WithDetachedMemoryBytes(4096)},
			`!has(predicate.components)`, policy.ErrPartialDocument, "predicate.components was left out"},
		{"over the memory cap: in over the partial document", []verify.Option{verify.WithDetachedMemoryBytes(4096)},
			`!("components" in predicate)`, policy.ErrPartialDocument, "as a whole"},
		{"over the memory cap: the partial document passed on", []verify.Option{verify.WithDetachedMemoryBytes(4096)},
			`[statement.predicate].all(p, !has(p.components))`, policy.ErrPartialDocument, "as a whole"},
		{"over the memory cap: index of a member left out", []verify.Option{verify.WithDetachedMemoryBytes(4096)},
			`!has(statement["predicate"].components) && predicate.specVersion == "1.5"`, policy.ErrPartialDocument, "predicate.components was left out"},
		{"over the memory cap: kept members", []verify.Option{verify.WithDetachedMemoryBytes(4096)},
			`!has(predicate.vulnerabilities) && statement.predicate["specVersion"] == "1.5" && statement.predicateType != "" && "components" in summary.omitted`, nil, ""},
		{"over the size cap: refused unread", []verify.Option{verify.WithMaxDetachedBytes(1000)}, "", verify.ErrDetachedPredicate, "over the 1000-byte cap"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := verify.AttestationRequest{PredicateType: attest.PredicateCycloneDX}
			if tc.cond != "" {
				req.Condition = cond(tc.cond)
			}
			res, err := w.detachedVerifier(t, tc.opts...).VerifyAttestations(ctx, img.String(), req)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("want verified, got %v", err)
				}
				if len(res.Signatures) != 1 || res.Signatures[0].Detached == nil || res.Signatures[0].Detached.PredicateType != attest.PredicateCycloneDX {
					t.Fatalf("want one detached attestation, got %+v", res.Signatures)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("want %v (%q), got %v", tc.wantErr, tc.reason, err)
			}
		})
	}

	t.Run("another predicate type is not met", func(t *testing.T) {
		_, err := w.detachedVerifier(t).VerifyAttestations(ctx, img.String(), verify.AttestationRequest{PredicateType: attest.PredicateSPDX})
		if !errors.Is(err, verify.ErrNoAttestations) {
			t.Fatalf("want no attestations, got %v", err)
		}
	})
	t.Run("the small statement itself", func(t *testing.T) {
		res, err := w.detachedVerifier(t).VerifyAttestations(ctx, img.String(), verify.AttestationRequest{PredicateType: attest.DetachedPredicateType})
		if err != nil || len(res.Signatures) != 1 {
			t.Fatalf("want the detached-predicate statement verified, got %v", err)
		}
	})
}

// TestDetachedPredicateTampered: an artifact whose document was replaced,
// or that is gone, is refused with its reason.
func TestDetachedPredicateTampered(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	sbom := writeSBOM(t, 50)
	data, err := os.ReadFile(sbom)
	if err != nil {
		t.Fatal(err)
	}
	h, _, _ := v1.SHA256(bytes.NewReader(data))
	other := bytes.Replace(data, []byte("MIT"), []byte("BSD"), 1)
	oh, _, _ := v1.SHA256(bytes.NewReader(other))
	tests := []struct {
		name   string
		pred   func(forged string) attest.DetachedPredicate
		reason string
	}{
		{"another document in the artifact", func(forged string) attest.DetachedPredicate {
			return attest.DetachedPredicate{PredicateType: attest.PredicateCycloneDX, Digest: h.String(), Size: int64(len(data)), MediaType: oci.CycloneDXMediaType, Artifact: forged}
		}, "holds document " + oh.String() + ", the signed statement names " + h.String()},
		{"another size", func(forged string) attest.DetachedPredicate {
			return attest.DetachedPredicate{PredicateType: attest.PredicateCycloneDX, Digest: oh.String(), Size: int64(len(other)) + 1, MediaType: oci.CycloneDXMediaType, Artifact: forged}
		}, fmt.Sprintf("says the document is %d bytes, the signed statement %d", len(other), len(other)+1)},
		{"another media type", func(forged string) attest.DetachedPredicate {
			return attest.DetachedPredicate{PredicateType: attest.PredicateCycloneDX, Digest: oh.String(), Size: int64(len(other)), MediaType: "application/json", Artifact: forged}
		}, "the signed statement application/json"},
		{"missing artifact", func(string) attest.DetachedPredicate {
			return attest.DetachedPredicate{PredicateType: attest.PredicateCycloneDX, Digest: h.String(), Size: int64(len(data)), MediaType: oci.CycloneDXMediaType, Artifact: "sha256:" + strings.Repeat("ab", 32)}
		}, "could not be read"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := w.reg.PushImage(t, fmt.Sprintf("team/app:tampered%d", i))
			forged := pushForgedArtifact(t, w, img, other, oci.CycloneDXMediaType)
			err := verifyForged(t, w, img, tc.pred(forged))
			if !errors.Is(err, verify.ErrDetachedPredicate) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("want refused (%q), got %v", tc.reason, err)
			}
			if tc.name == "missing artifact" && !errors.Is(err, oci.ErrNotFound) {
				t.Fatalf("want not found, got %v", err)
			}
		})
	}
}

// pushForgedArtifact pushes doc as a detached-predicate artifact of img and
// returns its manifest digest.
func pushForgedArtifact(t *testing.T, w *world, img name.Digest, doc []byte, mt string) string {
	t.Helper()
	ctx := context.Background()
	target, err := w.client.Resolve(ctx, img.String())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "doc.json")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	art, _, err := w.client.AttachDetachedPredicate(ctx, target, path, nil, mt, attest.PredicateCycloneDX)
	if err != nil {
		t.Fatal(err)
	}
	return art.Digest.String()
}

// verifyForged signs (as alice) a detached-predicate statement with
// predicate p about img, attaches it, and verifies img's CycloneDX
// attestations.
func verifyForged(t *testing.T, w *world, img name.Digest, p attest.DetachedPredicate) error {
	t.Helper()
	ctx := context.Background()
	pred, _ := json.Marshal(p)
	st, err := attest.NewStatement(img.Context().String(), img.DigestStr(), attest.DetachedPredicateType, pred)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(st)
	if _, err := attest.New(w.signers["alice"], w.client).AttestImage(ctx, img.String(), attest.Request{Statement: raw}); err != nil {
		t.Fatal(err)
	}
	_, err = w.detachedVerifier(t).VerifyAttestations(ctx, img.String(), verify.AttestationRequest{PredicateType: attest.PredicateCycloneDX})
	return err
}

// TestDetachedPredicateNotJSON: a document that is not JSON verifies by its
// digest alone; a condition over it is refused.
func TestDetachedPredicateNotJSON(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	img := w.reg.PushImage(t, "team/app:notjson")
	doc := []byte("not JSON at all")
	forged := pushForgedArtifact(t, w, img, doc, oci.CycloneDXMediaType)
	h, _, _ := v1.SHA256(bytes.NewReader(doc))
	p := attest.DetachedPredicate{PredicateType: attest.PredicateCycloneDX, Digest: h.String(), Size: int64(len(doc)), MediaType: oci.CycloneDXMediaType, Artifact: forged}
	if err := verifyForged(t, w, img, p); err != nil {
		t.Fatalf("want verified by digest, got %v", err)
	}
	c, err := verify.CompileConditionFor(attest.PredicateCycloneDX, `summary.counts.components == 0`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.detachedVerifier(t).VerifyAttestations(context.Background(), img.String(), verify.AttestationRequest{PredicateType: attest.PredicateCycloneDX, Condition: c})
	if !errors.Is(err, verify.ErrDetachedPredicate) || !strings.Contains(err.Error(), "not a JSON object") {
		t.Fatalf("want the condition refused, got %v", err)
	}
}

// TestDetachedPredicateCapUnread: a document over the cap is refused before
// its artifact or blob is asked for; under the cap the blob is read once.
func TestDetachedPredicateCapUnread(t *testing.T) {
	t.Parallel()
	var blobGets atomic.Int64
	var docDigest atomic.Value
	docDigest.Store("")
	w := newWorld(t)
	w.reg = registrytest.NewWrapped(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if d := docDigest.Load().(string); r.Method == http.MethodGet && d != "" && strings.HasSuffix(r.URL.Path, "/blobs/"+d) {
				blobGets.Add(1)
			}
			h.ServeHTTP(rw, r)
		})
	})
	img := w.reg.PushImage(t, "team/app:cap")
	p := w.attestDetached(t, "alice", img.String(), "cyclonedx", writeSBOM(t, 100))
	docDigest.Store(p.Digest)
	ctx := context.Background()
	req := verify.AttestationRequest{PredicateType: attest.PredicateCycloneDX}
	_, err := w.detachedVerifier(t, verify.WithMaxDetachedBytes(p.Size-1)).VerifyAttestations(ctx, img.String(), req)
	if !errors.Is(err, verify.ErrDetachedPredicate) || blobGets.Load() != 0 {
		t.Fatalf("over the cap: want refused unread, got %v after %d reads of the document", err, blobGets.Load())
	}
	if _, err := w.detachedVerifier(t, verify.WithMaxDetachedBytes(p.Size)).VerifyAttestations(ctx, img.String(), req); err != nil || blobGets.Load() != 1 {
		t.Fatalf("at the cap: want verified with one read, got %v after %d reads", err, blobGets.Load())
	}
}

// TestDetachedPartialTime: over the memory cap, a document whose metadata
// (with its old timestamp) is left out must not be aged by another,
// fresher time of its own that the whole document would not use.
func TestDetachedPartialTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	img := w.reg.PushImage(t, "team/app:partialtime")
	const typ = "https://example.com/scan/v1"
	fresh := time.Now().UTC().Format(time.RFC3339)
	doc := `{"timestamp":"` + fresh + `","metadata":{"timestamp":"2020-01-01T00:00:00Z","pad":"` + strings.Repeat("x", 1200<<10) + `"}}`
	path := filepath.Join(t.TempDir(), "scan.json")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := attest.New(w.signers["alice"], w.client).AttestImage(ctx, img.String(), attest.Request{Type: typ, PredicatePath: path, Detached: true}); err != nil {
		t.Fatal(err)
	}
	req := verify.AttestationRequest{PredicateType: typ, MaxAge: 24 * time.Hour}
	_, err := w.detachedVerifier(t).VerifyAttestations(ctx, img.String(), req)
	if !errors.Is(err, verify.ErrTooOld) {
		t.Fatalf("whole document: want too old (its metadata.timestamp), got %v", err)
	}
	_, err = w.detachedVerifier(t, verify.WithDetachedMemoryBytes(4096)).VerifyAttestations(ctx, img.String(), req)
	if !errors.Is(err, verify.ErrDetachedPredicate) || !strings.Contains(err.Error(), "metadata") {
		t.Fatalf("partial document: want refused for its time left out with metadata, got %v", err)
	}
}

// TestDetachedPredicateEngineCap: the policy engine passes the cap on
// detached predicates to its verifiers: a document over it is refused
// unread, the cap named in the decision's reason; at the cap it passes.
func TestDetachedPredicateEngineCap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	img := w.reg.PushImage(t, "team/app:engine-cap")
	p := w.attestDetached(t, "alice", img.String(), "cyclonedx", writeSBOM(t, 20))
	const doc = `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    threshold: 0
    signers: [{name: release, key: alice.pub}]
    attestations: [{predicateType: cyclonedx, condition: "size(predicate.components) == 20"}]
`
	tests := []struct {
		name   string
		opts   []verify.EngineOption
		reason string // "" when allowed
	}{
		{"default cap", nil, ""},
		{"at the cap", []verify.EngineOption{verify.WithEngineMaxPredicateBytes(p.Size)}, ""},
		{"over the cap", []verify.EngineOption{verify.WithEngineMaxPredicateBytes(p.Size - 1)}, fmt.Sprintf("over the %d-byte cap for detached predicates", p.Size-1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := w.engine(t, doc, tc.opts...).Decide(ctx, img.String())
			if tc.reason == "" {
				if !d.Allowed {
					t.Fatalf("want allowed, got %s", d.Reason)
				}
				return
			}
			if d.Allowed || !strings.Contains(d.Reason, tc.reason) || !strings.Contains(d.Reason, "--max-predicate-size") {
				t.Fatalf("want refused (%q), got allowed=%v: %s", tc.reason, d.Allowed, d.Reason)
			}
		})
	}
}
