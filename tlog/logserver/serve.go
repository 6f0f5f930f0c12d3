package logserver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/signet-dev/signet/internal/listen"
	"github.com/signet-dev/signet/tlog"
)

// Server is the log served over HTTP.
type Server struct {
	// URL is the log's base URL, e.g. http://127.0.0.1:3003.
	URL  string
	srv  *http.Server
	done chan error
}

// Serve serves the log's Handler on ln until Close.
func (l *Log) Serve(ln net.Listener) *Server {
	s := &Server{URL: "http://" + ln.Addr().String(), done: make(chan error, 1),
		srv: &http.Server{Handler: l.Handler(), ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s
}

// Close stops serving, letting requests in flight finish for up to 5s.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// Wait blocks until the server stops and returns why.
func (s *Server) Wait() error { return <-s.done }

// ListenOrigin listens on addr and returns the listener and the host part of
// its address, the origin Sigstore verifiers expect for a log at that URL.
func ListenOrigin(addr string) (net.Listener, string, error) {
	ln, err := listen.TCP(addr)
	if err != nil {
		return nil, "", err
	}
	host, _, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		ln.Close()
		return nil, "", err
	}
	return ln, host, nil
}

// Self describes the log as served at url, for trust files that point at it.
func (l *Log) Self(url string) tlog.LogInfo {
	return tlog.LogInfo{URL: url, PublicKey: l.pub, APIVersion: 2, Origin: l.origin, Operator: "signet log serve"}
}
