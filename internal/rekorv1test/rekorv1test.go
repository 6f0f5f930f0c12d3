// Package rekorv1test is a Rekor v1 stand-in for tests: it accepts entries
// on /api/v1/log/entries, canonicalizes them with Rekor's own types, and
// answers with a signed entry timestamp and an inclusion proof in a
// one-entry tree, signed by a test key. Tests only: it keeps no log.
package rekorv1test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/go-openapi/runtime"
	"github.com/go-openapi/strfmt"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1"
	"github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Log is a running stand-in.
type Log struct {
	URL     string
	Key     *ecdsa.PrivateKey
	Entries atomic.Int64
	// Shift moves the log's clock (nanoseconds, may be negative): entries
	// are integrated at now+Shift, so a test can lay out a timeline.
	Shift atomic.Int64
}

// Start serves the stand-in on 127.0.0.1 until the test ends.
func Start(t testing.TB) *Log {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	l := &Log{Key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/log/entries", l.serveAdd)
	mux.HandleFunc("GET /api/v1/log", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"rootHash":"","treeSize":%d,"signedTreeHead":"","treeID":"1"}`, l.Entries.Load())
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	l.URL = srv.URL
	return l
}

func (l *Log) serveAdd(w http.ResponseWriter, r *http.Request) {
	ctx := context.Background()
	pe, err := models.UnmarshalProposedEntry(r.Body, runtime.JSONConsumer())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	impl, err := types.UnmarshalEntry(pe)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	body, err := types.CanonicalizeEntry(ctx, impl)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	signer, err := signature.LoadECDSASignerVerifier(l.Key, crypto.SHA256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	der, _ := x509.MarshalPKIXPublicKey(l.Key.Public())
	sum := sha256.Sum256(der)
	logID := hex.EncodeToString(sum[:])
	leaf := rfc6962.DefaultHasher.HashLeaf(body)
	integrated, index, size := time.Now().Add(time.Duration(l.Shift.Load())).Unix(), int64(0), int64(1)
	// The signed entry timestamp signs the canonical JSON of these four fields.
	set, err := json.Marshal(map[string]any{"body": base64.StdEncoding.EncodeToString(body), "integratedTime": integrated, "logIndex": index, "logID": logID})
	if err == nil {
		set, err = jsoncanonicalizer.Transform(set)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	setSig, err := signer.SignMessage(bytes.NewReader(set))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	cp, err := util.CreateAndSignCheckpoint(ctx, "rekor.local", 1, uint64(size), leaf, signer)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	root, cps := hex.EncodeToString(leaf), string(cp)
	l.Entries.Add(1)
	resp := models.LogEntry{hex.EncodeToString(leaf): models.LogEntryAnon{
		Body: base64.StdEncoding.EncodeToString(body), IntegratedTime: &integrated, LogID: &logID, LogIndex: &index,
		Verification: &models.LogEntryAnonVerification{
			InclusionProof:       &models.InclusionProof{Checkpoint: &cps, Hashes: []string{}, LogIndex: &index, RootHash: &root, TreeSize: &size},
			SignedEntryTimestamp: strfmt.Base64(setSig),
		},
	}}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", hex.EncodeToString(leaf)) // Rekor's clients find the new entry by it
	w.Header().Set("Location", "/api/v1/log/entries/"+hex.EncodeToString(leaf))
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(resp)
}
