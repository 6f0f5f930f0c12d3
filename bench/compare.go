package main

// The quick check (make bench-quick): each figure of a quick run against
// the committed baseline for the same machine kind, bench/baseline.json.
// A guard against regressions of the 300 ms kind, not a timing test: only
// a figure more than maxRatio worse than its baseline fails.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// maxRatio is how much worse than its baseline a figure may be.
const maxRatio = 2.0

// Directions of improvement.
const (
	higherIsBetter = "higher"
	lowerIsBetter  = "lower"
)

// lowerUnits are the units where less is better; a unit per second
// (verifications/s, req/s, appends/s) is better higher. Any other unit has
// no direction: its step sets Figure.Better, or the check refuses it.
var lowerUnits = []string{"ns", "µs", "ms", "s", "ms/image", "ms/op", "ms CPU", "MiB", "MB", "KiB", "bytes", "allocs", "requests"}

func betterFor(unit string) string {
	switch {
	case strings.HasSuffix(unit, "/s"):
		return higherIsBetter
	case slices.Contains(lowerUnits, unit):
		return lowerIsBetter
	}
	return ""
}

// BaselineFile is bench/baseline.json: per machine kind, the quick run's
// figures it was made from.
type BaselineFile struct {
	About string               `json:"about"`
	Kinds map[string]*Baseline `json:"kinds"`
}

// Baseline is one machine kind's reference figures.
type Baseline struct {
	Commit  string       `json:"commit"`
	Date    time.Time    `json:"date"`
	Figures []BaseFigure `json:"figures"`
}

// BaseFigure is a figure's median in the baseline.
type BaseFigure struct {
	Key    string  `json:"figure"` // section: name
	Unit   string  `json:"unit"`
	Better string  `json:"better"`
	Median float64 `json:"median"`
}

// Verdict is one figure compared.
type Verdict struct {
	Key, Unit, Better string
	Base, Value       float64
	// Ratio is how many times worse the value is than the baseline (above
	// 1: worse; below 1: better), whichever way is better for the unit.
	Ratio float64
	// Machine is how many times slower than the baseline's this machine
	// measured by the figure's reference (referenceFor), when it was; Ratio
	// is counted without it.
	Machine float64
	// Status is ok, regressed, improved, new, missing, no direction,
	// not measured, or reference (a figure of the machine, not Signet).
	Status string
	Fail   bool
}

const aboutBaseline = "Quick-check baselines (make bench-quick): per machine kind, the medians a committed quick run measured. " +
	"A figure more than 2x worse than its baseline fails the check. Refresh a kind after an intended change with " +
	"make bench-quick BENCH_FLAGS=-update-baseline and commit this file."

func figureKey(f *Figure) string { return f.Section + ": " + f.Name }

// compare judges each figure of got against base. A figure regresses when
// it is more than limit times worse than its baseline; one in the baseline
// that got lacks is missing (a step stopped producing it, or it was
// renamed) and fails too; one the baseline lacks is new and passes.
//
// A figure with a reference (referenceFor) is judged after taking out how
// much slower than the baseline's the machine measured by that reference,
// when both runs have it and it is slower; a faster machine is never
// credited. Reference figures are shown and never fail.
func compare(base *Baseline, got []*Figure, limit float64) []Verdict {
	var out []Verdict
	seen := map[string]bool{}
	byKey := map[string]BaseFigure{}
	for _, bf := range base.Figures {
		byKey[bf.Key] = bf
	}
	gotByKey := map[string]*Figure{}
	for _, f := range got {
		gotByKey[figureKey(f)] = f
	}
	// slower is how many times slower the machine measured by reference r.
	slower := func(r string) float64 {
		bf, ok := byKey[r]
		g, ok2 := gotByKey[r]
		if !ok || !ok2 || len(g.Runs) == 0 {
			return 1
		}
		return max(1, worseBy(bf.Median, g.Median, bf.Better))
	}
	for _, f := range got {
		k := figureKey(f)
		seen[k] = true
		v := Verdict{Key: k, Unit: f.Unit, Better: f.Better, Value: f.Median}
		bf, ok := byKey[k]
		switch {
		case f.Better != higherIsBetter && f.Better != lowerIsBetter:
			v.Status, v.Fail = "no direction", true
		case len(f.Runs) == 0:
			v.Status, v.Fail = "not measured", true
		case !ok:
			v.Status = "new"
		default:
			v.Base = bf.Median
			v.Ratio = worseBy(bf.Median, f.Median, f.Better)
			if r := referenceFor(k, f.Unit); r != "" {
				if m := slower(r); m > 1 && !math.IsInf(m, 1) {
					v.Machine, v.Ratio = m, v.Ratio/m
				}
			}
			switch {
			case isReference(k):
				v.Status = "reference"
			case v.Ratio > limit:
				v.Status, v.Fail = "regressed", true
			case v.Ratio < 1/limit:
				v.Status = "improved"
			default:
				v.Status = "ok"
			}
		}
		out = append(out, v)
	}
	for _, bf := range base.Figures {
		if !seen[bf.Key] && !isReference(bf.Key) {
			out = append(out, Verdict{Key: bf.Key, Unit: bf.Unit, Better: bf.Better, Base: bf.Median, Status: "missing", Fail: true})
		}
	}
	return out
}

// worseBy is how many times worse value is than base. A value of zero
// where higher is better, or above a zero baseline where lower is better
// (a cached verification that starts making round trips), is infinitely
// worse.
func worseBy(base, value float64, better string) float64 {
	num, den := value, base // lower is better: value / base
	if better == higherIsBetter {
		num, den = base, value
	}
	switch {
	case den == 0 && num == 0:
		return 1
	case den == 0:
		return math.Inf(1)
	}
	return num / den
}

// checkBaseline compares res with its machine kind's baseline in path and
// prints the verdicts. A kind with no baseline passes, and its figures are
// written into path as the candidate to commit; so are figures the
// baseline lacks. update replaces the kind's baseline with res. When
// figures regress and again is not nil, it is called once with the steps
// that measured them and returns their figures measured anew: each
// regressed figure keeps the better of its two medians (both runs must
// regress to fail).
func checkBaseline(w io.Writer, path string, res *Results, update bool, again func(steps []string) []*Figure) error {
	file := &BaselineFile{Kinds: map[string]*Baseline{}}
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("reading the baseline: %w", err)
	default:
		if err := json.Unmarshal(raw, file); err != nil {
			return fmt.Errorf("reading the baseline %s: %w (fix or delete it; make bench-quick writes a new one)", path, err)
		}
		if file.Kinds == nil {
			file.Kinds = map[string]*Baseline{}
		}
	}
	fmt.Fprintf(w, "\nbench-quick: commit %s on %s\n", res.Commit, res.Kind)
	base, ok := file.Kinds[res.Kind]
	if !ok || update {
		why := "no baseline for this machine kind"
		if ok {
			why = "-update-baseline"
		}
		for _, f := range res.Figures {
			if f.Better == "" || len(f.Runs) == 0 {
				return fmt.Errorf("figure %q (%s) cannot be a baseline: %s", figureKey(f), f.Unit,
					"it has no direction (set Figure.Better or add its unit to betterFor) or no runs")
			}
		}
		file.Kinds[res.Kind] = newBaseline(res)
		if err := writeBaseline(path, file); err != nil {
			return err
		}
		fmt.Fprintf(w, "bench-quick: %s: wrote this run's %d figures to %s as its baseline; commit it. Nothing compared: pass.\n",
			why, len(res.Figures), path)
		return nil
	}
	fmt.Fprintf(w, "bench-quick: baseline from commit %s, %s\n", base.Commit, base.Date.Format("2006-01-02 15:04 MST"))
	verdicts := compare(base, res.Figures, maxRatio)
	if steps := regressedSteps(verdicts, res.Figures); len(steps) > 0 && again != nil {
		fmt.Fprintf(w, "bench-quick: a regression; measuring it again (steps: %s) to tell it from a busy machine\n", strings.Join(steps, ", "))
		for _, v := range verdicts {
			if v.Status == "regressed" {
				fmt.Fprintf(w, "  first run:   %s\n", describe(v))
			}
		}
		keepBetter(res.Figures, again(steps), verdicts)
		verdicts = compare(base, res.Figures, maxRatio)
	}
	var failed []string
	added := false
	for _, v := range verdicts {
		fmt.Fprintf(w, "  %-12s %s\n", v.Status, describe(v))
		if v.Fail {
			failed = append(failed, describe(v))
		}
		if v.Status == "new" {
			added = true
		}
	}
	if added {
		for _, f := range res.Figures {
			if !slices.ContainsFunc(base.Figures, func(bf BaseFigure) bool { return bf.Key == figureKey(f) }) {
				base.Figures = append(base.Figures, BaseFigure{Key: figureKey(f), Unit: f.Unit, Better: f.Better, Median: f.Median})
			}
		}
		if err := writeBaseline(path, file); err != nil {
			return err
		}
		fmt.Fprintf(w, "bench-quick: added the new figures to %s; commit it.\n", path)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d figure(s) failed the quick check (more than %gx worse than the baseline in %s, or not measured):\n  %s\n"+
			"Find the change that slowed it (go run ./bench -quick -bin DIR measures another build); if the change is intended, "+
			"refresh the baseline with make bench-quick BENCH_FLAGS=-update-baseline and commit %s",
			len(failed), maxRatio, path, strings.Join(failed, "\n  "), path)
	}
	fmt.Fprintf(w, "bench-quick: every figure within %gx of its baseline\n", maxRatio)
	return nil
}

// describe says, for people, what a verdict compared.
func describe(v Verdict) string {
	switch v.Status {
	case "missing":
		return fmt.Sprintf("%s: in the baseline (%s %s) but not measured by this run: a step stopped producing it or it was renamed", v.Key, num(v.Base), v.Unit)
	case "not measured":
		return fmt.Sprintf("%s: the step added it with no runs", v.Key)
	case "no direction":
		return fmt.Sprintf("%s: unit %q has no direction (higher or lower is better): set it in the step or in betterFor", v.Key, v.Unit)
	case "new":
		return fmt.Sprintf("%s: %s %s (no baseline yet)", v.Key, num(v.Value), v.Unit)
	}
	if v.Status == "reference" {
		return fmt.Sprintf("%s: baseline %s, now %s %s: this machine's speed, not Signet's", v.Key, num(v.Base), num(v.Value), v.Unit)
	}
	machine := ""
	if v.Machine > 1 {
		machine = fmt.Sprintf(", counted after taking out this machine's %.2fx slowdown (by %q)", v.Machine, referenceFor(v.Key, v.Unit))
	}
	return fmt.Sprintf("%s: baseline %s, now %s %s (%s is better): %s%s", v.Key, num(v.Base), num(v.Value), v.Unit, v.Better, ratioText(v.Ratio), machine)
}

func ratioText(r float64) string {
	switch {
	case math.IsInf(r, 1):
		return "infinitely worse"
	case r >= 1:
		return fmt.Sprintf("%.2fx worse", r)
	}
	return fmt.Sprintf("%.2fx better", 1/r)
}

func newBaseline(res *Results) *Baseline {
	b := &Baseline{Commit: res.Commit, Date: res.Started}
	for _, f := range res.Figures {
		b.Figures = append(b.Figures, BaseFigure{Key: figureKey(f), Unit: f.Unit, Better: f.Better, Median: f.Median})
	}
	return b
}

func writeBaseline(path string, file *BaselineFile) error {
	file.About = aboutBaseline
	js, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(js, '\n'), 0o644)
}

// regressedSteps names the steps that measured a regressed figure.
func regressedSteps(verdicts []Verdict, figs []*Figure) []string {
	var steps []string
	for _, v := range verdicts {
		if v.Status != "regressed" {
			continue
		}
		for _, f := range figs {
			if figureKey(f) == v.Key && f.step != "" && !slices.Contains(steps, f.step) {
				steps = append(steps, f.step)
			}
		}
	}
	return steps
}

// keepBetter gives each regressed figure of figs the better median of its
// two runs (second holds the figures measured again), and records both.
func keepBetter(figs, second []*Figure, verdicts []Verdict) {
	for _, v := range verdicts {
		if v.Status != "regressed" {
			continue
		}
		i := slices.IndexFunc(figs, func(f *Figure) bool { return figureKey(f) == v.Key })
		j := slices.IndexFunc(second, func(f *Figure) bool { return figureKey(f) == v.Key })
		if i < 0 || j < 0 {
			continue
		}
		f, g := figs[i], second[j]
		first := f.Median
		if (f.Better == higherIsBetter && g.Median > f.Median) || (f.Better == lowerIsBetter && g.Median < f.Median) {
			f.Runs, f.Median, f.Min, f.Max = g.Runs, g.Median, g.Min, g.Max
		}
		f.Note = strings.TrimPrefix(f.Note+"; ", "; ") + fmt.Sprintf("measured twice (medians %s and %s): the better kept", num(first), num(g.Median))
	}
}
