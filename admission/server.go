package admission

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/signet-dev/signet/internal/listen"
)

// ServerConfig is what Serve needs.
type ServerConfig struct {
	// Addr to listen on, e.g. ":8443".
	Addr string
	// CertFile and KeyFile are the TLS key pair; they are re-read when they
	// change, so a renewed certificate is served without a restart.
	CertFile, KeyFile string
	Webhook           *Webhook
	// Load rebuilds the decider from the policy; nil disables reloading.
	// It runs when a file in Watch changes and on SIGHUP; a policy that no
	// longer loads is logged and the running one kept.
	Load func() (Decider, error)
	// Watch lists files and directories (each regular file directly inside)
	// whose content is checked every WatchEvery (default 5s).
	Watch      []string
	WatchEvery time.Duration
	Log        *slog.Logger
	// Listening, when set, is called with the bound address once the
	// server accepts connections.
	Listening func(addr net.Addr)
	// Routes are served next to the webhook's own (pattern: handler), e.g.
	// the policy resources' validating webhook.
	Routes map[string]http.Handler
}

// Serve runs the webhook over HTTPS until ctx ends, then stops taking new
// reviews (/readyz answers 503) and drains the running ones.
func Serve(ctx context.Context, cfg ServerConfig) error {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	certs, err := NewCertReloader(cfg.CertFile, cfg.KeyFile, log)
	if err != nil {
		return err
	}
	ln, err := listen.TCP(cfg.Addr)
	if err != nil {
		return err
	}
	handler := cfg.Webhook.Handler()
	if len(cfg.Routes) > 0 {
		mux := http.NewServeMux()
		mux.Handle("/", handler)
		for pattern, h := range cfg.Routes {
			mux.Handle(pattern, h)
		}
		handler = mux
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate}}

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	if cfg.Load != nil {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		wg.Add(1)
		go func() {
			defer wg.Done()
			Watch(ctx, cfg.Watch, cfg.WatchEvery, hup, func(why string) {
				d, err := cfg.Load()
				cfg.Webhook.metrics.Reload(err)
				if err != nil {
					log.Error("policy reload failed; keeping the running policy", "trigger", why, "error", err.Error())
					return
				}
				cfg.Webhook.SetDecider(d)
				log.Info("policy reloaded; verdict cache cleared", "trigger", why)
			})
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		cfg.Webhook.SetReady(false)
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if cfg.Listening != nil {
		cfg.Listening(ln.Addr())
	}
	err = srv.ServeTLS(ln, "", "")
	stop()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Watch calls reload when the content of paths changes (checked every
// interval; default 5s) or a signal arrives on trigger, until ctx ends.
// Content, not modification times, is compared: a Kubernetes ConfigMap
// update swaps a symlink and keeps nothing else stable.
func Watch(ctx context.Context, paths []string, every time.Duration, trigger <-chan os.Signal, reload func(why string)) {
	if every <= 0 {
		every = 5 * time.Second
	}
	last := fingerprint(paths)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-trigger:
			last = fingerprint(paths)
			reload("signal " + s.String())
		case <-tick.C:
			if fp := fingerprint(paths); fp != last {
				last = fp
				reload("files changed")
			}
		}
	}
}

// fingerprint hashes the names and contents of the files (at most 64 per
// directory, 4 MiB each; a policy directory holds a few small files).
func fingerprint(paths []string) string {
	h := sha256.New()
	add := func(p string) {
		f, err := os.Open(p)
		if err != nil {
			fmt.Fprintf(h, "%s\x00missing\x00", p)
			return
		}
		defer f.Close()
		fmt.Fprintf(h, "%s\x00", p)
		io.Copy(h, io.LimitReader(f, 4<<20))
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil || !fi.IsDir() {
			add(p)
			continue
		}
		entries, _ := os.ReadDir(p)
		var names []string
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names[:min(len(names), 64)] {
			if fi, err := os.Stat(filepath.Join(p, n)); err == nil && fi.Mode().IsRegular() {
				add(filepath.Join(p, n))
			}
		}
	}
	return string(h.Sum(nil))
}

// CertReloader serves a TLS key pair from files, re-reading them (at most
// once a second) when their size or modification time changes. A pair that
// fails to load is logged and the previous one kept.
type CertReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string
	checked time.Time
}

// NewCertReloader loads the pair once; an error here is fatal for a server.
// Reloads are logged to log (nil: not logged).
func NewCertReloader(certFile, keyFile string, log *slog.Logger) (*CertReloader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &CertReloader{certFile: certFile, keyFile: keyFile, log: log}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading the TLS certificate: %w", err)
	}
	c.cert, c.stamp, c.checked = &pair, c.fileStamp(), time.Now()
	return c, nil
}

func (c *CertReloader) fileStamp() string {
	var b strings.Builder
	for _, p := range []string{c.certFile, c.keyFile} {
		if fi, err := os.Stat(p); err == nil {
			fmt.Fprintf(&b, "%d/%d;", fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return b.String()
}

// GetCertificate is for tls.Config.
func (c *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) < time.Second {
		return c.cert, nil
	}
	c.checked = time.Now()
	stamp := c.fileStamp()
	if stamp == c.stamp {
		return c.cert, nil
	}
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		// Mid-rotation the two files may not match yet; try again later.
		c.log.Warn("TLS certificate reload failed; serving the previous one", "error", err.Error())
		return c.cert, nil
	}
	c.cert, c.stamp = &pair, stamp
	c.log.Info("TLS certificate reloaded", "cert", c.certFile)
	return c.cert, nil
}
