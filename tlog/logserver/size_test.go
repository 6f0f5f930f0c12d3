package logserver_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	pb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/encoding/protojson"
)

// TestOversizeEntryIsRefused submits a validly signed entry whose
// self-made certificate carries a 60 KB extension: its canonical body is
// over the 64 KiB a tlog-tiles entry can hold. The open write API must
// answer the sender's mistake with 4xx, not a server error, and the tree
// must not grow.
func TestOversizeEntryIsRefused(t *testing.T) {
	t.Parallel()
	l := openLog(t, t.TempDir())
	appendN(t, l, "before", 1)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "big"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtraExtensions: []pkix.Extension{{
			Id:    asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1},
			Value: bytes.Repeat([]byte{0x30}, 60<<10),
		}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("big"))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	req := &pb.CreateEntryRequest{Spec: &pb.CreateEntryRequest_HashedRekordRequestV002{HashedRekordRequestV002: &pb.HashedRekordRequestV002{
		Digest: digest[:],
		Signature: &pb.Signature{Content: sig, Verifier: &pb.Verifier{
			Verifier:   &pb.Verifier_X509Certificate{X509Certificate: &protocommon.X509Certificate{RawBytes: der}},
			KeyDetails: protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
		}},
	}}}
	body, err := protojson.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	l.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v2/log/entries", bytes.NewReader(body)))
	if rec.Code < 400 || rec.Code >= 500 {
		t.Fatalf("oversize entry: status %d (%s), want 4xx", rec.Code, rec.Body)
	}
	t.Log(rec.Body)
	if n := treeSize(t, l); n != 1 {
		t.Fatalf("tree size %d, want 1", n)
	}
}

// TestClosingLogAnswers503 posts an entry to a log that is shutting down:
// the entry is not taken, and the client is told to try again (503), as
// a front-end behind a load balancer going away should answer.
func TestClosingLogAnswers503(t *testing.T) {
	t.Parallel()
	l := openLog(t, t.TempDir())
	h := l.Handler()
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	body, err := protojson.Marshal(request(t, "late"))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v2/log/entries", bytes.NewReader(body)))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("append to a closed log: status %d, Retry-After %q (%s); want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
}
