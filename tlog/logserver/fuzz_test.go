package logserver_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/tessera/api/layout"

	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/tlog/logserver"
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

// FuzzReadPath requests arbitrary paths of the read API: none is answered
// 5xx, or crashes the log, and a tile or entry bundle served has exactly
// the width asked for (a full one when none is), never more of the tree.
func FuzzReadPath(f *testing.F) {
	l := openLog(f, f.TempDir())
	appendN(f, l, "seed", 3)
	h := l.Handler()
	for _, p := range []string{"/checkpoint", "/tile/0/000.p/3", "/tile/0/000.p/1", "/tile/entries/000.p/1", "/tile/0/000.p/003", "/tile/entries/000.p/2", "/tile/0/x001/000", "/tile/entries/000.p/0", "/api/v2/tile/1/000.p/300"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		req, err := http.NewRequest(http.MethodGet, "http://log.example/", nil)
		if err != nil {
			t.Skip()
		}
		req.URL.Path = "/" + strings.TrimPrefix(p, "/")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, p, rec.Body)
		}
		if rec.Code == http.StatusOK {
			checkWidth(t, req.URL.Path, rec.Body.Bytes())
		}
	})
}

// checkWidth fails if body, served at a tile or entry bundle path, is not
// as wide as the path asks.
func checkWidth(t *testing.T, path string, body []byte) {
	t.Helper()
	rest, ok := strings.CutPrefix(strings.TrimPrefix(path, "/api/v2"), "/tile/")
	if !ok {
		return
	}
	level, index, _ := strings.Cut(rest, "/")
	if level == "entries" {
		_, w, err := layout.ParseTileIndexPartial(index)
		if err != nil {
			t.Fatalf("%q served, but it is not an entry bundle path: %v", path, err)
		}
		if want := int(cmp.Or(uint(w), layout.EntryBundleWidth)); bundleLen(body) != want {
			t.Fatalf("%q: %d entries served, want %d", path, bundleLen(body), want)
		}
		return
	}
	_, _, w, err := layout.ParseTileLevelIndexPartial(level, index)
	if err != nil {
		t.Fatalf("%q served, but it is not a tile path: %v", path, err)
	}
	if want := 32 * int(cmp.Or(uint(w), layout.TileWidth)); len(body) != want {
		t.Fatalf("%q: %d bytes served, want %d", path, len(body), want)
	}
}

// FuzzParseMySQL parses arbitrary --storage values: neither the parsed
// target nor an error ever shows the password.
func FuzzParseMySQL(f *testing.F) {
	f.Add("mysql://log:s3cret@127.0.0.1:3306/tlog")
	f.Add("mysql://log:s3cret@127.0.0.1/tlog")
	f.Add("mysql://log:s%33cret@[::1]:3306/tlog?x=1")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil || u.User == nil {
			return
		}
		pw, ok := u.User.Password()
		if !ok || len(pw) < 4 || strings.Contains(u.User.Username()+u.Host+u.Path, pw) {
			return
		}
		target, err := logserver.ParseMySQL(s)
		if err != nil && strings.Contains(err.Error(), pw) {
			t.Fatalf("error shows the password: %v", err)
		}
		if strings.Contains(target.String(), pw) {
			t.Fatalf("target shows the password: %s", target)
		}
	})
}
