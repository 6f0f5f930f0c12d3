package inspect_test

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/inspect"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/internal/sigstoretest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/tlog/logserver"
	"github.com/signet-dev/signet/verify"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fixedNow is three days after the Trivy report in attest/testdata.
var fixedNow = time.Date(2026, 12, 3, 10, 5, 0, 0, time.UTC)

type fixture struct {
	reg      *registrytest.Registry
	client   *oci.Client
	image    string // tag reference of a two-platform index
	trust    root.TrustedMaterial
	release  crypto.PublicKey
	served   *atomic.Int64 // bytes of blobs served by the registry
	hugeBlob string        // digest of the oversized "bundle"
}

func loadKey(t *testing.T, path, password string) signature.SignerVerifier {
	t.Helper()
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := keys.ParsePrivateKey(pemBytes, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := keys.SignerVerifier(priv)
	if err != nil {
		t.Fatal(err)
	}
	return sv
}

// newFixture pushes an index and attaches, in every layout inspect reads:
// a Signet signature (logged), a keyless one (Fulcio certificate, RFC 3161
// timestamp), a signature in cosign v3's bundle format made
// with a key from `cosign generate-key-pair`, a cosign v2 legacy .sig and
// .att, a CycloneDX SBOM, a Trivy scan and SLSA provenance (logged), and, on
// a platform, three garbage referrers.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{served: &atomic.Int64{}}
	f.reg = registrytest.NewWrapped(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(countingWriter{w, f.served, strings.Contains(r.URL.Path, "/blobs/")}, r)
		})
	})
	f.client = oci.New()
	idx := f.reg.PushIndex(t, "team/app:v1")
	f.image = f.reg.Host + "/team/app:v1"

	l, err := logserver.Open(ctx, t.TempDir(), "log.signet.test")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(func() { srv.Close(); l.Close(context.Background()) })
	w, err := tlog.Service{URL: srv.URL, APIVersion: 2}.Writer(0)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := tlog.TrustedRoot(tlog.LogInfo{URL: srv.URL, PublicKey: l.PublicKey(), APIVersion: 2})
	if err != nil {
		t.Fatal(err)
	}
	f.trust = tr

	release := loadKey(t, "testdata/release.key", "inspect-test")
	f.release, _ = release.PublicKey()
	cosignKey := loadKey(t, "../keys/testdata/cosign.key", "cosign-test")
	signer, err := sign.New(release, f.client, sign.WithTransparencyLog(w))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signer.SignImage(ctx, idx.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	cosignSigner, _ := sign.New(cosignKey, f.client)
	if _, err := cosignSigner.SignImage(ctx, idx.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	// Keyless, with a certificate from a test Fulcio and a timestamp.
	ss := sigstoretest.Start(t)
	keyless, err := sign.NewKeyless(f.client, sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: ss.URL}),
		sigstoretest.Token("dev@example.com", "https://accounts.example.com"),
		sign.WithTimestampAuthority(sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: ss.TSAURL})))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyless.SignImage(ctx, idx.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	at := attest.New(signer, f.client)
	for _, p := range []struct{ typ, file string }{
		{"cyclonedx", "sbom.cdx.json"}, {"vuln", "trivy.json"}, {"slsaprovenance1", "provenance-v1.json"},
	} {
		data, err := os.ReadFile(filepath.Join("../attest/testdata", p.file))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := at.AttestImage(ctx, idx.String(), attest.Request{Type: p.typ, Predicate: data}); err != nil {
			t.Fatalf("%s: %v", p.typ, err)
		}
	}

	// cosign v2's legacy layout: a simple-signing .sig and a DSSE .att.
	tgt, err := f.client.Resolve(ctx, idx.String())
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{"critical": map[string]any{"identity": map[string]string{"docker-reference": f.reg.Host + "/team/app"},
		"image": map[string]string{"docker-manifest-digest": idx.DigestStr()}, "type": "cosign container image signature"}, "optional": nil})
	sig, err := cosignKey.SignMessage(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.AttachLegacySignature(ctx, tgt, payload, b64(sig)); err != nil {
		t.Fatal(err)
	}
	prov, _ := os.ReadFile("../attest/testdata/provenance-v02.json")
	st, err := attest.NewStatement(f.reg.Host+"/team/app", idx.DigestStr(), "https://slsa.dev/provenance/v0.2", prov)
	if err != nil {
		t.Fatal(err)
	}
	stBytes, _ := json.Marshal(st)
	env, err := dsse.WrapSigner(cosignKey, "application/vnd.in-toto+json").SignMessage(bytes.NewReader(stBytes))
	if err != nil {
		t.Fatal(err)
	}
	att := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	att, _ = mutate.Append(att, mutate.Addendum{Layer: static.NewLayer(env, oci.DSSEMediaType),
		Annotations: map[string]string{"predicateType": "https://slsa.dev/provenance/v0.2"}})
	attTag := idx.Context().Tag(strings.Replace(idx.DigestStr(), ":", "-", 1) + ".att")
	if err := remote.Write(attTag, att); err != nil {
		t.Fatal(err)
	}

	// Garbage on the first platform.
	children, _ := f.client.Children(ctx, tgt)
	pd := idx.Context().Digest(children[0].Digest.String())
	pt := &oci.Target{Ref: pd, Digest: pd, Descriptor: children[0]}
	if _, err := f.client.AttachBundle(ctx, pt, []byte("{this is not json"), sign.BundleAnnotations(oci.CosignSignPredicateType, time.Now())); err != nil {
		t.Fatal(err)
	}
	huge := bytes.Repeat([]byte("A"), 20<<20)
	if _, err := f.client.AttachBundle(ctx, pt, huge, nil); err != nil {
		t.Fatal(err)
	}
	f.hugeBlob = v1HashOf(huge)
	pushWrongLayer(t, f.reg.Host, pd, children[0])
	return f
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func v1HashOf(b []byte) string {
	h, _, _ := v1.SHA256(bytes.NewReader(b))
	return h.String()
}

// pushWrongLayer attaches a referrer that claims to be a Sigstore bundle but
// carries a text/plain layer.
func pushWrongLayer(t *testing.T, host string, subject name.Digest, desc v1.Descriptor) {
	t.Helper()
	layer := static.NewLayer([]byte("hello"), "text/plain")
	if err := remote.WriteLayer(subject.Context(), layer); err != nil {
		t.Fatal(err)
	}
	ld, _ := layer.Digest()
	cfg := static.NewLayer([]byte("{}"), oci.EmptyMediaType)
	if err := remote.WriteLayer(subject.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	cd, _ := cfg.Digest()
	m := map[string]any{
		"schemaVersion": 2, "mediaType": string(types.OCIManifestSchema1), "artifactType": oci.BundleMediaType,
		"config":  map[string]any{"mediaType": oci.EmptyMediaType, "digest": cd.String(), "size": 2},
		"layers":  []map[string]any{{"mediaType": "text/plain", "digest": ld.String(), "size": 5}},
		"subject": map[string]any{"mediaType": string(desc.MediaType), "digest": desc.Digest.String(), "size": desc.Size},
	}
	raw, _ := json.Marshal(m)
	h, _, _ := v1.SHA256(bytes.NewReader(raw))
	if err := remote.Put(subject.Context().Digest(h.String()), rawManifest{raw, types.OCIManifestSchema1}); err != nil {
		t.Fatal(err)
	}
}

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

type countingWriter struct {
	http.ResponseWriter
	n    *atomic.Int64
	blob bool
}

func (c countingWriter) Write(b []byte) (int, error) {
	if c.blob {
		c.n.Add(int64(len(b)))
	}
	return c.ResponseWriter.Write(b)
}

// normalize replaces what changes from run to run (registry port, digests,
// key ids, times) with stable placeholders, in order of appearance. A digest
// shown shortened (sha256:0123456789ab, or the 12 hex digits alone) gets the
// placeholder of the full digest it starts.
func normalize(s, host string) string {
	s = strings.ReplaceAll(s, host, "REGISTRY")
	// protobuf-go varies the spaces in its error messages on purpose.
	s = strings.ReplaceAll(s, "\u00a0", " ")
	names := map[string]string{} // first 12 hex digits -> placeholder
	name := func(hex12 string) string {
		if _, ok := names[hex12]; !ok {
			names[hex12] = "sha256:<" + string(rune('A'+len(names)%26)) + strings.Repeat("'", len(names)/26) + ">"
		}
		return names[hex12]
	}
	known := map[string]bool{}
	for _, d := range regexp.MustCompile(`sha256:([0-9a-f]{12})`).FindAllStringSubmatch(s, -1) {
		known[d[1]] = true
	}
	any := regexp.MustCompile(`(sha256:)?\b([0-9a-f]{12})([0-9a-f]{52})?\b`)
	for _, m := range any.FindAllStringSubmatch(s, -1) {
		if known[m[2]] {
			name(m[2])
		}
	}
	s = any.ReplaceAllStringFunc(s, func(d string) string {
		m := any.FindStringSubmatch(d)
		if !known[m[2]] {
			return d // not a digest (a commit, say)
		}
		return name(m[2])
	})
	s = regexp.MustCompile(`\b[0-9a-f]{64}\b`).ReplaceAllString(s, "<hex>")
	s = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`).ReplaceAllString(s, "<time>")
	return s
}

func golden(t *testing.T, file, got string) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./inspect -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./inspect -update rewrites it):\n--- got\n%s\n--- want\n%s", file, got, want)
	}
}

func TestGolden(t *testing.T) {
	f := newFixture(t)
	rep, err := inspect.Inspect(context.Background(), f.client, f.image, inspect.Options{Trust: f.trust, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	inspect.WriteText(&text, rep, inspect.TextOptions{})
	golden(t, "tree.golden", normalize(text.String(), f.reg.Host))
	js, _ := json.MarshalIndent(rep, "", "  ")
	golden(t, "report.golden.json", normalize(string(js), f.reg.Host)+"\n")

	// With a policy that trusts the release key and wants an SBOM.
	doc := "apiVersion: signet.dev/v1alpha1\nkind: Policy\nmetadata: {name: team}\nimages:\n  - pattern: \"" + f.reg.Host + "/team/**\"\n    signers: [{name: release, key: release.pub}]\n    attestations: [{predicateType: cyclonedx, signers: [release]}]\n"
	c, err := policy.Compile([]byte(doc), "testdata", keys.Loader{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(f.client, c, verify.WithEngineTrustedRoot(f.trust), verify.WithEverySignature())
	if err != nil {
		t.Fatal(err)
	}
	rep, err = inspect.Inspect(context.Background(), f.client, f.image, inspect.Options{Engine: eng, Trust: f.trust, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	text.Reset()
	inspect.WriteText(&text, rep, inspect.TextOptions{})
	// The policy names the registry's random port, so its hash varies too.
	golden(t, "tree-policy.golden", normalize(strings.ReplaceAll(text.String(), rep.Policy.Hash[:12], "POLICYHASH"), f.reg.Host))
}

// TestGarbage: referrers that are not what they claim are shown as
// unreadable with a reason, and an oversized one is never downloaded.
func TestGarbage(t *testing.T) {
	f := newFixture(t)
	f.served.Store(0)
	rep, err := inspect.Inspect(context.Background(), f.client, f.image, inspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]bool{}
	for _, a := range rep.Subject.Platforms[0].Artifacts {
		if a.Unreadable != "" {
			reasons[a.Unreadable] = true
		}
	}
	for _, want := range []string{"not a Sigstore bundle", "over the 8388608-byte cap", "claims a Sigstore bundle but its layer is of type"} {
		found := false
		for r := range reasons {
			found = found || strings.Contains(r, want)
		}
		if !found {
			t.Errorf("no artifact unreadable for %q; got %v", want, reasons)
		}
	}
	if n := f.served.Load(); n > 1<<20 {
		t.Errorf("the registry served %d blob bytes; the 20 MiB blob must not be fetched", n)
	}
}
