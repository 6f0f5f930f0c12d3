// Package sigstoretest runs a small Fulcio and RFC 3161 timestamp authority
// in process, over HTTP on 127.0.0.1, for tests of keyless signing. Its
// Fulcio trusts any token: it reads the identity from the token's claims
// without checking a signature. Tests only.
package sigstoretest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"os"
	"path/filepath"

	"github.com/digitorus/timestamp"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
)

// Sigstore is the running services and their trust material.
type Sigstore struct {
	URL      string // base URL; Fulcio at /api/v2/signingCert
	TSAURL   string // the timestamp endpoint
	caRoot   *x509.Certificate
	caInter  *x509.Certificate
	caKey    *ecdsa.PrivateKey
	tsaRoot  *x509.Certificate
	tsaInter *x509.Certificate
	tsaLeaf  *x509.Certificate
	tsaKey   *ecdsa.PrivateKey
	Issued   int // certificates issued
}

// Start runs the services until the test ends.
func Start(t testing.TB) *Sigstore {
	t.Helper()
	s := &Sigstore{}
	var err error
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	s.caRoot = rootCert
	if s.caInter, s.caKey, err = ca.GenerateFulcioIntermediate(rootCert, rootKey); err != nil {
		t.Fatal(err)
	}
	tsaRootCert, tsaRootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	s.tsaRoot = tsaRootCert
	tsaInter, tsaInterKey, err := ca.GenerateTSAIntermediate(tsaRootCert, tsaRootKey)
	if err != nil {
		t.Fatal(err)
	}
	s.tsaInter = tsaInter
	if s.tsaKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if s.tsaLeaf, err = ca.GenerateTSALeafCert(time.Now().Add(-time.Minute), s.tsaKey, tsaInter, tsaInterKey); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/signingCert", s.serveCert)
	mux.HandleFunc("POST /api/v1/timestamp", s.serveTimestamp)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.URL, s.TSAURL = srv.URL, srv.URL+"/api/v1/timestamp"
	return s
}

// TrustedRoot lists the CA and the TSA.
func (s *Sigstore) TrustedRoot() (*root.TrustedRoot, error) {
	start := time.Now().Add(-24 * time.Hour)
	return root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{&root.FulcioCertificateAuthority{Root: s.caRoot, Intermediates: []*x509.Certificate{s.caInter}, ValidityPeriodStart: start, URI: s.URL}},
		nil,
		[]root.TimestampingAuthority{&root.SigstoreTimestampingAuthority{Root: s.tsaRoot, Intermediates: []*x509.Certificate{s.tsaInter}, Leaf: s.tsaLeaf, ValidityPeriodStart: start, URI: s.TSAURL}},
		nil)
}

// TSARoot is the root certificate of the timestamp authority.
func (s *Sigstore) TSARoot() *x509.Certificate { return s.tsaRoot }

// Token returns a JWT-shaped token for email from issuer. Its signature is
// random bytes: only this package's Fulcio accepts it.
func Token(email, issuer string) string {
	enc := base64.RawURLEncoding.EncodeToString
	claims, _ := json.Marshal(map[string]any{"iss": issuer, "sub": email, "email": email, "email_verified": true, "aud": "sigstore",
		"exp": time.Now().Add(time.Hour).Unix()})
	sig := make([]byte, 64)
	rand.Read(sig)
	return enc([]byte(`{"alg":"ES256","kid":"test","typ":"JWT"}`)) + "." + enc(claims) + "." + enc(sig)
}

var (
	oidIssuerV1 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
)

func (s *Sigstore) serveCert(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PublicKeyRequest struct {
			PublicKey struct {
				Content string `json:"content"`
			} `json:"publicKey"`
		} `json:"publicKeyRequest"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	email, issuer, err := claims(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	block, _ := pem.Decode([]byte(req.PublicKeyRequest.PublicKey.Content))
	if block == nil {
		http.Error(w, "no public key", http.StatusBadRequest)
		return
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	issV2, _ := asn1.Marshal(asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(issuer)})
	exts := append([]pkix.Extension{{Id: oidIssuerV1, Value: []byte(issuer)}, {Id: oidIssuerV2, Value: issV2}},
		gitHubExtensions(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))...)
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(time.Now().UnixNano()),
		Subject:         pkix.Name{},
		EmailAddresses:  []string{email},
		NotBefore:       time.Now().Add(-time.Minute),
		NotAfter:        time.Now().Add(10 * time.Minute),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: exts,
	}
	if u, err := url.Parse(email); err == nil && u.Scheme != "" {
		tmpl.EmailAddresses, tmpl.URIs = nil, []*url.URL{u}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.caInter, pub, s.caKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.Issued++
	pemOf := func(c []byte) string { return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})) }
	resp := map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{
		"certificates": []string{pemOf(der), pemOf(s.caInter.Raw), pemOf(s.caRoot.Raw)}}}}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

func claims(token string) (string, string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", "", errors.New("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", "", err
	}
	var c struct {
		Iss   string `json:"iss"`
		Email string `json:"email"`
		Sub   string `json:"sub"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return "", "", err
	}
	who := c.Email
	if who == "" {
		who = c.Sub
	}
	return who, c.Iss, nil
}

// gitHubExtensions returns Fulcio's (v1) GitHub workflow extensions for
// the GitHub Actions claims the token carries, as Fulcio records them.
func gitHubExtensions(token string) []pkix.Extension {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var c map[string]any
	if json.Unmarshal(b, &c) != nil {
		return nil
	}
	var out []pkix.Extension
	for _, e := range []struct {
		claim string
		arc   int
	}{{"event_name", 2}, {"sha", 3}, {"workflow", 4}, {"repository", 5}, {"ref", 6}} {
		if v, ok := c[e.claim].(string); ok && v != "" {
			out = append(out, pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, e.arc}, Value: []byte(v)})
		}
	}
	// Fulcio's v2 build extensions (DER UTF8Strings): runner environment,
	// source repository URI, source ref, source repository owner URI.
	str := func(k string) string { v, _ := c[k].(string); return v }
	for _, e := range []struct {
		v   string
		arc int
	}{{str("runner_environment"), 11}, {prefixed("https://github.com/", str("repository")), 12}, {str("ref"), 14},
		{prefixed("https://github.com/", str("repository_owner")), 16}} {
		if e.v == "" {
			continue
		}
		if der, err := asn1.MarshalWithParams(e.v, "utf8"); err == nil {
			out = append(out, pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, e.arc}, Value: der})
		}
	}
	return out
}

func prefixed(prefix, v string) string {
	if v == "" {
		return ""
	}
	return prefix + v
}

// GitHubToken returns a JWT-shaped token like the one GitHub Actions issues
// to a workflow run, from issuer https://token.actions.githubusercontent.com.
// Its identity is subject (the URI Fulcio derives from job_workflow_ref,
// https://github.com/OWNER/REPO/.github/workflows/F.yml@REF), and claims
// may carry those Fulcio records as GitHub workflow extensions: repository,
// ref, sha, event_name, workflow; and as Fulcio's v2 build extensions:
// runner_environment, repository (source repository URI), ref (source
// ref), repository_owner (source repository owner URI). Only this package's Fulcio accepts it.
func GitHubToken(subject string, claims map[string]string) string {
	c := map[string]any{"iss": "https://token.actions.githubusercontent.com", "sub": subject, "aud": "sigstore",
		"exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		c[k] = v
	}
	enc := base64.RawURLEncoding.EncodeToString
	b, _ := json.Marshal(c)
	sig := make([]byte, 64)
	rand.Read(sig)
	return enc([]byte(`{"alg":"RS256","kid":"test","typ":"JWT"}`)) + "." + enc(b) + "." + enc(sig)
}

func (s *Sigstore) serveTimestamp(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ts := timestamp.Timestamp{HashAlgorithm: req.HashAlgorithm, HashedMessage: req.HashedMessage, Time: time.Now(),
		Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2}, Nonce: req.Nonce, ExtraExtensions: req.Extensions}
	if req.Certificates {
		// As real TSAs do when asked (Notation asks): the signing
		// certificate and the intermediate, for a chain to the root.
		ts.AddTSACertificate = true
		ts.Certificates = []*x509.Certificate{s.tsaInter}
	}
	resp, err := ts.CreateResponseWithOpts(s.tsaLeaf, s.tsaKey, crypto.SHA256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(resp)
}

// WriteTrust writes a trusted root (the CA and TSA) and a signing config
// (Fulcio and the TSA, no log) into dir, for CLIs.
func (s *Sigstore) WriteTrust(dir string) (trustedRoot, signingConfig string, err error) {
	tr, err := s.TrustedRoot()
	if err != nil {
		return "", "", err
	}
	start := time.Now().Add(-24 * time.Hour)
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02,
		[]root.Service{{URL: s.URL, MajorAPIVersion: 1, ValidityPeriodStart: start}}, nil, nil,
		root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY},
		[]root.Service{{URL: s.TSAURL, MajorAPIVersion: 1, ValidityPeriodStart: start}},
		root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY})
	if err != nil {
		return "", "", err
	}
	trustedRoot, signingConfig = filepath.Join(dir, "keyless_trusted_root.json"), filepath.Join(dir, "keyless_signing_config.json")
	for p, v := range map[string]interface{ MarshalJSON() ([]byte, error) }{trustedRoot: tr, signingConfig: sc} {
		b, err := v.MarshalJSON()
		if err != nil {
			return "", "", err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return "", "", err
		}
	}
	return trustedRoot, signingConfig, nil
}
