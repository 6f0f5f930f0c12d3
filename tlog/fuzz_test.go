package tlog_test

import (
	"bytes"
	"context"
	"crypto"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/tlog"
	"google.golang.org/protobuf/encoding/protojson"
)

// FuzzAddEntry posts arbitrary bodies to the write API: every one must be
// answered 201 (a valid entry) or 4xx, never 5xx or a crash.
func FuzzAddEntry(f *testing.F) {
	l := openLog(f, f.TempDir())
	h := l.Handler()
	good, _ := protojson.Marshal(request(f, "seed"))
	f.Add(good)
	f.Add([]byte(`{"hashedRekordRequestV002":{}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v2/log/entries", bytes.NewReader(body)))
		if rec.Code != http.StatusCreated && (rec.Code < 400 || rec.Code >= 500) {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}

// FuzzParseCheckpoint feeds arbitrary checkpoints to the verifier.
func FuzzParseCheckpoint(f *testing.F) {
	l := openLog(f, f.TempDir())
	e, err := l.Add(context.Background(), request(f, "seed"))
	if err != nil {
		f.Fatal(err)
	}
	v, _ := signature.LoadVerifier(l.PublicKey(), crypto.SHA256)
	cv, err := tlog.NewCheckpointVerifier(l.Origin(), v)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(e.InclusionProof.Checkpoint.Envelope))
	f.Fuzz(func(t *testing.T, raw []byte) {
		cp, err := cv.Parse(raw)
		if err == nil && cp == nil {
			t.Fatal("nil checkpoint without error")
		}
	})
}
