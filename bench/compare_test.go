package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fig(section, name, unit string, runs ...float64) *Figure {
	b := &bench{}
	return b.add(section, name, unit, runs, "")
}

func TestBetterFor(t *testing.T) {
	for unit, want := range map[string]string{
		"verifications/s": higherIsBetter, "req/s": higherIsBetter, "appends/s": higherIsBetter,
		"ms": lowerIsBetter, "ms/image": lowerIsBetter, "MiB": lowerIsBetter, "requests": lowerIsBetter,
		"furlongs": "",
	} {
		if got := betterFor(unit); got != want {
			t.Errorf("betterFor(%q) = %q, want %q", unit, got, want)
		}
	}
}

func TestCompare(t *testing.T) {
	base := &Baseline{Figures: []BaseFigure{
		{Key: "s: latency", Unit: "ms", Better: lowerIsBetter, Median: 10},
		{Key: "s: rate", Unit: "req/s", Better: higherIsBetter, Median: 1000},
		{Key: "s: cached round trips", Unit: "requests", Better: lowerIsBetter, Median: 0},
	}}
	for _, tc := range []struct {
		name string
		got  []*Figure
		want map[string]string // figure -> status
	}{
		{"within 2x either way", []*Figure{fig("s", "latency", "ms", 19), fig("s", "rate", "req/s", 501), fig("s", "cached round trips", "requests", 0)},
			map[string]string{"s: latency": "ok", "s: rate": "ok", "s: cached round trips": "ok"}},
		{"lower is better, over 2x slower", []*Figure{fig("s", "latency", "ms", 21), fig("s", "rate", "req/s", 1000), fig("s", "cached round trips", "requests", 0)},
			map[string]string{"s: latency": "regressed", "s: rate": "ok", "s: cached round trips": "ok"}},
		{"higher is better, under half", []*Figure{fig("s", "latency", "ms", 10), fig("s", "rate", "req/s", 499), fig("s", "cached round trips", "requests", 0)},
			map[string]string{"s: latency": "ok", "s: rate": "regressed", "s: cached round trips": "ok"}},
		{"improvements pass", []*Figure{fig("s", "latency", "ms", 1), fig("s", "rate", "req/s", 100000), fig("s", "cached round trips", "requests", 0)},
			map[string]string{"s: latency": "improved", "s: rate": "improved", "s: cached round trips": "ok"}},
		{"above a zero baseline", []*Figure{fig("s", "latency", "ms", 10), fig("s", "rate", "req/s", 1000), fig("s", "cached round trips", "requests", 0.5)},
			map[string]string{"s: latency": "ok", "s: rate": "ok", "s: cached round trips": "regressed"}},
		{"a rate of zero", []*Figure{fig("s", "latency", "ms", 10), fig("s", "rate", "req/s", 0), fig("s", "cached round trips", "requests", 0)},
			map[string]string{"s: latency": "ok", "s: rate": "regressed", "s: cached round trips": "ok"}},
		{"missing and new figures", []*Figure{fig("s", "latency", "ms", 10), fig("s", "start-up", "ms", 30), fig("s", "cached round trips", "requests", 0)},
			map[string]string{"s: latency": "ok", "s: start-up": "new", "s: rate": "missing", "s: cached round trips": "ok"}},
		{"a figure with no runs", []*Figure{fig("s", "latency", "ms"), fig("s", "rate", "req/s", 1000), fig("s", "cached round trips", "requests", 0)},
			map[string]string{"s: latency": "not measured", "s: rate": "ok", "s: cached round trips": "ok"}},
		{"a unit with no direction", []*Figure{fig("s", "latency", "ms", 10), fig("s", "rate", "req/s", 1000), fig("s", "cached round trips", "requests", 0), fig("s", "odd", "furlongs", 3)},
			map[string]string{"s: latency": "ok", "s: rate": "ok", "s: cached round trips": "ok", "s: odd": "no direction"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]string{}
			for _, v := range compare(base, tc.got, maxRatio) {
				got[v.Key] = v.Status
				wantFail := map[string]bool{"regressed": true, "missing": true, "not measured": true, "no direction": true}[v.Status]
				if v.Fail != wantFail {
					t.Errorf("%s: %s, fail=%v", v.Key, v.Status, v.Fail)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("verdicts %v, want %v", got, tc.want)
			}
			for k, w := range tc.want {
				if got[k] != w {
					t.Errorf("%s: %q, want %q", k, got[k], w)
				}
			}
		})
	}
}

func TestWorseBy(t *testing.T) {
	for _, tc := range []struct {
		base, value float64
		better      string
		want        float64
	}{
		{10, 30, lowerIsBetter, 3},
		{10, 5, lowerIsBetter, 0.5},
		{100, 25, higherIsBetter, 4},
		{100, 400, higherIsBetter, 0.25},
		{0, 0, lowerIsBetter, 1},
		{0, 1, lowerIsBetter, math.Inf(1)},
		{5, 0, higherIsBetter, math.Inf(1)},
		{0, 5, higherIsBetter, 0},
	} {
		if got := worseBy(tc.base, tc.value, tc.better); got != tc.want {
			t.Errorf("worseBy(%v, %v, %s) = %v, want %v", tc.base, tc.value, tc.better, got, tc.want)
		}
	}
}

func results(kind string, figs ...*Figure) *Results {
	return &Results{Commit: "abc123", Kind: kind, Figures: figs}
}

func TestCheckBaseline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "baseline.json")
	var out bytes.Buffer
	// No baseline for this kind: passes, and writes one.
	if err := checkBaseline(&out, path, results("kind A", fig("s", "latency", "ms", 10)), false, nil); err != nil {
		t.Fatalf("no baseline: %v", err)
	}
	if !strings.Contains(out.String(), "no baseline for this machine kind") {
		t.Errorf("no baseline: output does not say so:\n%s", out.String())
	}
	var file BaselineFile
	raw, _ := os.ReadFile(path)
	if err := json.Unmarshal(raw, &file); err != nil || file.Kinds["kind A"] == nil || file.Kinds["kind A"].Figures[0].Median != 10 {
		t.Fatalf("candidate baseline not written: %v\n%s", err, raw)
	}
	// Within 2x: passes.
	if err := checkBaseline(&out, path, results("kind A", fig("s", "latency", "ms", 15)), false, nil); err != nil {
		t.Errorf("within 2x: %v", err)
	}
	// Over 2x: fails, naming the figure, the baseline, the value and the ratio.
	err := checkBaseline(&out, path, results("kind A", fig("s", "latency", "ms", 31)), false, nil)
	if err == nil {
		t.Fatal("a 3.1x regression passed")
	}
	for _, want := range []string{"s: latency", "baseline 10", "now 31", "3.10x worse", "-update-baseline"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	// Another machine kind does not compare with kind A's figures.
	if err := checkBaseline(&out, path, results("kind B", fig("s", "latency", "ms", 1000)), false, nil); err != nil {
		t.Errorf("another kind: %v", err)
	}
	// A new figure passes and joins the kind's baseline; a missing one fails.
	if err := checkBaseline(&out, path, results("kind A", fig("s", "latency", "ms", 10), fig("s", "start-up", "ms", 40)), false, nil); err != nil {
		t.Errorf("new figure: %v", err)
	}
	if err := checkBaseline(&out, path, results("kind A", fig("s", "latency", "ms", 10)), false, nil); err == nil || !strings.Contains(err.Error(), "s: start-up") {
		t.Errorf("missing figure: %v", err)
	}
	// -update-baseline replaces the kind's figures.
	if err := checkBaseline(&out, path, results("kind A", fig("s", "latency", "ms", 31)), true, nil); err != nil {
		t.Errorf("update: %v", err)
	}
	if err := checkBaseline(&out, path, results("kind A", fig("s", "latency", "ms", 31)), false, nil); err != nil {
		t.Errorf("after update: %v", err)
	}
	// A baseline file that is not JSON is an error that says what to do.
	os.WriteFile(path, []byte("{"), 0o644)
	if err := checkBaseline(&out, path, results("kind A", fig("s", "latency", "ms", 31)), false, nil); err == nil || !strings.Contains(err.Error(), "fix or delete") {
		t.Errorf("corrupt baseline: %v", err)
	}
}

// TestCheckBaselineMeasuresAgain: a regression is measured again, once, by
// its step; it fails only when the second run regresses too.
func TestCheckBaselineMeasuresAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "baseline.json")
	var out bytes.Buffer
	run := func(latency, rate float64) *Results {
		l, r := fig("a", "latency", "ms", latency), fig("b", "rate", "req/s", rate)
		l.step, r.step = "step a", "step b"
		return results("kind A", l, r)
	}
	if err := checkBaseline(&out, path, run(10, 1000), false, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		second    float64 // the latency measured again
		wantSteps string
		pass      bool
	}{
		{"a moment of load", 12, "step a", true},
		{"a regression", 25, "step a", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			res := run(30, 900)
			err := checkBaseline(&out, path, res, false, func(steps []string) []*Figure {
				asked = append(asked, steps...)
				return []*Figure{fig("a", "latency", "ms", tc.second)}
			})
			if strings.Join(asked, ",") != tc.wantSteps {
				t.Errorf("measured again: %q, want %q", asked, tc.wantSteps)
			}
			if (err == nil) != tc.pass {
				t.Fatalf("error %v, want pass=%v", err, tc.pass)
			}
			if want := min(30, tc.second); res.Figures[0].Median != want || !strings.Contains(res.Figures[0].Note, "measured twice") {
				t.Errorf("latency kept %v (%q), want the better median %v, noted", res.Figures[0].Median, res.Figures[0].Note, want)
			}
		})
	}
	// Nothing regressed: nothing is measured again.
	if err := checkBaseline(&out, path, run(10, 1000), false, func([]string) []*Figure { t.Fatal("measured again"); return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestParseOnly(t *testing.T) {
	names := []string{"setup", "verify, whole process", "verify, in process", "sign", "log"}
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"log", []string{"log"}, false},
		{"verify, in process", []string{"verify, in process"}, false},
		{"verify, whole process,sign,verify, in process", []string{"verify, whole process", "sign", "verify, in process"}, false},
		{"sign, log", []string{"sign", "log"}, false},
		{"verify", nil, true},
		{"sing", nil, true},
	} {
		got, err := parseOnly(tc.in, names)
		if (err != nil) != tc.err || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("parseOnly(%q) = %q, %v; want %q (error: %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestCompareTakesOutTheMachine: a figure is judged after taking out how
// much slower the machine measured by its reference (crane's start-up for
// start-up figures, the fixed in-process work for the rest); a faster
// machine earns nothing, and reference figures never fail.
func TestCompareTakesOutTheMachine(t *testing.T) {
	crane := strings.TrimPrefix(craneStartKey, "start-up: ")
	work := strings.TrimPrefix(machineWorkKey, "calibration: ")
	base := &Baseline{Figures: []BaseFigure{
		{Key: craneStartKey, Unit: "ms", Better: lowerIsBetter, Median: 5},
		{Key: machineWorkKey, Unit: "ms", Better: lowerIsBetter, Median: 100},
		{Key: "start-up: signet --help, CPU (user+sys)", Unit: "ms", Better: lowerIsBetter, Median: 10},
		{Key: "start-up: signet --help CPU ÷ crane version CPU", Unit: "×", Better: lowerIsBetter, Median: 2},
		{Key: "verify, in process: policy engine", Unit: "verifications/s", Better: higherIsBetter, Median: 500},
		{Key: "verify, in process: round trips", Unit: "requests", Better: lowerIsBetter, Median: 4},
	}}
	run := func(craneMS, workMS, help, ratio, rate, trips float64) []*Figure {
		r := fig("start-up", "signet --help CPU ÷ crane version CPU", "×", ratio)
		r.Better = lowerIsBetter
		return []*Figure{
			fig("start-up", crane, "ms", craneMS), fig("calibration", work, "ms", workMS),
			fig("start-up", "signet --help, CPU (user+sys)", "ms", help),
			r,
			fig("verify, in process", "policy engine", "verifications/s", rate),
			fig("verify, in process", "round trips", "requests", trips),
		}
	}
	for _, tc := range []struct {
		name string
		got  []*Figure
		want map[string]string // figure -> status, for the figures named
	}{
		{"a machine 4x slower at start-up and 3x at work passes its slower figures",
			run(20, 300, 45, 2.2, 180, 4),
			map[string]string{craneStartKey: "reference", machineWorkKey: "reference",
				"start-up: signet --help, CPU (user+sys)": "ok", "verify, in process: policy engine": "ok"}},
		{"a regression beyond the machine's slowdown still fails",
			run(20, 300, 90, 2.2, 70, 4),
			map[string]string{"start-up: signet --help, CPU (user+sys)": "regressed", "verify, in process: policy engine": "regressed"}},
		{"on a faster machine a figure is judged as measured: no worse for it",
			run(1, 20, 15, 2, 300, 4),
			map[string]string{"start-up: signet --help, CPU (user+sys)": "ok", "verify, in process: policy engine": "ok"}},
		{"on a faster machine a figure is judged as measured: no better for it",
			run(1, 20, 21, 2, 249, 4),
			map[string]string{"start-up: signet --help, CPU (user+sys)": "regressed", "verify, in process: policy engine": "regressed"}},
		{"ratios and request counts are not excused",
			run(20, 300, 10, 4.1, 500, 9),
			map[string]string{"start-up: signet --help CPU ÷ crane version CPU": "regressed", "verify, in process: round trips": "regressed"}},
		{"without its reference a figure is judged as measured",
			run(20, 300, 45, 2, 500, 4)[2:],
			map[string]string{"start-up: signet --help, CPU (user+sys)": "regressed", craneStartKey: "", machineWorkKey: ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]Verdict{}
			for _, v := range compare(base, tc.got, maxRatio) {
				got[v.Key] = v
			}
			for k, w := range tc.want {
				v, ok := got[k]
				switch {
				case w == "" && ok:
					t.Errorf("%s: verdict %q, want none (a reference the run lacks is not missing)", k, v.Status)
				case w != "" && v.Status != w:
					t.Errorf("%s: %q (%s), want %q", k, v.Status, describe(v), w)
				}
				if w == "reference" && v.Fail {
					t.Errorf("%s: a reference figure failed", k)
				}
			}
		})
	}
	// The message says what was taken out.
	for _, v := range compare(base, run(20, 300, 45, 2, 500, 4), maxRatio) {
		if v.Key == "start-up: signet --help, CPU (user+sys)" && !strings.Contains(describe(v), "4.00x slowdown") {
			t.Errorf("describe = %q, want the machine's 4.00x slowdown named", describe(v))
		}
	}
}
