package gate

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sync"
	"time"

	"github.com/signet-dev/signet/oci"
)

// Lister is what a backfill reads from the registry; *oci.Client is one.
type Lister interface {
	// Catalog lists every repository of registry, all pages, refusing more than max.
	Catalog(ctx context.Context, registry string, pageSize, max int) ([]string, error)
	// Tags lists every tag of repo (REGISTRY/REPOSITORY), all pages, refusing more than max.
	Tags(ctx context.Context, repo string, max int) ([]string, error)
	// Resolve finds the digest (and media type) an image reference names.
	Resolve(ctx context.Context, ref string) (*oci.Target, error)
}

// BackfillConfig says what a backfill walks.
type BackfillConfig struct {
	// Registry is host[:port] as images in it are named.
	Registry string
	// Client reads the catalogue, the tags and their digests.
	Client Lister
	// Repositories, when set, are glob patterns (path.Match: team/*, app)
	// a repository must match one of; unset, every repository is walked.
	Repositories []string
	// Workers list tags and resolve them in parallel (default 8).
	Workers int
	// MaxQueue is how many jobs may be queued (default 10000, as the gate's
	// own); a backfill that would queue more stops with ErrQueueFull, and
	// is run again once the gate has worked through its queue.
	MaxQueue int
	// MaxRepositories and MaxTags cap the catalogue and each repository's
	// tags (defaults oci.DefaultMaxRepositories and oci.DefaultMaxTags); a
	// longer list is an error, not a partial backfill.
	MaxRepositories, MaxTags int
	// PageSize is the n asked of the catalogue per page (default: the
	// client's).
	PageSize int
	// Progress, when set, is called (never concurrently) each time a
	// repository is listed or a tag resolved.
	Progress func(BackfillProgress)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// BackfillProgress is how far a backfill has come.
type BackfillProgress struct {
	Repositories, RepositoriesDone int
	// Tags counts the image tags of the repositories listed so far.
	Tags, TagsDone int
}

// BackfillResult is what a backfill did.
type BackfillResult struct {
	Registry string `json:"registry"`
	// Repositories walked (after the --repository filter).
	Repositories int `json:"repositories"`
	// Tags resolved: image tags, not signature or attestation tags.
	Tags int `json:"tags"`
	// SkippedTags name signatures, attestations, SBOMs or referrers
	// fallback indexes (sha256-<hex>[.sig|.att|.sbom]).
	SkippedTags int `json:"skippedTags"`
	// Images are the distinct repository@digest the tags name.
	Images int `json:"images"`
	// Queued are the images queued now; Known those queued or judged before.
	Queued int `json:"queued"`
	Known  int `json:"known"`
	// Seconds is how long the backfill took.
	Seconds float64 `json:"seconds"`
}

// ErrQueueFull means the gate's queue is full: the backfill stopped, and
// what it queued stays queued; run it again once the gate has caught up.
var ErrQueueFull = errQueueFull

// Backfill queues, in the gate's state (a directory or a PostgreSQL URL,
// as Config.State), every image of the
// registry that is neither queued nor judged there, for the gate's workers
// to judge. It is idempotent: each image is queued under the event id
// "backfill:REPOSITORY@DIGEST", and only if, in the same transaction, it
// has neither a record nor a queued job (a notification's included), so
// running it again (after a crash, or
// while a gate runs) queues only what is still missing — no cursor is
// kept. A gate already running on the same state claims the queued
// images within a second (its poll); Gate.Backfill (signet gate serve
// --backfill) wakes its workers at once.
func Backfill(ctx context.Context, state string, cfg BackfillConfig) (*BackfillResult, error) {
	st, err := openStore(ctx, state)
	if err != nil {
		return nil, err
	}
	defer st.close()
	return backfill(ctx, st, cfg, nil)
}

// Backfill is the package's Backfill into the running gate's state: the
// images it queues go to the gate's workers as they are queued. The
// registry and clock are the gate's.
func (g *Gate) Backfill(ctx context.Context, cfg BackfillConfig) (*BackfillResult, error) {
	cfg.Registry, cfg.Now, cfg.MaxQueue = g.cfg.Registry, g.cfg.Now, g.cfg.MaxQueue
	if cfg.Client == nil {
		cfg.Client = g.cfg.Client
	}
	return backfill(ctx, g.store, cfg, func(*job) error {
		g.kick()
		return nil
	})
}

func (cfg *BackfillConfig) validate() error {
	if cfg.Registry == "" || cfg.Client == nil {
		return errors.New("gate: a backfill needs the registry and a client")
	}
	for _, p := range cfg.Repositories {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("gate: repository pattern %q: %w", p, err)
		}
	}
	if cfg.Workers < 0 || cfg.MaxQueue < 0 {
		return errors.New("gate: workers and the queue's size must not be negative")
	}
	if cfg.Workers == 0 {
		cfg.Workers = 8
	}
	if cfg.MaxQueue == 0 {
		cfg.MaxQueue = 10_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return nil
}

// wanted says whether repo is a repository name that matches the patterns.
func (cfg *BackfillConfig) wanted(repo string) bool {
	if !validRepository(repo) {
		return false
	}
	if len(cfg.Repositories) == 0 {
		return true
	}
	for _, p := range cfg.Repositories {
		if ok, _ := path.Match(p, repo); ok {
			return true
		}
	}
	return false
}

// tagRef is one tag to resolve.
type tagRef struct{ repo, tag string }

// walk is one backfill's shared state.
type walk struct {
	cfg   BackfillConfig
	st    store
	send  func(*job) error
	start time.Time

	mu     sync.Mutex
	res    BackfillResult
	prog   BackfillProgress
	images map[string]bool // repository@digest seen in this run
}

func backfill(ctx context.Context, st store, cfg BackfillConfig, send func(*job) error) (*BackfillResult, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	w := &walk{cfg: cfg, st: st, send: send, start: cfg.Now(), images: map[string]bool{}}
	w.res.Registry = cfg.Registry
	all, err := cfg.Client.Catalog(ctx, cfg.Registry, cfg.PageSize, cfg.MaxRepositories)
	if err != nil {
		return nil, err
	}
	var repos []string
	for _, r := range all {
		if cfg.wanted(r) {
			repos = append(repos, r)
		}
	}
	w.res.Repositories, w.prog.Repositories = len(repos), len(repos)
	w.report()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	tags := w.list(ctx, cancel, repos)
	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range tags {
				if ctx.Err() != nil {
					continue // drain: the listers stop on their own
				}
				if err := w.queue(ctx, t); err != nil {
					cancel(err)
				}
			}
		}()
	}
	wg.Wait()
	w.res.Seconds = cfg.Now().Sub(w.start).Seconds()
	if err := context.Cause(ctx); err != nil {
		return &w.res, err
	}
	return &w.res, nil
}

// list lists the tags of repos with cfg.Workers listers and sends the
// image tags (attached-artifact tags are counted and left out) on the
// channel it returns, which is closed when every repository is listed or
// ctx ends.
func (w *walk) list(ctx context.Context, cancel context.CancelCauseFunc, repos []string) <-chan tagRef {
	names := make(chan string)
	tags := make(chan tagRef, 4*w.cfg.Workers)
	go func() {
		defer close(names)
		for _, r := range repos {
			select {
			case names <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range min(w.cfg.Workers, max(len(repos), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for repo := range names {
				ts, err := w.cfg.Client.Tags(ctx, w.cfg.Registry+"/"+repo, w.cfg.MaxTags)
				if err != nil {
					cancel(err)
					return
				}
				var keep []string
				for _, t := range ts {
					if !oci.AttachedTag(t) {
						keep = append(keep, t)
					}
				}
				w.mu.Lock()
				w.res.SkippedTags += len(ts) - len(keep)
				w.prog.RepositoriesDone++
				w.prog.Tags += len(keep)
				w.reportLocked()
				w.mu.Unlock()
				for _, t := range keep {
					select {
					case tags <- tagRef{repo, t}:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
	}
	go func() { wg.Wait(); close(tags) }()
	return tags
}

// queue resolves one tag and queues its image unless this run, or the
// store, already has it.
func (w *walk) queue(ctx context.Context, t tagRef) error {
	target, err := w.cfg.Client.Resolve(ctx, w.cfg.Registry+"/"+t.repo+":"+t.tag)
	if err != nil {
		return err
	}
	digest := target.Digest.DigestStr()
	key := t.repo + "@" + digest
	w.mu.Lock()
	first := !w.images[key]
	w.images[key] = true
	w.res.Tags++
	if first {
		w.res.Images++
	}
	w.mu.Unlock()
	queued := false
	if first {
		if queued, err = w.queueImage(ctx, t, digest, string(target.Descriptor.MediaType)); err != nil {
			return err
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case queued:
		w.res.Queued++
	case first:
		w.res.Known++
	}
	w.prog.TagsDone++
	w.reportLocked()
	return nil
}

// queueImage queues repo@digest unless it is queued or judged; it says
// whether it did.
func (w *walk) queueImage(ctx context.Context, t tagRef, digest, mediaType string) (bool, error) {
	j := &job{ID: "backfill:" + t.repo + "@" + digest, Repository: t.repo, Digest: digest, Tag: t.tag,
		MediaType: mediaType, Received: w.cfg.Now()}
	fresh, err := w.st.acceptNew(ctx, j, w.cfg.MaxQueue)
	if errors.Is(err, errQueueFull) {
		return false, fmt.Errorf("%w: the backfill stopped (what it queued stays queued); run it again once the gate has worked through its queue", err)
	}
	if err != nil || !fresh {
		return false, err
	}
	if w.send != nil {
		if err := w.send(j); err != nil {
			return false, err
		}
	}
	return true, nil
}

func (w *walk) report() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reportLocked()
}

func (w *walk) reportLocked() {
	if w.cfg.Progress != nil {
		w.cfg.Progress(w.prog)
	}
}
