package tlog

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"

	pb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/encoding/protojson"
)

// maxRequestBytes caps an entry request; a hashedrekord with a certificate
// chain is a few kilobytes.
const maxRequestBytes = 1 << 20

// Handler serves the log over HTTP:
//
//	POST /api/v2/log/entries   Rekor v2's write API (201 + TransparencyLogEntry JSON)
//	GET  /checkpoint           the signed checkpoint (C2SP tlog-tiles)
//	GET  /tile/...             Merkle tiles and entry bundles (C2SP tlog-tiles)
//	GET  /healthz
//
// The read paths are also served under /api/v2/ for clients that expect them there.
func (l *Log) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/log/entries", l.serveAdd)
	static := http.FileServer(http.Dir(filepath.Join(l.dir, "tiles")))
	read := func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/api/v2")
		if p != "/checkpoint" && !strings.HasPrefix(p, "/tile/") {
			http.NotFound(w, r)
			return
		}
		if p == "/checkpoint" {
			w.Header().Set("Cache-Control", "no-cache")
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = p
		static.ServeHTTP(w, r2)
	}
	for _, p := range []string{"GET /checkpoint", "GET /tile/", "GET /api/v2/checkpoint", "GET /api/v2/tile/"} {
		mux.HandleFunc(p, read)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	return mux
}

func (l *Log) serveAdd(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil {
		httpError(w, http.StatusBadRequest, "reading request: "+err.Error())
		return
	}
	if len(body) > maxRequestBytes {
		httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request over %d bytes", maxRequestBytes))
		return
	}
	var req pb.CreateEntryRequest
	if err := protojson.Unmarshal(body, &req); err != nil {
		httpError(w, http.StatusBadRequest, "parsing entry request: "+err.Error())
		return
	}
	tle, err := l.Add(r.Context(), &req)
	switch {
	case errors.Is(err, ErrInvalidEntry):
		httpError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out, err := protojson.Marshal(tle)
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(out)
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, "{\"code\":%d,\"message\":%q}\n", code, msg)
}
