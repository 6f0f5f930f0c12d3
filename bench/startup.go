package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// craneVersion is the pinned crane (e2e/tools.sh), go-containerregistry's
// CLI: a small Go program on the same libraries, the yardstick for what a
// CLI's start-up costs.
const craneVersion = "v0.22.1"

// startup measures what every signet command pays before it does anything:
// the sum of package init (GODEBUG=inittrace=1 signet version), the CPU of
// `signet --help` against `crane version` (pairs run back to back, so load
// on the machine falls on both), and the wall time of `signet version`.
// scripts/inittrace-sum.sh lists the slowest packages by hand.
func (b *bench) startup() error {
	const section = "start-up"
	signet, crane := filepath.Join(b.bin, "signet"), b.tool("crane", craneVersion)
	if _, err := os.Stat(crane); err != nil {
		return fmt.Errorf("%s is missing: run ./e2e/tools.sh crane-%s (make bench does)", crane, craneVersion)
	}
	runs := max(21, 4*b.runs)
	var sums []float64
	perPkg := map[string][]float64{}
	for range runs {
		trace, err := b.inittrace(signet, "version")
		if err != nil {
			return err
		}
		sum := 0.0
		for pkg, ms := range trace {
			sum += ms
			perPkg[pkg] = append(perPkg[pkg], ms)
		}
		sums = append(sums, sum)
	}
	b.add(section, "package init, sum (signet version)", "ms", sums, "slowest: "+slowest(perPkg, runs, 5))

	// The floor (bench/floor) only in the full bench: it measures the
	// libraries, not a change to signet, so CI's quick check skips it.
	floor := ""
	if !b.quick {
		floor = filepath.Join(b.work, "floor")
		// Built as make build builds signet (static), with the caller's
		// environment so that Go's build cache is the usual one.
		cmd := exec.Command("go", "build", "-o", floor, "./bench/floor")
		cmd.Dir, cmd.Env = b.root, append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./bench/floor: %v\n%s", err, tail(string(out), 2000))
		}
	}

	var ratios, helpCPU, craneCPU, wall []float64
	var floorRatios, floorCPU, floorWall []float64
	for range runs {
		s, _, err := b.cpu(signet, "--help")
		if err != nil {
			return err
		}
		c, _, err := b.cpu(crane, "version")
		if err != nil {
			return err
		}
		_, w, err := b.cpu(signet, "version")
		if err != nil {
			return err
		}
		helpCPU, craneCPU, wall = append(helpCPU, ms(s)), append(craneCPU, ms(c)), append(wall, ms(w))
		ratios = append(ratios, float64(s)/float64(max(c, time.Microsecond)))
		if floor != "" {
			f, fw, err := b.cpu(floor, "--help")
			if err != nil {
				return err
			}
			floorCPU, floorWall = append(floorCPU, ms(f)), append(floorWall, ms(fw))
			floorRatios = append(floorRatios, float64(f)/float64(max(c, time.Microsecond)))
		}
	}
	b.add(section, "signet --help, CPU (user+sys)", "ms", helpCPU, "")
	b.add(section, "crane version, CPU (user+sys)", "ms", craneCPU, "crane "+craneVersion)
	b.add(section, "signet --help CPU ÷ crane version CPU", "×", ratios, "each pair run back to back").Better = lowerIsBetter
	b.add(section, "signet version, wall", "ms", wall, "")
	if floor != "" {
		const what = "floor: sigstore-go's verifier, go-containerregistry and cobra alone (bench/floor)"
		b.add(section, "floor --help, CPU (user+sys)", "ms", floorCPU, what)
		b.add(section, "floor --help CPU ÷ crane version CPU", "×", floorRatios, "each run after the crane run of its signet pair").Better = lowerIsBetter
		b.add(section, "floor --help, wall", "ms", floorWall, "")
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// cpu runs a command and returns its CPU time (user+sys) and wall time.
func (b *bench) cpu(bin string, args ...string) (cpu, wall time.Duration, err error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = b.env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, tail(out.String(), 2000))
	}
	wall = time.Since(t0)
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), wall, nil
}

// inittrace runs a Go program with GODEBUG=inittrace=1 and returns each
// package's init clock time in ms, from lines such as
// "init github.com/x/y @12 ms, 0.84 ms clock, 1024 bytes, 10 allocs".
func (b *bench) inittrace(bin string, args ...string) (map[string]float64, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = b.env("GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	trace := map[string]float64{}
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 7 || f[0] != "init" || f[6] != "clock," {
			continue
		}
		v, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			return nil, fmt.Errorf("inittrace line %q: %v", sc.Text(), err)
		}
		trace[f[1]] += v
	}
	if len(trace) == 0 {
		return nil, fmt.Errorf("%s printed no init trace (GODEBUG=inittrace=1)", filepath.Base(bin))
	}
	return trace, nil
}

// slowest names the n packages with the longest median init clock.
func slowest(perPkg map[string][]float64, runs, n int) string {
	type pkg struct {
		name string
		med  float64
	}
	var all []pkg
	for name, v := range perPkg {
		v = slices.Clone(v)
		for len(v) < runs { // a package absent from a run took nothing
			v = append(v, 0)
		}
		slices.Sort(v)
		all = append(all, pkg{name, v[len(v)/2]})
	}
	slices.SortFunc(all, func(a, b pkg) int {
		if a.med != b.med {
			if a.med > b.med {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	var parts []string
	for _, p := range all[:min(n, len(all))] {
		parts = append(parts, fmt.Sprintf("%s %.2f ms", p.name, p.med))
	}
	return strings.Join(parts, ", ")
}
