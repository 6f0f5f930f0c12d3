// Package localregistry runs go-containerregistry's in-memory OCI registry,
// with the referrers API on, for demos and tests. It keeps everything in
// memory and is not meant for production.
package localregistry

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/signet-dev/signet/internal/listen"
)

// Server is a running registry.
type Server struct {
	// Addr is the host:port it listens on.
	Addr string
	srv  *http.Server
	done chan error
	stop chan struct{}
	once sync.Once
}

// Option configures Start.
type Option func(*config)

type config struct {
	referrers bool
	logger    *log.Logger
}

// WithReferrers turns the referrers API on or off. Default on.
func WithReferrers(on bool) Option { return func(c *config) { c.referrers = on } }

// WithLogger logs each request to l. Default: no logging.
func WithLogger(l *log.Logger) Option { return func(c *config) { c.logger = l } }

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves until
// Close or until ctx is done.
func Start(ctx context.Context, addr string, opts ...Option) (*Server, error) {
	cfg := config{referrers: true, logger: log.New(io.Discard, "", 0)}
	for _, o := range opts {
		o(&cfg)
	}
	ln, err := listen.TCP(addr)
	if err != nil {
		return nil, err
	}
	h := registry.New(registry.WithReferrersSupport(cfg.referrers), registry.Logger(cfg.logger))
	s := &Server{
		Addr: ln.Addr().String(),
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan error, 1),
		stop: make(chan struct{}),
	}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.stop:
		}
	}()
	return s, nil
}

// Close stops the server. It is safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = s.srv.Shutdown(ctx)
	})
	return err
}

// Wait blocks until the server stops and returns why.
func (s *Server) Wait() error { return <-s.done }
