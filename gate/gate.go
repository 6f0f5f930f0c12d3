// Package gate is a registry push gate: it receives the distribution
// registry's notifications, verifies every pushed image against a policy,
// re-checks when signatures arrive (they usually come seconds after the
// image), and records each settled verdict as a signed SLSA verification
// summary attached to the image, which the policy engine (and so admission)
// can accept as a receipt. Only a verdict that is as strict as admission's
// own check is signed PASSED: an enforce rule matched and every check passed,
// verified by the gate itself. Accepted events are queued in a database
// (SQLite, in the state directory) in the transaction that records the event,
// before the registry is answered, so a restart loses nothing; a full queue,
// or a database that cannot be written, answers 503 and the registry sends
// again.
package gate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/verify"
)

// Record states.
const (
	// StatePending: not verified yet, within the grace period.
	StatePending = "pending"
	// StatePassed: an enforce rule matched and every check passed (a PASSED
	// summary is attached).
	StatePassed = "passed"
	// StateAllowed: the policy allows the image without a verdict a receipt
	// may carry — no rule matches it (defaultAction allow), its rule is in
	// warn or audit mode, or a receipt stood in for the checks. No summary
	// is written; Reason says which.
	StateAllowed = "allowed"
	// StateUnverified: no signatures (or attestations) arrived within the grace period.
	StateUnverified = "unverified"
	// StateFailed: what arrived does not satisfy the policy (bad signature,
	// denied) — also under a warn or audit rule, which admission allows.
	StateFailed = "failed"
	// StateError: the gate could not verify (the manifest does not exist, or
	// the registry kept failing).
	StateError = "error"
)

// Record is the gate's verdict for one pushed manifest.
type Record struct {
	Repository string    `json:"repository"`
	Digest     string    `json:"digest"`
	Tags       []string  `json:"tags,omitempty"`
	Pushed     time.Time `json:"pushed"`
	// Deadline is when a pending image counts as unverified.
	Deadline time.Time `json:"deadline"`
	State    string    `json:"state"`
	// Reason is the deciding check in one line.
	Reason  string    `json:"reason,omitempty"`
	Class   string    `json:"class,omitempty"`
	Checks  int       `json:"verifications"`
	Updated time.Time `json:"updated"`
	// VSA is the verification summary attached for the current verdict.
	VSA       string `json:"vsa,omitempty"`
	VSAResult string `json:"vsaResult,omitempty"`
}

func (r *Record) key() string { return r.Repository + "@" + r.Digest }

// Decider decides a policy verdict for an image; *verify.Engine is one.
type Decider interface {
	Decide(ctx context.Context, image string) *verify.Decision
}

// Config is what a Gate needs.
type Config struct {
	// Registry is host[:port] as images in it are named (the gate reads it).
	Registry string
	Client   *oci.Client
	Decider  Decider
	// Attester signs and attaches the verification summaries.
	Attester *attest.Attester
	// Secret is the shared secret the registry sends as "Authorization:
	// Bearer SECRET".
	Secret string
	// StatusToken is the token GET /status and /metrics require as
	// "Authorization: Bearer TOKEN" (default: Secret). It does not open
	// POST /events.
	StatusToken string
	// StateDir holds the gate's database (StateDir/gate.db): the accepted
	// events, the queue and the verdicts. A file-based state an older signet
	// left there (records.json, seen.log, queue/) is imported into it once,
	// then renamed NAME.imported.
	StateDir string
	// Keep, when set, is how long a settled verdict is kept after its last
	// update: older records (and the ids of events accepted before then)
	// are deleted periodically. Zero (the default) keeps every verdict.
	Keep time.Duration
	// Grace is how long a pushed image may wait for its signatures (default 2m).
	Grace time.Duration
	// Recheck is how often pending images past their grace period are
	// settled (default Grace/4, at least 1s).
	Recheck time.Duration
	// Workers verify in parallel (default 4). MaxQueue bounds the queue
	// (default 10000).
	Workers, MaxQueue int
	// VerifierID names the gate in its summaries (default https://signet.dev/gate).
	VerifierID string
	// PolicyName and PolicyHash identify the policy in the summaries; a
	// decision's own PolicyHash, when it has one, is what a summary records.
	// Admission counts a receipt only when it runs the same policy (with
	// the same keys), or lists this digest in receipts.policyDigests.
	PolicyName, PolicyHash string
	Log                    *slog.Logger
	Metrics                *Metrics
	Now                    func() time.Time
}

// Gate is a running push gate.
type Gate struct {
	cfg   Config
	store store
	jobs  chan *job
	wake  chan struct{}

	mu        sync.Mutex
	backlog   []*job          // queued by a previous run
	inflight  map[string]bool // repository@digest being verified
	rechecks  map[string]bool // rechecks waiting in the channel
	scheduled []*job          // jobs whose retry time has not come
}

// New opens the state directory; Run starts the work.
func New(cfg Config) (*Gate, error) {
	if cfg.Registry == "" || cfg.Client == nil || cfg.Decider == nil || cfg.Attester == nil || cfg.StateDir == "" {
		return nil, errors.New("gate: registry, client, decider, attester and state directory are required")
	}
	if cfg.Secret == "" {
		return nil, errors.New("gate: a shared secret is required (the registry sends it as Authorization: Bearer SECRET)")
	}
	if cfg.StatusToken == "" {
		cfg.StatusToken = cfg.Secret
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 2 * time.Minute
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = max(cfg.Grace/4, time.Second)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = 10_000
	}
	if cfg.VerifierID == "" {
		cfg.VerifierID = "https://signet.dev/gate"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Keep < 0 {
		return nil, errors.New("gate: the retention (Keep) must not be negative")
	}
	ctx := context.Background()
	st, err := openStore(ctx, cfg.StateDir)
	if err != nil {
		return nil, err
	}
	g := &Gate{cfg: cfg, store: st, jobs: make(chan *job, cfg.MaxQueue+cfg.Workers), wake: make(chan struct{}, 1),
		inflight: map[string]bool{}, rechecks: map[string]bool{}}
	// What a previous run accepted goes first. Listed before the handler can
	// accept anything, so no job is both listed and sent.
	if g.backlog, err = st.pending(ctx); err != nil {
		st.close()
		return nil, err
	}
	cfg.Metrics.queue(func() int {
		n, _ := g.store.queueDepth(context.Background())
		return n
	})
	return g, nil
}

// Run processes queued events (those left from a previous run first) until
// ctx ends; a job interrupted then stays queued for the next run.
func (g *Gate) Run(ctx context.Context) error {
	defer g.store.close()
	if len(g.backlog) > 0 {
		g.cfg.Log.Info("resuming queued events", "count", len(g.backlog))
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, j := range g.backlog {
			select {
			case g.jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range g.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-g.jobs:
					g.process(ctx, j)
				}
			}
		}()
	}
	tick := time.NewTicker(min(g.cfg.Recheck, time.Second))
	defer tick.Stop()
	lastSweep, lastPrune := time.Time{}, time.Time{}
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-tick.C:
		case <-g.wake:
		}
		g.releaseScheduled(ctx)
		if now := g.cfg.Now(); now.Sub(lastSweep) >= g.cfg.Recheck {
			lastSweep = now
			g.sweep(ctx)
		}
		if now := g.cfg.Now(); g.cfg.Keep > 0 && now.Sub(lastPrune) >= pruneEvery {
			lastPrune = now
			g.prune(ctx, now)
		}
	}
}

// pruneEvery is how often records older than Config.Keep are deleted.
const pruneEvery = time.Hour

// prune deletes the records older than the retention.
func (g *Gate) prune(ctx context.Context, now time.Time) {
	n, err := g.store.prune(ctx, now.Add(-g.cfg.Keep))
	if err != nil {
		g.cfg.Log.Error("deleting old records", "error", err.Error())
		return
	}
	if n > 0 {
		g.cfg.Log.Info("deleted old records", "count", n, "keep", g.cfg.Keep.String())
	}
}

// finish removes a processed job from the queue; when that fails the job
// is done again after a restart, which changes nothing.
func (g *Gate) finish(ctx context.Context, j *job) {
	if err := g.store.done(ctx, j); err != nil {
		g.cfg.Log.Error("removing a job from the queue", "id", j.ID, "error", err.Error())
	}
}

// sweep re-checks pending records whose grace period is over, so they settle.
func (g *Gate) sweep(ctx context.Context) {
	due, err := g.store.due(ctx, g.cfg.Now())
	if err != nil {
		g.cfg.Log.Error("listing the pending records due", "error", err.Error())
		return
	}
	for _, r := range due {
		g.enqueueRecheck(r.Repository, r.Digest)
	}
}

func (g *Gate) enqueueRecheck(repo, digest string) {
	key := repo + "@" + digest
	g.mu.Lock()
	if g.rechecks[key] {
		g.mu.Unlock()
		return
	}
	g.rechecks[key] = true
	g.mu.Unlock()
	select {
	case g.jobs <- &job{ID: "recheck " + key, Repository: repo, Digest: digest, Recheck: true, Received: g.cfg.Now()}:
	default: // the channel is full of events; the next sweep tries again
		g.mu.Lock()
		delete(g.rechecks, key)
		g.mu.Unlock()
	}
}

// releaseScheduled puts jobs whose retry time has come back in the channel.
func (g *Gate) releaseScheduled(ctx context.Context) {
	now := g.cfg.Now()
	g.mu.Lock()
	var keep []*job
	var ready []*job
	for _, j := range g.scheduled {
		if now.After(j.Received.Add(backoff(j.Attempts))) {
			ready = append(ready, j)
		} else {
			keep = append(keep, j)
		}
	}
	g.scheduled = keep
	g.mu.Unlock()
	for _, j := range ready {
		select {
		case g.jobs <- j:
		case <-ctx.Done():
			return
		}
	}
}

func backoff(attempts int) time.Duration {
	return min(time.Duration(1<<min(attempts, 6))*time.Second, time.Minute)
}

// maxAttempts bounds retries of a job whose registry keeps failing.
const maxAttempts = 8

// sigTag matches the tags signatures and attestations are stored under:
// cosign's legacy sha256-<hex>.sig/.att and the referrers fallback tag.
var sigTag = regexp.MustCompile(`^sha256-([0-9a-f]{64})(\.[a-z]+)?$`)

// process handles one job: classify the pushed manifest by what it is,
// then verify it (an image or index under a tag) or the image it is about
// (a signature, an attestation, a referrers fallback index).
func (g *Gate) process(ctx context.Context, j *job) {
	if j.Recheck {
		g.mu.Lock()
		delete(g.rechecks, j.Repository+"@"+j.Digest)
		g.mu.Unlock()
		g.verify(ctx, j, j.Repository, j.Digest)
		return
	}
	raw, mt, err := g.cfg.Client.Manifest(ctx, g.ref(j.Repository, j.Digest))
	if err != nil {
		g.fail(ctx, j, err)
		return
	}
	m, err := parseManifest(raw, mt)
	if err != nil {
		g.fail(ctx, j, err)
		return
	}
	k, err := g.classify(ctx, j, m)
	if err != nil {
		g.fail(ctx, j, err)
		return
	}
	switch {
	case k == kindSummary:
		g.finish(ctx, j) // a verification summary (ours): nothing to re-check
	case k == kindSignature:
		g.cfg.Metrics.event("signature")
		g.recheck(ctx, j, j.Repository, subjectOf(j, m))
	case k == kindReferrers:
		g.cfg.Metrics.event("signature")
		g.recheck(ctx, j, j.Repository, "sha256:"+fallbackTag.FindStringSubmatch(j.Tag)[1])
	case j.Tag == "" && m.Subject != nil:
		g.recheck(ctx, j, j.Repository, m.Subject.Digest) // an untagged artifact about an image
	case j.Tag == "":
		g.finish(ctx, j) // an untagged manifest: an index's entry, verified through the index
	default:
		// An image (or index) under a tag is judged, whatever else it
		// carries; one that names a subject also has its subject re-checked.
		if m.Subject != nil && digestRe.MatchString(m.Subject.Digest) {
			if _, ok, err := g.store.get(ctx, j.Repository, m.Subject.Digest); err != nil {
				g.fail(ctx, j, err)
				return
			} else if ok {
				g.enqueueRecheck(j.Repository, m.Subject.Digest)
			}
		}
		g.verify(ctx, j, j.Repository, j.Digest)
	}
}

// recheck re-verifies a subject when something is attached to it — if the
// gate has seen it pushed; signatures pushed for images the gate never saw
// are not its business.
func (g *Gate) recheck(ctx context.Context, j *job, repo, digest string) {
	if digest == "" {
		g.finish(ctx, j)
		return
	}
	_, ok, err := g.store.get(ctx, repo, digest)
	if err != nil {
		g.fail(ctx, j, err)
		return
	}
	if !ok {
		g.finish(ctx, j)
		return
	}
	g.verify(ctx, j, repo, digest)
}

func (g *Gate) ref(repo, digest string) string { return g.cfg.Registry + "/" + repo + "@" + digest }

// verify decides for repository@digest and records the verdict; a settled
// verdict that changed is attached as a verification summary.
func (g *Gate) verify(ctx context.Context, j *job, repo, digest string) {
	key := repo + "@" + digest
	g.mu.Lock()
	if g.inflight[key] {
		// Another worker is on it; look again once it is done.
		g.mu.Unlock()
		j.Received = g.cfg.Now()
		g.schedule(j)
		return
	}
	g.inflight[key] = true
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.inflight, key)
		g.mu.Unlock()
	}()

	start := g.cfg.Now()
	d := g.cfg.Decider.Decide(ctx, g.ref(repo, digest))
	g.cfg.Metrics.latency(time.Since(start))
	if ctx.Err() != nil {
		return // shutting down: the job stays queued
	}
	if d.Class == verify.ClassTransient {
		// Also under warn and audit rules: a registry hiccup is no verdict.
		g.fail(ctx, j, errors.New(d.Reason))
		return
	}
	passed, why := passes(d)
	now := g.cfg.Now()
	rec, err := g.store.update(ctx, repo, digest, func(r *Record) {
		if r.Pushed.IsZero() {
			r.Pushed, r.Deadline = j.Received, j.Received.Add(g.cfg.Grace)
		}
		if j.Tag != "" && j.Digest == digest && !slices.Contains(r.Tags, j.Tag) { // the tag of what was pushed, not of a signature about it
			r.Tags = append(r.Tags, j.Tag)
		}
		r.Checks++
		r.Updated, r.Reason, r.Class = now, why, string(d.Class)
		switch {
		case passed:
			r.State = StatePassed
		case d.Allowed && !d.Failed():
			r.State = StateAllowed
		case now.Before(r.Deadline):
			r.State = StatePending
		case d.Class == verify.ClassNotFound:
			r.State = StateUnverified
		default:
			r.State = StateFailed
		}
	})
	if err != nil {
		g.cfg.Log.Error("saving a verdict", "image", key, "error", err.Error())
		return // the job stays queued and is retried after a restart
	}
	g.cfg.Metrics.verdict(rec.State)
	g.cfg.Log.Info("verdict", "image", key, "tags", rec.Tags, "state", rec.State, "reason", rec.Reason, "verifications", rec.Checks)
	if result := vsaResult(rec.State); result != "" && result != rec.VSAResult {
		g.summarize(ctx, rec, d, result)
	}
	g.finish(ctx, j)
	if rec.State == StatePending {
		g.wakeUp()
	}
}

// passes reports whether a decision may be signed as PASSED: an enforce
// rule matched, every check passed, and no receipt stood in for the checks
// (signing that again would renew the receipt's time without verifying
// anything). Otherwise it says why not, for the record.
func passes(d *verify.Decision) (bool, string) {
	switch {
	case d.Failed() || !d.Allowed:
		if d.Mode == "warn" || d.Mode == "audit" {
			return false, d.Reason + " (rule in " + d.Mode + " mode: admission allows it, but it did not pass)"
		}
		return false, d.Reason
	case d.Rule == "":
		return false, "no rule matches and defaultAction is allow: nothing was verified, so no summary is written"
	case d.Mode != "enforce":
		return false, fmt.Sprintf("rule %q is in %s mode: only an enforce rule's verdict is written as PASSED", d.Rule, d.Mode)
	}
	for _, c := range d.Checks {
		if c.Name == "receipt" && c.Outcome == verify.Pass {
			return false, "allowed on a receipt, not verified by the gate itself: no summary is written (" + c.Message + ")"
		}
	}
	return true, ""
}

func vsaResult(state string) string {
	switch state {
	case StatePassed:
		return "PASSED"
	case StateFailed, StateUnverified:
		return "FAILED"
	}
	return ""
}

// summarize signs and attaches a verification summary of the verdict.
func (g *Gate) summarize(ctx context.Context, rec Record, d *verify.Decision, result string) {
	stmt, err := Summary(g.cfg, rec, d, result, g.cfg.Now())
	if err != nil {
		g.cfg.Log.Error("building a verification summary", "image", rec.key(), "error", err.Error())
		return
	}
	out, err := g.cfg.Attester.AttestImage(ctx, g.ref(rec.Repository, rec.Digest), attest.Request{Statement: stmt})
	if err != nil {
		g.cfg.Log.Error("attaching a verification summary", "image", rec.key(), "error", err.Error())
		return
	}
	if _, err := g.store.update(ctx, rec.Repository, rec.Digest, func(r *Record) {
		r.VSAResult = result
		if len(out) > 0 {
			r.VSA = out[0].Attached.Digest.String()
		}
	}); err != nil {
		g.cfg.Log.Error("recording a verification summary", "image", rec.key(), "error", err.Error())
	}
}

// fail handles a job that could not be verified: a manifest that does not
// exist is recorded as an error at once; registry trouble is retried with
// backoff, then recorded.
func (g *Gate) fail(ctx context.Context, j *job, err error) {
	if ctx.Err() != nil {
		return
	}
	j.Attempts++
	if !errors.Is(err, oci.ErrNotFound) && j.Attempts < maxAttempts {
		j.Received = g.cfg.Now()
		g.schedule(j)
		return
	}
	if j.Recheck {
		g.finish(ctx, j)
		return
	}
	now := g.cfg.Now()
	rec, serr := g.store.update(ctx, j.Repository, j.Digest, func(r *Record) {
		if r.Pushed.IsZero() {
			r.Pushed, r.Deadline = j.Received, j.Received.Add(g.cfg.Grace)
		}
		if j.Tag != "" && !slices.Contains(r.Tags, j.Tag) {
			r.Tags = append(r.Tags, j.Tag)
		}
		r.State, r.Reason, r.Updated = StateError, err.Error(), now
	})
	if serr != nil {
		g.cfg.Log.Error("saving a verdict", "image", j.Repository+"@"+j.Digest, "error", serr.Error())
		return // the job stays queued and is retried after a restart
	}
	g.cfg.Metrics.verdict(rec.State)
	g.cfg.Log.Warn("cannot verify", "image", rec.key(), "error", err.Error())
	g.finish(ctx, j)
}

func (g *Gate) schedule(j *job) {
	g.mu.Lock()
	g.scheduled = append(g.scheduled, j)
	g.mu.Unlock()
}

func (g *Gate) wakeUp() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}
