package fleet

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/verify"
)

// CheckOption configures Check.
type CheckOption func(*checkConfig)

type checkConfig struct {
	current  Decider
	workers  int
	batch    int
	progress func(done, total int)
}

// WithCurrent compares with the current policy's decider. Default: none;
// the report then has the new policy's verdicts only.
func WithCurrent(d Decider) CheckOption { return func(c *checkConfig) { c.current = d } }

// WithWorkers sets how many images are decided at once (default 8). A
// worker decides one image under both policies, then takes the next.
func WithWorkers(n int) CheckOption { return func(c *checkConfig) { c.workers = max(1, n) } }

// WithBatch sets how often progress is reported: after every n decisions
// (default 64), and once all are made.
func WithBatch(n int) CheckOption { return func(c *checkConfig) { c.batch = max(1, n) } }

// WithProgress calls fn with the decisions made so far and the total (each
// image counts once per policy), after every batch (WithBatch) and at the
// end; calls never overlap and done never goes back. Default: none.
func WithProgress(fn func(done, total int)) CheckOption {
	return func(c *checkConfig) { c.progress = fn }
}

// Check decides every distinct image the workloads run under next (and the
// current policy, WithCurrent), and reports each workload's images with
// both verdicts and the change. Each distinct reference is decided once
// per policy (per namespace, when a decider's verdicts depend on it), by a
// fixed pool of workers (WithWorkers) that streams through the images: a
// worker decides one reference under both policies within one memo scope
// (WithMemo), so a decider whose client goes through a MemoTransport
// fetches each manifest and referrers list once for both, and the scope is
// dropped as soon as the reference's verdicts are recorded. What the check
// keeps past an image's decision is its rows of the report, nothing else.
func Check(ctx context.Context, ws []Workload, next Decider, opts ...CheckOption) *Report {
	c := checkConfig{workers: 8, batch: 64}
	for _, o := range opts {
		o(&c)
	}
	r := &Report{Against: c.current != nil}
	jobs := plan(ws, namespaced(next) || c.current != nil && namespaced(c.current), r)
	run(ctx, jobs, next, &c, r)
	finish(ws, r)
	return r
}

// namespaced reports whether d decides per namespace.
func namespaced(d Decider) bool {
	_, ok := d.(admission.NamespacedDecider)
	return ok
}

// job is one distinct image reference to decide, in each namespace that
// runs it (one entry, namespace "", when no decider decides per namespace),
// with the report rows each verdict goes to.
type job struct {
	ref        string
	namespaced bool
	in         []nsRows
}

type nsRows struct {
	namespace string
	rows      []int
}

// plan lays out the report's rows, workload by workload (a source that
// could not be read gets its could-not-check row at once), and the jobs
// that fill in the rest: one per distinct reference, in first-seen order.
func plan(ws []Workload, byNamespace bool, r *Report) []job {
	r.Results = []Result{}
	var jobs []job
	byRef := map[string]int{}    // reference -> its job
	byKey := map[string][2]int{} // outcome key -> its job and namespace entry
	for _, w := range ws {
		for _, im := range w.Images {
			row := len(r.Results)
			r.Results = append(r.Results, Result{Namespace: w.Namespace, APIVersion: w.APIVersion, Kind: w.Kind, Name: w.Name,
				Object: im.Object, Container: im.Container, Image: im.Ref})
			ns := ""
			if byNamespace {
				ns = w.Namespace
			}
			key := ns + "\x00" + im.Ref
			at, ok := byKey[key]
			if !ok {
				j, seen := byRef[im.Ref]
				if !seen {
					j = len(jobs)
					byRef[im.Ref] = j
					jobs = append(jobs, job{ref: im.Ref, namespaced: byNamespace})
				}
				at = [2]int{j, len(jobs[j].in)}
				jobs[j].in = append(jobs[j].in, nsRows{namespace: ns})
				byKey[key] = at
			}
			e := &jobs[at[0]].in[at[1]]
			e.rows = append(e.rows, row)
		}
		if w.Problem != "" {
			r.Summary.Unknown++
			r.Results = append(r.Results, problemResult(w, r.Against))
		}
	}
	return jobs
}

// run decides the jobs, c.workers at a time, recording each verdict in its
// rows and the summary as it is made.
func run(ctx context.Context, jobs []job, next Decider, c *checkConfig, r *Report) {
	total := 0
	for _, j := range jobs {
		total += len(j.in)
	}
	r.Summary.Images = total
	if c.current != nil {
		total *= 2
	}
	var mu sync.Mutex
	done := 0
	record := func(in nsRows, next Outcome, current *Outcome) {
		mu.Lock()
		defer mu.Unlock()
		change := changeOf(next, current)
		for _, row := range in.rows {
			res := &r.Results[row]
			res.New, res.Current, res.Change = next, current, change
		}
		r.Summary.count(change)
		before := done
		if done++; current != nil {
			done++
		}
		if c.progress != nil && (done/c.batch > before/c.batch || done == total) {
			c.progress(done, total)
		}
	}
	var taken atomic.Int64
	var wg sync.WaitGroup
	for range min(c.workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := taken.Add(1) - 1; i < int64(len(jobs)); i = taken.Add(1) - 1 {
				decideJob(ctx, &jobs[i], next, c.current, record)
			}
		}()
	}
	wg.Wait()
}

// decideJob decides one reference under both policies in each namespace
// that runs it, within one memo scope that ends with it.
func decideJob(ctx context.Context, j *job, next, current Decider, record func(nsRows, Outcome, *Outcome)) {
	ctx, release := WithMemo(ctx)
	defer release()
	for _, in := range j.in {
		n := decideOne(ctx, next, j, in.namespace)
		var cur *Outcome
		if current != nil {
			o := decideOne(ctx, current, j, in.namespace)
			cur = &o
		}
		record(in, n, cur)
	}
}

// decideOne decides the job's reference, asking a namespaced decider for
// the namespace; no decision (an ended context, a decider that answered
// short) is an unknown outcome.
func decideOne(ctx context.Context, d Decider, j *job, ns string) Outcome {
	if nd, ok := d.(admission.NamespacedDecider); ok && j.namespaced {
		d = nd.In(ns)
	}
	if ctx.Err() != nil {
		return outcomeOf(nil)
	}
	if ds := d.DecideAll(ctx, []string{j.ref}); len(ds) > 0 {
		return outcomeOf(ds[0])
	}
	return outcomeOf(nil)
}

// finish counts the workloads, and those with an image (newly) denied, and
// puts the headline first.
func finish(ws []Workload, r *Report) {
	row := 0
	for _, w := range ws {
		if isClusterKind(w.Kind) && len(w.Images) > 0 {
			r.Summary.Workloads++
		}
		denied := false
		for _, res := range r.Results[row : row+len(w.Images)] {
			denied = denied || res.Change == NewlyDenied || res.Change == ChangeDenied
		}
		if row += len(w.Images); w.Problem != "" {
			row++
		}
		if denied && isClusterKind(w.Kind) {
			r.Summary.DeniedWorkloads++
		}
	}
	slices.SortStableFunc(r.Results, compareResults)
}

// problemResult reports a source that could not be read as could not check.
func problemResult(w Workload, against bool) Result {
	o := Outcome{Verdict: Unknown, Reason: w.Problem, Class: string(verify.ClassTransient)}
	res := Result{Namespace: w.Namespace, APIVersion: w.APIVersion, Kind: w.Kind, Name: w.Name, Change: ChangeUnknown, New: o}
	if against {
		res.Current = &o
	}
	return res
}

func (s *Summary) count(ch Change) {
	switch ch {
	case NewlyDenied:
		s.NewlyDenied++
	case NewlyAllowed:
		s.NewlyAllowed++
	case StillDenied:
		s.StillDenied++
	case Unchanged:
		s.Unchanged++
	case ChangeDenied:
		s.Denied++
	case ChangeAllowed:
		s.Allowed++
	case ChangeUnknown:
		s.Unknown++
	}
}

// changeOrder puts the headline first: what would break, what could not be
// checked, then the rest.
var changeOrder = map[Change]int{NewlyDenied: 0, ChangeDenied: 1, ChangeUnknown: 2, StillDenied: 3, NewlyAllowed: 4, Unchanged: 5, ChangeAllowed: 6}

func compareResults(a, b Result) int {
	return cmp.Or(cmp.Compare(changeOrder[a.Change], changeOrder[b.Change]), cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Object, b.Object),
		cmp.Compare(a.Container, b.Container), cmp.Compare(a.Image, b.Image))
}
