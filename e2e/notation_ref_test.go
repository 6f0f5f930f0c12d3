//go:build e2e

package e2e

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/notaryproject/notation-go"
	notationreg "github.com/notaryproject/notation-go/registry"
	"github.com/notaryproject/notation-go/signer"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	"github.com/notaryproject/tspclient-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"

	signetkeys "github.com/signet-dev/signet/keys"
)

// The reference side of the Notation cells: notation-go v1.3.2 and
// notation-core-go v1.3.0, the libraries the Notation CLI is a thin layer
// over (its own module is not served here). Nothing in this file uses Signet
// except keys.EncryptPrivateKey, to hand the leaf key to `signet sign`.

const (
	notationArtifactType = "application/vnd.cncf.notary.signature"
	notationJWS          = "application/jose+json"
	notationCOSE         = "application/cose"
)

// envelopeName is how a cell names an envelope media type.
func envelopeName(mediaType string) string {
	if mediaType == notationCOSE {
		return "COSE"
	}
	return "JWS"
}

// notationPKI is a test root CA and a code-signing leaf it issued, written
// to files the CLI and the policy name: ca.pem (the root), chain.pem (leaf
// then root, as Notation wants it) and key.pem (the leaf key, encrypted
// with the suite's password).
type notationPKI struct {
	ca, leaf        *x509.Certificate
	leafKey         crypto.Signer
	caPEM, chainPEM string
	keyPEM          string
	subjectCN       string
}

// newNotationPKI makes a CA named org and a leaf "CN=<cn>,O=<org>" under
// it, in dir.
func newNotationPKI(t *testing.T, dir, org, cn string) *notationPKI {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: org + " Root CA", Organization: []string{org}, Country: []string{"US"}},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, MaxPathLen: 1,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano() + 1),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{org}, Country: []string{"US"}},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, leafKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)
	p := &notationPKI{ca: ca, leaf: leaf, leafKey: leafKey, subjectCN: cn,
		caPEM: filepath.Join(dir, "ca.pem"), chainPEM: filepath.Join(dir, "chain.pem"), keyPEM: filepath.Join(dir, "key.pem")}
	certPEM := func(der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}) }
	keyBytes, err := signetkeys.EncryptPrivateKey(leafKey, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	for path, b := range map[string][]byte{p.caPEM: certPEM(caDER), p.chainPEM: append(certPEM(leafDER), certPEM(caDER)...), p.keyPEM: keyBytes} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// chain is the certificate chain notation-go signs with: leaf, then root.
func (p *notationPKI) chain() []*x509.Certificate { return []*x509.Certificate{p.leaf, p.ca} }

// orasRepo is oras-go's client for the repository of ref, over plain HTTP
// (every registry of the suite is on 127.0.0.1). Reading, oras finds out
// itself whether the registry has the referrers API (a GET of it for the
// subject) and otherwise reads the referrers fallback tag.
func orasRepo(t *testing.T, ref name.Digest) *remote.Repository {
	t.Helper()
	repo, err := remote.NewRepository(ref.Context().Name())
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	return repo
}

// orasPushRepo is orasRepo for pushing a signature in the layout of r.
// Pushing, oras v2.5.0 decides by the OCI-Subject header of the manifest
// PUT alone: go-containerregistry's registry serves the referrers API but
// sends no such header, so left to itself oras would maintain the fallback
// tag there too (the signature then shows in both layouts). The capability
// is set as the registry has it, so each cell writes one layout, checked
// afterwards by notationSignatures.
func orasPushRepo(t *testing.T, r *registryUnderTest, ref name.Digest) *remote.Repository {
	t.Helper()
	repo := orasRepo(t, ref)
	if err := repo.SetReferrersCapability(r.referrers); err != nil {
		t.Fatal(err)
	}
	return repo
}

// tsaRef is a timestamp authority notation-go asks for a countersignature.
type tsaRef struct {
	url  string
	root *x509.Certificate
}

// notationGoSign signs ref (in registry r) with notation-go's generic
// signer in the given envelope and pushes the signature with notation-go's
// repository client, in the layout r calls for.
func notationGoSign(t *testing.T, r *registryUnderTest, p *notationPKI, ref name.Digest, mediaType string, tsa *tsaRef) {
	t.Helper()
	s, err := signer.NewGenericSigner(p.leafKey, p.chain())
	if err != nil {
		t.Fatal(err)
	}
	opts := notation.SignOptions{
		SignerSignOptions: notation.SignerSignOptions{SignatureMediaType: mediaType, ExpiryDuration: 24 * time.Hour},
		ArtifactReference: ref.String(),
	}
	if tsa != nil {
		ts, err := tspclient.NewHTTPTimestamper(nil, tsa.url)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AddCert(tsa.root)
		opts.Timestamper, opts.TSARootCAs = ts, pool
	}
	desc, err := notation.Sign(context.Background(), s, notationreg.NewRepository(orasPushRepo(t, r, ref)), opts)
	if err != nil {
		t.Fatalf("notation-go sign %s (%s): %v", ref, envelopeName(mediaType), err)
	}
	if desc.Digest.String() != ref.DigestStr() {
		t.Fatalf("notation-go signed %s, want %s", desc.Digest, ref.DigestStr())
	}
}

// memTrustStore is an in-memory X509 trust store: one named store per type.
type memTrustStore map[truststore.Type][]*x509.Certificate

func (m memTrustStore) GetCertificates(_ context.Context, typ truststore.Type, name string) ([]*x509.Certificate, error) {
	if certs := m[typ]; len(certs) > 0 && name == "e2e" {
		return certs, nil
	}
	return nil, fmt.Errorf("trust store %s:%s does not exist", typ, name)
}

// notationGoVerify runs notation-go's verifier over the signatures ref
// carries in its registry, under a strict trust policy trusting ca (and,
// with tsaRoot, timestamps from that root). It returns the envelope media
// type of the signature that verified.
func notationGoVerify(t *testing.T, ref name.Digest, ca *x509.Certificate, tsaRoot *x509.Certificate) (string, error) {
	t.Helper()
	store := memTrustStore{truststore.TypeCA: {ca}}
	stores := []string{"ca:e2e"}
	if tsaRoot != nil {
		store[truststore.TypeTSA] = []*x509.Certificate{tsaRoot}
		stores = append(stores, "tsa:e2e")
	}
	doc := &trustpolicy.Document{Version: "1.0", TrustPolicies: []trustpolicy.TrustPolicy{{
		Name: "e2e", RegistryScopes: []string{"*"}, TrustStores: stores, TrustedIdentities: []string{"*"},
		SignatureVerification: trustpolicy.SignatureVerification{VerificationLevel: trustpolicy.LevelStrict.Name},
	}}}
	v, err := verifier.New(doc, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, outcomes, err := notation.Verify(context.Background(), v, notationreg.NewRepository(orasRepo(t, ref)),
		notation.VerifyOptions{ArtifactReference: ref.String(), MaxSignatureAttempts: 10})
	if err != nil {
		return "", err
	}
	if len(outcomes) == 0 || outcomes[0].EnvelopeContent == nil {
		return "", errors.New("notation-go verified without an outcome")
	}
	raw := outcomes[0].RawSignature
	if len(raw) > 0 && raw[0] == '{' {
		return notationJWS, nil
	}
	return notationCOSE, nil
}

// Layouts a signature can be stored in, as signet names them.
const (
	layoutReferrers = "referrers-api"
	layoutFallback  = "fallback-tag"
)

// registryLayout is where a registry keeps referrers: the referrers API or,
// without one, the fallback tag.
func registryLayout(r *registryUnderTest) string {
	if r.referrers {
		return layoutReferrers
	}
	return layoutFallback
}

// notationSignatures reads, without any client library's fallback logic,
// the Notation signature manifests that name ref as their subject in the
// given layout: the referrers API's index or the fallback tag's index. It
// returns the envelope media type of each, and fails the test when the
// other layout holds one too (a signature written where it was not meant).
// A manifest is a Notation signature by its own artifactType (or, as
// notation-go writes it, its config's media type): go-containerregistry's
// referrers API reports the config's media type as every entry's
// artifactType, so the index's word alone is not enough.
func notationSignatures(t *testing.T, ref name.Digest, layout string) []string {
	t.Helper()
	repo := ref.Context()
	base := "http://" + repo.RegistryStr() + "/v2/" + repo.RepositoryStr()
	api, apiCode := fetchIndex(t, base+"/referrers/"+ref.DigestStr())
	tag, tagCode := fetchIndex(t, base+"/manifests/"+strings.Replace(ref.DigestStr(), ":", "-", 1))
	idx, other, otherCode := api, tag, tagCode
	if layout == layoutFallback {
		idx, other, otherCode = tag, api, apiCode
	}
	if n := len(notationManifests(t, base, ref, other)); n > 0 {
		t.Fatalf("%s: %d Notation signature(s) outside the %s layout (HTTP %d)", ref, n, layout, otherCode)
	}
	var envelopes []string
	for _, m := range notationManifests(t, base, ref, idx) {
		envelopes = append(envelopes, m.Layers[0].MediaType)
	}
	return envelopes
}

// notationManifests fetches the manifests an index lists and returns the
// Notation signatures among them, checking each names ref as its subject and
// has exactly one layer.
func notationManifests(t *testing.T, base string, ref name.Digest, idx *ocispec.Index) []ocispec.Manifest {
	t.Helper()
	if idx == nil {
		return nil
	}
	var out []ocispec.Manifest
	for _, d := range idx.Manifests {
		var m ocispec.Manifest
		fetchJSON(t, base+"/manifests/"+d.Digest.String(), ocispec.MediaTypeImageManifest, &m)
		at := m.ArtifactType
		if at == "" {
			at = m.Config.MediaType
		}
		if at != notationArtifactType {
			continue
		}
		if m.Subject == nil || m.Subject.Digest.String() != ref.DigestStr() || len(m.Layers) != 1 {
			t.Fatalf("%s: signature manifest %s: subject %v, %d layers", ref, d.Digest, m.Subject, len(m.Layers))
		}
		// The Notary Project signature specification (Storage): the
		// config's mediaType MUST be application/vnd.cncf.notary.signature.
		// Registries that derive a referrer's artifactType from its config
		// (go-containerregistry's) list anything else under another type,
		// and notation-go, filtering by type, does not see the signature.
		if m.Config.MediaType != notationArtifactType {
			t.Errorf("%s: signature manifest %s: config media type %q, but the Notary Project signature specification requires %q",
				ref, d.Digest, m.Config.MediaType, notationArtifactType)
		}
		out = append(out, m)
	}
	return out
}

// fetchIndex GETs an image index; nil (and the status) when there is none.
func fetchIndex(t *testing.T, url string) (*ocispec.Index, int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", ocispec.MediaTypeImageIndex)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode
	}
	var idx ocispec.Index
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&idx); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return &idx, resp.StatusCode
}

func fetchJSON(t *testing.T, url, accept string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// tsaRoot is the self-signed certificate of a PEM chain from the TSA.
func tsaRoot(t *testing.T, chainPEM []byte) *x509.Certificate {
	t.Helper()
	for rest := chainPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err == nil && c.CheckSignatureFrom(c) == nil && c.Subject.String() == c.Issuer.String() {
			return c
		}
	}
	t.Fatalf("no self-signed root in the TSA's chain:\n%s", chainPEM)
	return nil
}

// writePEM writes certificates to path.
func writePEM(t *testing.T, path string, certs ...*x509.Certificate) string {
	t.Helper()
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
