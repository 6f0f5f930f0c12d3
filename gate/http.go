package gate

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Status is what GET /status answers.
type Status struct {
	// Counts are the records in each state (all of them, not only the
	// page listed).
	Counts map[string]int `json:"counts"`
	Queue  int            `json:"queue"`
	Policy string         `json:"policy,omitempty"`
	// Records are the page of records asked for, the most recent pushes
	// first.
	Records []Record `json:"records"`
	// Next is the offset of the next page, when there may be one.
	Next int `json:"next,omitempty"`
}

// Page sizes of GET /status: the default, and the most one page holds.
const (
	defaultPage = 500
	maxPage     = 1000
)

// Status reports the verdicts q selects (a page of at most 1,000, 500 when
// q.Limit is 0) with the counts and the queue.
func (g *Gate) Status(ctx context.Context, q Query) (Status, error) {
	if q.Limit <= 0 {
		q.Limit = defaultPage
	}
	q.Limit, q.Offset = min(q.Limit, maxPage), max(q.Offset, 0)
	st := Status{Policy: strings.TrimSpace(g.cfg.PolicyName + " " + g.cfg.PolicyHash[:min(12, len(g.cfg.PolicyHash))])}
	var err error
	if st.Queue, err = g.store.queueDepth(ctx); err != nil {
		return Status{}, err
	}
	if st.Counts, err = g.store.counts(ctx); err != nil {
		return Status{}, err
	}
	if st.Records, err = g.store.list(ctx, q); err != nil {
		return Status{}, err
	}
	if len(st.Records) == q.Limit {
		st.Next = q.Offset + q.Limit
	}
	return st, nil
}

// parseQuery reads GET /status's parameters: state, repository, limit
// and offset.
func parseQuery(v url.Values) (Query, error) {
	q := Query{State: v.Get("state"), Repository: v.Get("repository")}
	for _, p := range []struct {
		name string
		to   *int
	}{{"limit", &q.Limit}, {"offset", &q.Offset}} {
		if s := v.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return Query{}, fmt.Errorf("%s=%q: want a number, 0 or more", p.name, s)
			}
			*p.to = n
		}
	}
	return q, nil
}

// maxEnvelope bounds a notification body; the registry batches a few events.
const maxEnvelope = 4 << 20

// Handler serves POST /events (the registry's notifications, which need
// the shared secret), GET /status and, with metrics, GET /metrics (which
// need the status token: /status lists what is pushed where), and GET
// /healthz (open: the process answers) and /readyz (open: the gate can
// keep an event now, its state writable).
func (g *Gate) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /events", g.serveEvents)
	mux.Handle("GET /status", g.withStatusToken(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := parseQuery(r.URL.Query())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		st, err := g.Status(r.Context(), q)
		if err != nil {
			g.cfg.Log.Error("reading the status", "error", err.Error())
			http.Error(w, "cannot read the gate's state", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(st)
	})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := g.ready(r.Context()); err != nil {
			// Open to anyone: the database's own words stay in the log.
			http.Error(w, "not ready: the gate cannot write its state, so it would answer 503 to the registry's notifications; its log says why", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if g.cfg.Metrics != nil {
		mux.Handle("GET /metrics", g.withStatusToken(g.cfg.Metrics.Handler()))
	}
	return mux
}

// withStatusToken answers 401 to a request without the status token.
func (g *Gate) withStatusToken(next http.Handler) http.Handler {
	want := []byte("Bearer " + g.cfg.StatusToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="signet-gate"`)
			http.Error(w, "missing or wrong status token: send Authorization: Bearer TOKEN (the gate's status token, or its shared secret when no status token is set)", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (g *Gate) serveEvents(w http.ResponseWriter, r *http.Request) {
	want := "Bearer " + g.cfg.Secret
	if got := r.Header.Get("Authorization"); subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		g.cfg.Metrics.event("unauthorized")
		http.Error(w, "missing or wrong shared secret", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxEnvelope+1))
	if err != nil || len(body) > maxEnvelope {
		g.cfg.Metrics.event("malformed")
		http.Error(w, "unreadable or oversized notification", http.StatusRequestEntityTooLarge)
		return
	}
	events, err := ParseEnvelope(body)
	if err != nil {
		g.cfg.Metrics.event("malformed")
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, e := range events {
		j, why := e.job(g.cfg.Now())
		if j == nil {
			g.cfg.Metrics.event("ignored")
			if why != "" {
				g.cfg.Log.Warn("notification event refused", "id", e.ID, "reason", why)
			}
			continue
		}
		fresh, err := g.store.accept(r.Context(), j, g.cfg.MaxQueue)
		switch {
		case errors.Is(err, errQueueFull):
			g.cfg.Metrics.event("queue-full")
			w.Header().Set("Retry-After", "5")
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		case err != nil:
			// Nothing of this event was recorded: the registry sends it again.
			g.cfg.Metrics.event("store-error")
			g.cfg.Log.Error("queueing an event", "id", j.ID, "error", err.Error())
			w.Header().Set("Retry-After", "5")
			http.Error(w, "cannot queue the event: the gate's state cannot be written", http.StatusServiceUnavailable)
			return
		case !fresh:
			g.cfg.Metrics.event("duplicate")
			continue
		}
		g.cfg.Metrics.event("accepted")
		g.kick()
	}
	w.WriteHeader(http.StatusOK)
}

// How often, at most, GET /readyz probes the state (anyone may ask it, so
// the database is not written once per request), and how long a probe may
// take.
const (
	readyEvery   = time.Second
	readyTimeout = 2 * time.Second
)

// ready says whether an event would be kept now: the state can be written.
// A queue that is full is not unreadiness: the registry is then answered
// 503 with Retry-After, and sends the event again, while the workers drain
// the queue. Requests within readyEvery of a probe share its answer; the
// log says when the answer, or the reason, changes.
func (g *Gate) ready(ctx context.Context) error {
	r := &g.readiness
	r.Lock()
	defer r.Unlock()
	if !r.at.IsZero() && time.Since(r.at) < readyEvery {
		return r.err
	}
	timeout := r.timeout
	if timeout <= 0 {
		timeout = readyTimeout
	}
	// A caller that goes away does not make the gate unready.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := g.store.writable(ctx)
	switch {
	case err != nil && (r.err == nil || r.at.IsZero() || err.Error() != r.err.Error()):
		g.cfg.Log.Error("not ready: the state cannot be written; notifications are answered 503 until it can", "error", err.Error())
	case err == nil && r.err != nil:
		g.cfg.Log.Info("ready again: the state can be written")
	}
	r.at, r.err = time.Now(), err
	return err
}
