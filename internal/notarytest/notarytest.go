// Package notarytest makes certificate chains for Notation signing tests:
// a CA and a code-signing leaf, as Notation requires.
package notarytest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"testing"
	"time"
)

// PKI is a CA and a leaf it certified, with the leaf's key.
type PKI struct {
	CA    *x509.Certificate
	Leaf  *x509.Certificate
	Key   *ecdsa.PrivateKey
	Chain []*x509.Certificate // leaf, CA
}

// New makes a CA named caName (O=Acme) and a code-signing leaf with subject
// CN=leafName,O=Acme,ST=WA,C=US, valid from an hour ago for twelve hours.
func New(t testing.TB, caName, leafName string) *PKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: caName, Organization: []string{"Acme"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	ca := Certificate(t, caTmpl, caTmpl, caKey.Public(), caKey)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: leafName, Organization: []string{"Acme"}, Province: []string{"WA"}, Country: []string{"US"}},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(12 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	leaf := Certificate(t, leafTmpl, ca, key.Public(), caKey)
	return &PKI{CA: ca, Leaf: leaf, Key: key, Chain: []*x509.Certificate{leaf, ca}}
}

// Certificate signs tmpl with parent's key.
func Certificate(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// PEM encodes certificates as PEM.
func PEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// WriteKey writes the leaf key as an unencrypted PKCS#8 PEM file.
func (p *PKI) WriteKey(t testing.TB, path string) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(p.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
