package logserver

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	pb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api/layout"
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
	for _, prefix := range []string{"", "/api/v2"} {
		mux.HandleFunc("GET "+prefix+"/checkpoint", l.serveCheckpoint)
		mux.HandleFunc("GET "+prefix+"/tile/", func(w http.ResponseWriter, r *http.Request) {
			l.serveTile(w, r, strings.TrimPrefix(r.URL.Path, prefix+"/tile/"))
		})
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
	case errors.Is(err, ErrClosed), errors.Is(err, tessera.ErrPushback):
		// Not taken: the client may send it again (to another front-end).
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusServiceUnavailable, err.Error())
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

// serveCheckpoint serves the latest checkpoint from the log's storage.
func (l *Log) serveCheckpoint(w http.ResponseWriter, r *http.Request) {
	cp, err := l.reader.ReadCheckpoint(r.Context())
	if err == nil {
		_, err = l.ownCheckpoint(cp)
	}
	w.Header().Set("Cache-Control", "no-cache")
	serveResource(w, cp, err, "text/plain; charset=utf-8")
}

// serveTile serves a Merkle tile (LEVEL/INDEX[.p/WIDTH]) or an entry bundle
// (entries/INDEX[.p/WIDTH]) from the log's storage, as C2SP tlog-tiles lays
// them out. A partial resource is cut to the width asked for, as drivers
// may hold a wider one.
func (l *Log) serveTile(w http.ResponseWriter, r *http.Request, p string) {
	level, rest, ok := strings.Cut(p, "/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	if level == "entries" {
		index, width, err := layout.ParseTileIndexPartial(rest)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		b, err := l.reader.ReadEntryBundle(r.Context(), index, width)
		if err == nil && width > 0 {
			b, err = cutBundle(b, int(width))
		}
		serveResource(w, b, err, "application/octet-stream")
		return
	}
	lvl, index, width, err := layout.ParseTileLevelIndexPartial(level, rest)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	b, err := l.reader.ReadTile(r.Context(), lvl, index, width)
	if err == nil && width > 0 {
		if len(b) < int(width)*hashSize {
			err = os.ErrNotExist
		} else {
			b = b[:int(width)*hashSize]
		}
	}
	serveResource(w, b, err, "application/octet-stream")
}

const hashSize = 32

// cutBundle returns the first n entries of an entry bundle (each a
// big-endian uint16 length and that many bytes).
func cutBundle(b []byte, n int) ([]byte, error) {
	off := 0
	for range n {
		if len(b)-off < 2 {
			return nil, os.ErrNotExist
		}
		size := int(b[off])<<8 | int(b[off+1])
		off += 2 + size
		if off > len(b) {
			return nil, fmt.Errorf("entry bundle is truncated")
		}
	}
	return b[:off], nil
}

func serveResource(w http.ResponseWriter, b []byte, err error, contentType string) {
	switch {
	case errors.Is(err, os.ErrNotExist):
		httpError(w, http.StatusNotFound, "not found")
	case err != nil:
		httpError(w, http.StatusInternalServerError, "reading log storage: "+err.Error())
	default:
		w.Header().Set("Content-Type", contentType)
		w.Write(b)
	}
}
