// Package gate is a registry push gate: it receives the distribution
// registry's notifications, verifies every pushed image against a policy,
// re-checks when signatures arrive (they usually come seconds after the
// image), and records each settled verdict as a signed SLSA verification
// summary attached to the image, which the policy engine (and so admission)
// can accept as a receipt. Only a verdict that is as strict as admission's
// own check is signed PASSED: an enforce rule matched and every check passed,
// verified by the gate itself. Accepted events are queued in a database
// (SQLite in the state directory, or PostgreSQL) in the transaction that
// records the event, before the registry is answered, so a restart loses
// nothing; a full queue, or a database that cannot be written, answers 503
// and the registry sends again. Replicas on one PostgreSQL database share
// the queue: each claims jobs for a lease, so a job is worked on by one
// replica at a time and a crashed replica's jobs are claimed again when
// their lease ends; one verification summary is written per settled result.
package gate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/internal/lazyre"
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

	summary summaryClaim
}

// summaryClaim names the summary being written for a record: the result,
// the job that claimed the writing (in the transaction that recorded the
// verdict) and the time the summary states it was verified.
type summaryClaim struct {
	result, job string
	at          time.Time
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
	// State is where the gate keeps the accepted events, the queue and the
	// verdicts: a directory (a SQLite database, State/gate.db; a file-based
	// state an older signet left there — records.json, seen.log, queue/ —
	// is imported into it once, then renamed NAME.imported), or a
	// PostgreSQL database's URL, postgres://USER@HOST:PORT/DATABASE (the
	// password in the URL or PGPASSWORD), which replicas may share.
	State string
	// Lease is how long a claimed job is a replica's before another may
	// claim it (default 2m); a live replica renews the leases of the jobs it
	// works on, so only a dead one's run out.
	Lease time.Duration
	// Poll is how often the queue is looked at for jobs queued by others (a
	// backfill, another replica's re-checks) or due for a retry (default 1s).
	Poll time.Duration
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
	// owner names this replica in the claims it makes.
	owner string
	// wake tells the dispatcher a job was queued here.
	wake chan struct{}
	// own verifies with the key the summaries are signed with, so a run of
	// a job adopts only a summary the gate itself attached (nil when the
	// attester signs keyless: then none is adopted).
	own *verify.Verifier

	mu       sync.Mutex
	inflight map[string]bool // repository@digest being verified here
	held     map[int64]bool  // jobs claimed here and being worked on

	// readiness is GET /readyz's last probe of the state.
	readiness struct {
		sync.Mutex
		at  time.Time
		err error
		// timeout bounds a probe (default readyTimeout).
		timeout time.Duration
	}
}

// New opens the state; Run starts the work.
func New(cfg Config) (*Gate, error) {
	if cfg.Registry == "" || cfg.Client == nil || cfg.Decider == nil || cfg.Attester == nil || cfg.State == "" {
		return nil, errors.New("gate: registry, client, decider, attester and state are required")
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
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
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
	var own *verify.Verifier
	if pub := cfg.Attester.PublicKey(); pub != nil {
		v, err := verify.New(cfg.Client, []verify.Key{{Name: "gate", PublicKey: pub}})
		if err != nil {
			return nil, fmt.Errorf("gate: the summaries' signing key: %w", err)
		}
		own = v
	}
	st, err := openStore(context.Background(), cfg.State)
	if err != nil {
		return nil, err
	}
	g := &Gate{cfg: cfg, store: st, owner: replicaName(), wake: make(chan struct{}, 1), own: own,
		inflight: map[string]bool{}, held: map[int64]bool{}}
	cfg.Metrics.queue(func() int {
		n, _ := g.store.queueDepth(context.Background())
		return n
	})
	return g, nil
}

// Run processes queued events (those left from a previous run, or queued by
// another replica or a backfill, too) until ctx ends; a job interrupted then
// is released for the next run, or another replica, to claim.
func (g *Gate) Run(ctx context.Context) error {
	defer g.store.close()
	if n, err := g.store.queueDepth(ctx); err == nil && n > 0 {
		g.cfg.Log.Info("resuming queued events", "count", n)
	}
	var wg sync.WaitGroup
	work := make(chan *job)
	idle := make(chan struct{}, g.cfg.Workers)
	for range g.cfg.Workers {
		idle <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				g.process(ctx, j)
				g.unhold(j)
				idle <- struct{}{}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		g.dispatch(ctx, work, idle)
	}()
	tick := time.NewTicker(min(g.cfg.Recheck, time.Second))
	defer tick.Stop()
	lastSweep, lastPrune, lastRenew := time.Time{}, time.Time{}, g.cfg.Now()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			g.releaseAll()
			return nil
		case <-tick.C:
		}
		now := g.cfg.Now()
		if now.Sub(lastRenew) >= g.cfg.Lease/3 {
			lastRenew = now
			g.renew(ctx, now)
		}
		if now.Sub(lastSweep) >= g.cfg.Recheck {
			lastSweep = now
			g.sweep(ctx)
		}
		if g.cfg.Keep > 0 && now.Sub(lastPrune) >= pruneEvery {
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
// is claimed and done again once its lease ends, which changes nothing.
func (g *Gate) finish(ctx context.Context, j *job) {
	if err := g.store.done(ctx, j); err != nil {
		g.cfg.Log.Error("removing a job from the queue", "id", j.ID, "error", err.Error())
	}
}

// sweep queues re-checks of the pending records whose grace period is
// over, so they settle. A re-check's event id names the record and its
// deadline, so replicas sweeping at once queue one job.
func (g *Gate) sweep(ctx context.Context) {
	due, err := g.store.due(ctx, g.cfg.Now())
	if err != nil {
		g.cfg.Log.Error("listing the pending records due", "error", err.Error())
		return
	}
	for _, r := range due {
		id := fmt.Sprintf("recheck %s deadline %d", r.key(), nanos(r.Deadline))
		if err := g.enqueueRecheck(ctx, id, r.Repository, r.Digest); err != nil {
			g.cfg.Log.Error("queueing a re-check", "image", r.key(), "error", err.Error())
			return
		}
	}
}

// enqueueRecheck queues a re-verification of repo@digest under the event
// id id, unless one with that id is queued already.
func (g *Gate) enqueueRecheck(ctx context.Context, id, repo, digest string) error {
	fresh, err := g.store.enqueue(ctx, &job{ID: id, Repository: repo, Digest: digest, Recheck: true, Received: g.cfg.Now()})
	if fresh {
		g.kick()
	}
	return err
}

func backoff(attempts int) time.Duration {
	return min(time.Duration(1<<min(attempts, 6))*time.Second, time.Minute)
}

// maxAttempts bounds retries of a job whose registry keeps failing.
const maxAttempts = 8

// sigTag matches the tags signatures and attestations are stored under:
// cosign's legacy sha256-<hex>.sig/.att and the referrers fallback tag.
var sigTag = lazyre.New(`^sha256-([0-9a-f]{64})(\.[a-z]+)?$`)

// process handles one job: classify the pushed manifest by what it is,
// then verify it (an image or index under a tag) or the image it is about
// (a signature, an attestation, a referrers fallback index).
func (g *Gate) process(ctx context.Context, j *job) {
	if j.Recheck {
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
				if err := g.enqueueRecheck(ctx, "recheck "+j.Repository+"@"+m.Subject.Digest+" after "+j.ID, j.Repository, m.Subject.Digest); err != nil {
					g.fail(ctx, j, err)
					return
				}
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
	if !ok && j.Attempts < recheckWaits {
		// No verdict yet: the image's first decision may be in flight,
		// here or at another replica, made before this signature was
		// there. Dropping the signature's event would leave that verdict
		// standing; look again once it has landed.
		j.Attempts++
		g.retry(ctx, j, g.cfg.Now().Add(backoff(j.Attempts)))
		return
	}
	if !ok {
		g.finish(ctx, j) // an image the gate never judged: nothing to re-check
		return
	}
	g.verify(ctx, j, repo, digest)
}

// recheckWaits is how many times a signature's event waits for its image's
// first verdict (backoff 2 s, 4 s, 8 s) before it is dropped as being about
// an image the gate never judged.
const recheckWaits = 3

func (g *Gate) ref(repo, digest string) string { return g.cfg.Registry + "/" + repo + "@" + digest }

// verify decides for repository@digest and records the verdict; a settled
// verdict whose result has no summary yet is attached as a verification
// summary by the one job that claims it in the verdict's transaction.
func (g *Gate) verify(ctx context.Context, j *job, repo, digest string) {
	key := repo + "@" + digest
	g.mu.Lock()
	if g.inflight[key] {
		// Another worker here is on it; look again once it is done.
		g.mu.Unlock()
		g.retry(ctx, j, g.cfg.Now().Add(backoff(j.Attempts)))
		return
	}
	g.inflight[key] = true
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.inflight, key)
		g.mu.Unlock()
	}()

	// The verdict recorded as this decision begins: when another replica
	// records one while this decision runs, that one may rest on newer
	// registry contents (a signature removed since), so this decision is
	// made again rather than recorded over it. Every verdict sets Updated.
	before, _, err := g.store.get(ctx, repo, digest)
	if err != nil {
		g.cfg.Log.Error("reading the verdict before deciding", "image", key, "error", err.Error())
		g.retry(ctx, j, g.cfg.Now().Add(backoff(j.Attempts)))
		return
	}
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
	var mine, resumed, stale bool
	rec, err := g.store.updateHeld(ctx, j, g.hold(now), repo, digest, func(r *Record) bool {
		if stale = !r.Updated.Equal(before.Updated); stale {
			return false
		}
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
		mine, resumed = r.claimSummary(j.ID, vsaResult(r.State), now)
		return !mine // no summary to write: the job is done with the verdict
	})
	if err != nil {
		g.leave(ctx, j, key, err)
		return
	}
	if stale {
		g.cfg.Log.Info("another verdict was recorded while deciding: deciding again", "image", key, "id", j.ID)
		g.retry(ctx, j, g.cfg.Now())
		g.kick()
		return
	}
	g.cfg.Metrics.verdict(rec.State)
	g.cfg.Log.Info("verdict", "image", key, "tags", rec.Tags, "state", rec.State, "reason", rec.Reason, "verifications", rec.Checks)
	if mine {
		err := g.summarize(ctx, j, rec, d, resumed)
		switch {
		case errors.Is(err, errNotAttached):
			g.retrySummary(ctx, j, key)
			return
		case err != nil:
			// Not recorded: the job stays queued, claimed again when its
			// lease ends, and its re-run finds the summary attached.
			g.cfg.Log.Error("recording a verification summary", "image", key, "error", err.Error())
			return
		}
		g.finish(ctx, j)
	}
}

// retrySummary runs j again, with backoff, after the registry refused the
// summary of its verdict: the summary is not dropped, since a FAILED one is
// what revokes the gate's earlier PASSED summary, on which admission would
// otherwise go on admitting the image. After maxAttempts the job is given
// up, loudly: the image's record then shows a verdict without its summary.
func (g *Gate) retrySummary(ctx context.Context, j *job, key string) {
	if ctx.Err() != nil {
		return // shutting down: the job stays queued
	}
	j.Attempts++
	if j.Attempts < maxAttempts {
		g.retry(ctx, j, g.cfg.Now().Add(backoff(j.Attempts)))
		return
	}
	g.cfg.Log.Error("giving up attaching a verification summary: the verdict has none until the image is verified again (see the registry's errors above)",
		"image", key, "attempts", j.Attempts)
	g.finish(ctx, j)
}

// leave logs why a job's verdict was not recorded. The job stays queued:
// with its lease lost another replica has it; otherwise (the database
// failed) it is put back for a retry, or, when the database cannot take
// even that, claimed again once its lease ends.
func (g *Gate) leave(ctx context.Context, j *job, key string, err error) {
	if errors.Is(err, errLeaseLost) {
		g.cfg.Log.Warn("leaving a job to the replica that holds it now", "id", j.ID, "image", key)
		return
	}
	g.cfg.Log.Error("saving a verdict", "image", key, "error", err.Error())
	if ctx.Err() == nil {
		g.retry(ctx, j, g.cfg.Now().Add(backoff(j.Attempts)))
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

// fail handles a job that could not be verified: a manifest that does not
// exist is recorded as an error at once; registry trouble is retried with
// backoff, then recorded.
func (g *Gate) fail(ctx context.Context, j *job, err error) {
	if ctx.Err() != nil {
		return
	}
	j.Attempts++
	if !errors.Is(err, oci.ErrNotFound) && j.Attempts < maxAttempts {
		g.retry(ctx, j, g.cfg.Now().Add(backoff(j.Attempts)))
		return
	}
	if j.Recheck {
		// Given up: a summary it claimed is the next verification's to write.
		if rerr := g.store.releaseSummary(ctx, j.ID); rerr != nil {
			g.cfg.Log.Error("releasing a summary's claim", "id", j.ID, "error", rerr.Error())
			return
		}
		g.finish(ctx, j)
		return
	}
	now := g.cfg.Now()
	rec, serr := g.store.updateHeld(ctx, j, g.hold(now), j.Repository, j.Digest, func(r *Record) bool {
		if r.Pushed.IsZero() {
			r.Pushed, r.Deadline = j.Received, j.Received.Add(g.cfg.Grace)
		}
		if j.Tag != "" && !slices.Contains(r.Tags, j.Tag) {
			r.Tags = append(r.Tags, j.Tag)
		}
		r.State, r.Reason, r.Updated = StateError, err.Error(), now
		return false
	})
	if serr != nil {
		g.leave(ctx, j, j.Repository+"@"+j.Digest, serr)
		return
	}
	g.cfg.Metrics.verdict(rec.State)
	g.cfg.Log.Warn("cannot verify", "image", rec.key(), "error", err.Error())
	if rerr := g.store.releaseSummary(ctx, j.ID); rerr != nil {
		g.cfg.Log.Error("releasing a summary's claim", "id", j.ID, "error", rerr.Error())
		return
	}
	g.finish(ctx, j)
}
