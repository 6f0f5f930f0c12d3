package fleet

import (
	"cmp"
	"context"
	"slices"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/verify"
)

// CheckOption configures Check.
type CheckOption func(*checkConfig)

type checkConfig struct {
	current  Decider
	batch    int
	progress func(done, total int)
}

// WithCurrent compares with the current policy's decider. Default: none;
// the report then has the new policy's verdicts only.
func WithCurrent(d Decider) CheckOption { return func(c *checkConfig) { c.current = d } }

// WithBatch sets how many images one DecideAll call gets (default 64);
// progress is reported after each. The decider bounds how many it verifies
// at once.
func WithBatch(n int) CheckOption { return func(c *checkConfig) { c.batch = max(1, n) } }

// WithProgress calls fn after each batch with the images decided so far and
// the total (each image counts once per policy). Default: none.
func WithProgress(fn func(done, total int)) CheckOption {
	return func(c *checkConfig) { c.progress = fn }
}

// Check decides every distinct image the workloads run under next (and the
// current policy, WithCurrent), and reports each workload's images with
// both verdicts and the change. Each distinct reference is decided once per
// policy, in batches; a decider sharing one registry client (see
// NewMemoTransport) fetches each manifest and referrers list once for both.
func Check(ctx context.Context, ws []Workload, next Decider, opts ...CheckOption) *Report {
	c := checkConfig{batch: 64}
	for _, o := range opts {
		o(&c)
	}
	groups := groupWorkloads(ws, next, c.current)
	total := 0
	for _, g := range groups {
		total += len(g.images)
	}
	if c.current != nil {
		total *= 2
	}
	done := 0
	step := func(n int) {
		done += n
		if c.progress != nil {
			c.progress(done, total)
		}
	}
	newOut := decideGroups(ctx, next, groups, c.batch, step)
	var curOut map[string]Outcome
	if c.current != nil {
		curOut = decideGroups(ctx, c.current, groups, c.batch, step)
	}
	return report(ws, newOut, curOut, len(groups) > 1 || (len(groups) == 1 && groups[0].namespaced))
}

// group is the images decided together: those of one namespace when a
// decider's verdicts depend on the namespace (the webhook's with policy
// resources, where a SignetPolicy narrows its own namespace), else all.
type group struct {
	namespace  string
	namespaced bool
	images     []string
}

// namespaced reports whether d decides per namespace.
func namespaced(d Decider) bool {
	_, ok := d.(admission.NamespacedDecider)
	return ok
}

// groupWorkloads splits the images by namespace when either decider
// decides per namespace, so a namespace's own policy is never skipped.
func groupWorkloads(ws []Workload, next, current Decider) []group {
	if !namespaced(next) && (current == nil || !namespaced(current)) {
		return []group{{images: distinctImages(ws)}}
	}
	var order []string
	byNS := map[string][]Workload{}
	for _, w := range ws {
		if _, ok := byNS[w.Namespace]; !ok {
			order = append(order, w.Namespace)
		}
		byNS[w.Namespace] = append(byNS[w.Namespace], w)
	}
	out := make([]group, 0, len(order))
	for _, ns := range order {
		out = append(out, group{namespace: ns, namespaced: true, images: distinctImages(byNS[ns])})
	}
	return out
}

// decideGroups decides each group's images, asking a namespaced decider
// for the group's namespace. Outcomes are keyed by outcomeKey.
func decideGroups(ctx context.Context, d Decider, groups []group, batch int, step func(int)) map[string]Outcome {
	out := map[string]Outcome{}
	for _, g := range groups {
		dd := d
		if nd, ok := d.(admission.NamespacedDecider); ok && g.namespaced {
			dd = nd.In(g.namespace)
		}
		for ref, o := range decideAll(ctx, dd, g.images, batch, step) {
			out[outcomeKey(g.namespaced, g.namespace, ref)] = o
		}
	}
	return out
}

// outcomeKey names an image's verdict: by reference, or by namespace and
// reference when verdicts depend on the namespace.
func outcomeKey(namespaced bool, ns, ref string) string {
	if !namespaced {
		return ref
	}
	return ns + "\x00" + ref
}

// distinctImages lists each image reference once, in first-seen order.
func distinctImages(ws []Workload) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range ws {
		for _, im := range w.Images {
			if !seen[im.Ref] {
				seen[im.Ref] = true
				out = append(out, im.Ref)
			}
		}
	}
	return out
}

// decideAll decides the images in batches.
func decideAll(ctx context.Context, d Decider, images []string, batch int, step func(int)) map[string]Outcome {
	out := make(map[string]Outcome, len(images))
	for chunk := range slices.Chunk(images, batch) {
		var ds []*verify.Decision
		if ctx.Err() == nil {
			ds = d.DecideAll(ctx, chunk)
		}
		for i, img := range chunk {
			var dec *verify.Decision
			if i < len(ds) {
				dec = ds[i]
			}
			out[img] = outcomeOf(dec)
		}
		step(len(chunk))
	}
	return out
}

// report assembles the results and counts them.
func report(ws []Workload, next, current map[string]Outcome, namespaced bool) *Report {
	r := &Report{Against: current != nil, Results: []Result{}}
	changes := map[string]Change{}
	for _, w := range ws {
		if isClusterKind(w.Kind) && len(w.Images) > 0 {
			r.Summary.Workloads++
		}
		denied := false
		for _, im := range w.Images {
			key := outcomeKey(namespaced, w.Namespace, im.Ref)
			res := Result{Namespace: w.Namespace, APIVersion: w.APIVersion, Kind: w.Kind, Name: w.Name, Object: im.Object,
				Container: im.Container, Image: im.Ref, New: next[key]}
			if current != nil {
				cur := current[key]
				res.Current = &cur
			}
			res.Change = changeOf(res.New, res.Current)
			changes[key] = res.Change
			denied = denied || res.Change == NewlyDenied || res.Change == ChangeDenied
			r.Results = append(r.Results, res)
		}
		if w.Problem != "" {
			r.Summary.Unknown++
			r.Results = append(r.Results, problemResult(w, current != nil))
		}
		if denied && isClusterKind(w.Kind) {
			r.Summary.DeniedWorkloads++
		}
	}
	r.Summary.Images = len(changes)
	for _, ch := range changes {
		r.Summary.count(ch)
	}
	slices.SortStableFunc(r.Results, compareResults)
	return r
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
