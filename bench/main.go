// Command bench measures Signet side by side with cosign on this machine and
// writes bench/RESULTS.md and bench/results.json: whole-process verify
// (signet vs cosign, 1, 10 and 100 images), in-process verifications/s,
// signing throughput with and without the transparency log, peak memory
// attesting large SBOMs (signet vs cosign), the admission webhook's latency,
// and the embedded log's append rate and inclusion-proof latency. Every
// figure is the median of several runs with the spread (min–max).
//
// Everything runs on 127.0.0.1: the pinned distribution registry and cosign
// from e2e/tools.sh, the signet binary from bin/ (or -bin DIR). Run it with
// `make bench`.
//
// `make bench-quick` (-quick -check bench/baseline.json) runs the quick
// steps (the quick list below) with smaller inputs and compares each figure
// with the committed baseline for this machine kind (compare.go): a figure
// more than 2x worse fails the run.
//
// Adding a step: put its code in a new file bench/<topic>.go and one line in
// the steps list in main; name it in the quick list too if CI should guard it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const (
	cosignVersion   = "v3.1.3"
	registryVersion = "v3.1.2"
	password        = "bench-password"
)

// Figure is one measured quantity over several runs.
type Figure struct {
	Section string    `json:"section"`
	Name    string    `json:"name"`
	Unit    string    `json:"unit"`
	Runs    []float64 `json:"runs"`
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Note    string    `json:"note,omitempty"`
	// Better is "higher" or "lower": which way is an improvement. add sets
	// it from the unit (betterFor); a step may set it for a unit the table
	// does not know. The quick check refuses a figure without one.
	Better string `json:"better,omitempty"`

	step string // the step that measured it
}

// Results is what results.json holds.
type Results struct {
	// Commit is the commit measured (git rev-parse HEAD of the source
	// tree, "+dirty" when it had changes); Kind the machine kind the
	// quick check keys baselines by (machineKind); Binary what the signet
	// binary measured says it was built from, when -bin named another.
	Commit   string            `json:"commit"`
	Kind     string            `json:"machineKind"`
	Quick    bool              `json:"quick,omitempty"`
	Binary   string            `json:"binary,omitempty"`
	Machine  map[string]string `json:"machine"`
	Started  time.Time         `json:"started"`
	Duration string            `json:"duration"`
	Figures  []*Figure         `json:"figures"`
	Ratios   []Ratio           `json:"ratios"`
}

// Ratio compares a signet figure with cosign's.
type Ratio struct {
	Name  string  `json:"name"`
	Value float64 `json:"signetOverCosign"`
}

// bench is one run of the program. bin is the directory the signet binary
// is measured from (-bin; bin/ by default): use b.signet(). The pinned
// tools (cosign, registry, crane) always come from the clone's bin/, linked
// from the version-keyed cache by e2e/tools.sh: use b.tool(). Go benchmarks
// run in src (-src; the clone by default).
type bench struct {
	root, work, bin string
	tools, src      string
	runs            int
	registry        string
	res             Results
	keyFile, pubKey string
	trustedRoot     string
	signingConfig   string
	quick           bool
}

// quick names the steps `make bench-quick` runs (with -quick and no -only)
// and CI guards; a name with no step in the list below is passed over, so
// a step can be named here before its file lands.
var quick = []string{"calibration", "start-up", "verify, in process", "admission", "log"}

func main() {
	out := flag.String("out", "", "where to write the report, results.json beside it (default bench/RESULTS.md; with -quick, none unless given)")
	runs := flag.Int("runs", 5, "runs per figure")
	quickFlag := flag.Bool("quick", false, "the quick steps with smaller inputs: for make bench-quick and trying the harness (not for publishing)")
	only := flag.String("only", "", "run only these steps (comma-separated names, e.g. \"attestation rss\"); setup always runs")
	binDir := flag.String("bin", "bin", "directory of the signet binary to measure (e.g. a build of an older commit); tools still come from bin/")
	srcDir := flag.String("src", ".", "source tree the Go benchmarks run in (e.g. a git worktree of an older commit)")
	check := flag.String("check", "", "compare each figure with this baseline file for this machine kind and fail on a regression over 2x (make bench-quick)")
	update := flag.Bool("update-baseline", false, "with -check: replace this machine kind's baseline with this run's figures (after an intended change)")
	flag.Parse()
	root, _ := os.Getwd()
	work, err := os.MkdirTemp("", "signet-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	bin, _ := filepath.Abs(*binDir)
	src, _ := filepath.Abs(*srcDir)
	b := &bench{root: root, work: work, bin: bin, tools: filepath.Join(root, "bin"), src: src, runs: *runs, quick: *quickFlag}
	b.res.Started = time.Now().UTC()
	b.res.Quick = b.quick
	b.res.Commit = gitCommit(src)
	b.res.Kind = machineKind()
	b.res.Machine = b.machine()
	defer stopAll()
	if *out == "" && !b.quick {
		*out = "bench/RESULTS.md"
	}
	steps := []struct {
		name string
		f    func() error
	}{
		{"setup", b.setup},
		{"calibration", b.calibrate},
		{"start-up", b.startup},
		{"verify, whole process", b.verifyWhole},
		{"verify, in process", b.verifyInProcess},
		{"sign", b.sign},
		{"attest memory", b.attestMemory},
		{"attestation rss", b.attestationRSS},
		{"admission", b.admission},
		{"registry latency", b.latency},
		{"rate limits", b.rateLimit},
		{"log", b.log},
		{"fleet", b.fleet},
	}
	names := make([]string, len(steps))
	for i, st := range steps {
		names[i] = st.name
	}
	selected := map[string]bool{}
	switch {
	case *only != "":
		list, err := parseOnly(*only, names)
		if err != nil {
			log.Fatalf("bench: -only: %v", err)
		}
		for _, n := range list {
			selected[n] = true
		}
	case b.quick:
		for _, n := range quick {
			selected[n] = true
		}
	}
	run := func(name string, f func() error) {
		t0 := time.Now()
		n0 := len(b.res.Figures)
		log.Printf("bench: %s ...", name)
		if err := f(); err != nil {
			stopAll()
			log.Fatalf("bench: %s: %v", name, err)
		}
		for _, fig := range b.res.Figures[n0:] {
			fig.step = name
		}
		log.Printf("bench: %s done in %s", name, time.Since(t0).Round(time.Second))
	}
	for _, s := range steps {
		if len(selected) > 0 && s.name != "setup" && !selected[s.name] {
			continue
		}
		run(s.name, s.f)
	}
	b.res.Duration = time.Since(b.res.Started).Round(time.Second).String()
	if *out != "" {
		if err := b.write(*out); err != nil {
			log.Fatal(err)
		}
		log.Printf("bench: wrote %s in %s", *out, b.res.Duration)
	}
	if *check != "" {
		// A regression is measured again, once, by re-running its steps:
		// a figure fails only when both runs are more than 2x worse, so a
		// moment of load on a shared machine is not a failure.
		again := func(names []string) []*Figure {
			kept := b.res.Figures
			b.res.Figures = nil
			for _, s := range steps {
				if slices.Contains(names, s.name) {
					run(s.name, s.f)
				}
			}
			out := b.res.Figures
			b.res.Figures = kept
			return out
		}
		if err := checkBaseline(os.Stdout, *check, &b.res, *update, again); err != nil {
			stopAll()
			log.Fatalf("bench: %v", err)
		}
	}
}

// parseOnly reads -only: step names separated by commas, where a name may
// itself hold a comma ("verify, in process"): the longest run of pieces
// that names a step is taken. A name that is no step is an error.
func parseOnly(v string, names []string) ([]string, error) {
	pieces := strings.Split(v, ",")
	var out []string
	for i := 0; i < len(pieces); {
		found := 0
		for j := len(pieces); j > i; j-- {
			if slices.Contains(names, strings.TrimSpace(strings.Join(pieces[i:j], ","))) {
				found = j
				break
			}
		}
		if found == 0 {
			return nil, fmt.Errorf("no step is named %q; the steps: %s", strings.TrimSpace(pieces[i]), strings.Join(names, "; "))
		}
		out = append(out, strings.TrimSpace(strings.Join(pieces[i:found], ",")))
		i = found
	}
	return out, nil
}

// --- setup -------------------------------------------------------------------

func (b *bench) tool(name, version string) string {
	return filepath.Join(b.tools, name+"-"+version, name)
}

// signet is the binary measured: bin/signet, or -bin DIR's.
func (b *bench) signet() string { return filepath.Join(b.bin, "signet") }

func (b *bench) env(extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(b.work, "home"),
		"SIGNET_HOME=" + filepath.Join(b.work, "signet-home"),
		"TUF_ROOT=" + filepath.Join(b.work, "home", ".sigstore"),
		"SIGNET_PASSWORD=" + password, "COSIGN_PASSWORD=" + password,
		// Nothing leaves the machine: a call to public Sigstore fails at once.
		"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=127.0.0.1,localhost",
		"TMPDIR=" + b.work,
	}, extra...)
}

// run runs a command and returns its wall time and peak RSS (bytes).
func (b *bench) run(bin string, args ...string) (time.Duration, int64, error) {
	cmd := exec.Command(bin, args...)
	took, _, err := b.execute(cmd, bin, args)
	if err != nil {
		return took, 0, err
	}
	rss := int64(0)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss * 1024
	}
	return took, rss, nil
}

// execute runs cmd in the bench's environment and returns its wall time and
// its output; a failure names bin and its first arguments, with the
// output's tail.
func (b *bench) execute(cmd *exec.Cmd, bin string, args []string) (time.Duration, string, error) {
	cmd.Env = b.env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err := cmd.Run()
	took := time.Since(t0)
	if err != nil {
		return took, "", fmt.Errorf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args[:min(len(args), 6)], " "), err, tail(out.String(), 2000))
	}
	return took, out.String(), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func (b *bench) setup() error {
	for _, d := range []string{"home", "signet-home"} {
		os.MkdirAll(filepath.Join(b.work, d), 0o700)
	}
	for _, t := range []string{b.tool("cosign", cosignVersion), b.tool("registry", registryVersion), b.signet()} {
		if _, err := os.Stat(t); err != nil {
			return fmt.Errorf("%s is missing: run make bench (it builds signet and runs e2e/tools.sh)", t)
		}
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cfg := filepath.Join(b.work, "registry.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s/registry\nhttp:\n  addr: %s\n", b.work, addr)), 0o600)
	if err := start(b.tool("registry", registryVersion), b.env(), "serve", cfg); err != nil {
		return err
	}
	if err := waitHTTP("http://" + addr + "/v2/"); err != nil {
		return err
	}
	b.registry = addr
	b.keyFile = filepath.Join(b.work, "release.key")
	b.pubKey = filepath.Join(b.work, "release.pub")
	if _, _, err := b.run(b.signet(), "keys", "generate", "--output-prefix", filepath.Join(b.work, "release")); err != nil {
		return err
	}
	// cosign's trust material with no services: offline, nothing logged.
	b.trustedRoot = filepath.Join(b.work, "trusted_root.json")
	b.signingConfig = filepath.Join(b.work, "signing_config.json")
	if _, _, err := b.run(b.tool("cosign", cosignVersion), "trusted-root", "create", "--no-default-fulcio", "--no-default-rekor",
		"--no-default-ctfe", "--no-default-tsa", "--out", b.trustedRoot); err != nil {
		return err
	}
	_, _, err = b.run(b.tool("cosign", cosignVersion), "signing-config", "create", "--no-default-fulcio", "--no-default-oidc",
		"--no-default-rekor", "--no-default-tsa", "--out", b.signingConfig)
	return err
}

// push pushes n small random images and returns their digest references.
func (b *bench) push(repo string, n int) ([]string, error) {
	out := make([]string, 0, n)
	for i := range n {
		d, err := b.pushImage(fmt.Sprintf("%s/%s:%d", b.registry, repo, i))
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// pushImage pushes a small random image as tag and returns its digest
// reference.
func (b *bench) pushImage(tag string) (string, error) {
	img, err := random.Image(256, 1)
	if err != nil {
		return "", err
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img); err != nil {
		return "", err
	}
	d, _ := img.Digest()
	return ref.Context().Digest(d.String()).String(), nil
}

// --- figures -----------------------------------------------------------------

func (b *bench) add(section, name, unit string, runs []float64, note string) *Figure {
	s := slices.Clone(runs)
	slices.Sort(s)
	f := &Figure{Section: section, Name: name, Unit: unit, Runs: runs, Note: note, Better: betterFor(unit)}
	if len(s) > 0 {
		f.Min, f.Max = s[0], s[len(s)-1]
		if len(s)%2 == 1 {
			f.Median = s[len(s)/2]
		} else {
			f.Median = (s[len(s)/2-1] + s[len(s)/2]) / 2
		}
	}
	b.res.Figures = append(b.res.Figures, f)
	return f
}

// verifyWhole times `signet verify --key` and `cosign verify --key` as
// processes on the same signed images, 1, 10 and 100 per invocation.
func (b *bench) verifyWhole() error {
	const section = "verify, whole process"
	images, err := b.push("bench/verify", 100)
	if err != nil {
		return err
	}
	if _, _, err := b.run(b.signet(), append([]string{"sign", "--no-tlog", "--key", b.keyFile}, images...)...); err != nil {
		return err
	}
	for _, n := range []int{1, 10, 100} {
		set := images[:n]
		var sig, cos []float64
		for range b.runs {
			t, _, err := b.run(b.signet(), append([]string{"verify", "--key", b.pubKey}, set...)...)
			if err != nil {
				return err
			}
			sig = append(sig, t.Seconds()*1000/float64(n))
			t, _, err = b.run(b.tool("cosign", cosignVersion), append([]string{"verify", "--key", b.pubKey, "--insecure-ignore-tlog",
				"--trusted-root", b.trustedRoot, "--allow-http-registry", "--output", "json"}, set...)...)
			if err != nil {
				return err
			}
			cos = append(cos, t.Seconds()*1000/float64(n))
		}
		fs := b.add(section, fmt.Sprintf("signet verify, %d image(s) per invocation", n), "ms/image", sig, "")
		fc := b.add(section, fmt.Sprintf("cosign verify, %d image(s) per invocation", n), "ms/image", cos, "cosign "+cosignVersion)
		b.res.Ratios = append(b.res.Ratios, Ratio{Name: fmt.Sprintf("verify, %d image(s)", n), Value: fs.Median / fc.Median})
	}
	return nil
}

// goBench runs Go benchmarks count times and returns, per benchmark name
// (without the -N suffix) and metric unit, the value of each run.
func (b *bench) goBench(pkg, pattern, benchtime string) (map[string]map[string][]float64, error) {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", pattern, "-benchtime", benchtime, "-count", strconv.Itoa(b.runs), pkg)
	cmd.Dir = b.src
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test -bench %s %s: %v\n%s", pattern, pkg, err, tail(out.String(), 3000))
	}
	res := map[string]map[string][]float64{}
	// A benchmark's name and its figures may be split by log lines the
	// code under test prints: take the figures for the last name seen.
	nameRe := regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?(\s|$)`)
	figures := regexp.MustCompile(`(?:^|\s)\d+\s+(\d[\d.e+]*\s+\S+/op.*)$`)
	last := ""
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		l := sc.Text()
		if m := nameRe.FindStringSubmatch(l); m != nil {
			last = m[1]
		}
		m := figures.FindStringSubmatch(l)
		if m == nil || last == "" {
			continue
		}
		fields := strings.Fields(m[1])
		if res[last] == nil {
			res[last] = map[string][]float64{}
		}
		for i := 0; i+1 < len(fields); i += 2 {
			if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
				res[last][fields[i+1]] = append(res[last][fields[i+1]], v)
			}
		}
		last = ""
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("no benchmark output from %s:\n%s", pkg, tail(out.String(), 3000))
	}
	return res, nil
}

func (b *bench) verifyInProcess() error {
	const section = "verify, in process"
	r, err := b.goBench("./verify", "BenchmarkDecide", "3x")
	if err != nil {
		return err
	}
	for _, c := range []string{"false", "true"} {
		bn := "BenchmarkDecide/cached=" + c
		label := map[string]string{"false": "cold (no cache)", "true": "cached"}[c]
		if err := b.addBench(r, bn, "verifications/s", section, "policy engine, 200 distinct signed images, "+label, "verifications/s"); err != nil {
			return err
		}
		if err := b.addBench(r, bn, "round-trips/verification", section, "registry round trips per verification, "+label, "requests"); err != nil {
			return err
		}
	}
	return nil
}

// addBench adds the runs of one benchmark's metric as a figure; a
// benchmark or metric the output lacks (renamed, or a run that failed) is
// an error, never an empty figure.
func (b *bench) addBench(r map[string]map[string][]float64, bench, metric, section, name, unit string) error {
	runs := r[bench][metric]
	if len(runs) == 0 {
		have := make([]string, 0, len(r))
		for k := range r {
			have = append(have, k)
		}
		slices.Sort(have)
		return fmt.Errorf("%s reported no %s (benchmarks seen: %s): was it renamed?", bench, metric, strings.Join(have, ", "))
	}
	b.add(section, name, unit, runs, "")
	return nil
}

// sign times one `signet sign` of 200 fresh digests, without and with the
// embedded transparency log.
func (b *bench) sign() error {
	const section = "sign"
	n := 200
	if b.quick {
		n = 20
	}
	logAddr, err := freeAddr()
	if err != nil {
		return err
	}
	logHome := filepath.Join(b.work, "log-home")
	os.MkdirAll(logHome, 0o700)
	cmdEnv := append(b.env(), "SIGNET_HOME="+logHome)
	if err := start(b.signet(), cmdEnv, "log", "serve", "--addr", logAddr, "--dir", filepath.Join(b.work, "log")); err != nil {
		return err
	}
	if err := waitHTTP("http://" + logAddr + "/checkpoint"); err != nil {
		return err
	}
	for _, logged := range []bool{false, true} {
		var rates []float64
		for i := range b.runs {
			images, err := b.push(fmt.Sprintf("bench/sign-%v-%d", logged, i), n)
			if err != nil {
				return err
			}
			args := []string{"sign", "--key", b.keyFile}
			if logged {
				args = append(args, "--tlog-url", "http://"+logAddr, "--tlog-api-version", "2")
			} else {
				args = append(args, "--no-tlog")
			}
			t, _, err := b.run(b.signet(), append(args, images...)...)
			if err != nil {
				return err
			}
			rates = append(rates, float64(n)/t.Seconds())
		}
		label := "no transparency log"
		if logged {
			label = "logged to the embedded log (Rekor v2 API, inclusion proof awaited)"
		}
		b.add(section, fmt.Sprintf("signet sign, %d digests in one invocation, %s", n, label), "signatures/s", rates, "")
	}
	return nil
}

// writeSBOM writes a CycloneDX JSON document of about size bytes.
func writeSBOM(path string, size int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprint(w, `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"metadata":{"timestamp":"2026-12-01T00:00:00Z"},"components":[`)
	written := 0
	for i := 0; written < size; i++ {
		if i > 0 {
			w.WriteByte(',')
		}
		n, _ := fmt.Fprintf(w, `{"type":"library","name":"package-%d","version":"1.%d.%d","purl":"pkg:generic/package-%d@1.%d.%d","licenses":[{"license":{"id":"Apache-2.0"}}]}`,
			i, i%100, i%7, i, i%100, i%7)
		written += n + 1
	}
	fmt.Fprint(w, `]}`)
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// attestMemory measures peak RSS attesting 10 MB and 100 MB SBOMs.
func (b *bench) attestMemory() error {
	const section = "attest memory"
	images, err := b.push("bench/attest", 1)
	if err != nil {
		return err
	}
	sizes := []int{10, 100}
	if b.quick {
		sizes = []int{10}
	}
	for _, mb := range sizes {
		sbom := filepath.Join(b.work, fmt.Sprintf("sbom-%dmb.cdx.json", mb))
		if err := writeSBOM(sbom, mb<<20); err != nil {
			return err
		}
		var sig, cos, sigT, cosT []float64
		for range b.runs {
			t, rss, err := b.run(b.signet(), "attest", "--no-tlog", "--key", b.keyFile, "--type", "cyclonedx", "--predicate", sbom, images[0])
			if err != nil {
				return err
			}
			sig, sigT = append(sig, float64(rss)/(1<<20)), append(sigT, t.Seconds())
			t, rss, err = b.run(b.tool("cosign", cosignVersion), "attest", "--yes", "--key", b.keyFile, "--type", "cyclonedx", "--predicate", sbom,
				"--signing-config", b.signingConfig, "--trusted-root", b.trustedRoot, "--allow-http-registry", images[0])
			if err != nil {
				return err
			}
			cos, cosT = append(cos, float64(rss)/(1<<20)), append(cosT, t.Seconds())
		}
		fs := b.add(section, fmt.Sprintf("signet attest, %d MB CycloneDX SBOM, peak RSS", mb), "MiB", sig, "")
		fc := b.add(section, fmt.Sprintf("cosign attest, %d MB CycloneDX SBOM, peak RSS", mb), "MiB", cos, "cosign "+cosignVersion)
		b.add(section, fmt.Sprintf("signet attest, %d MB SBOM, wall time", mb), "s", sigT, "")
		b.add(section, fmt.Sprintf("cosign attest, %d MB SBOM, wall time", mb), "s", cosT, "cosign "+cosignVersion)
		b.res.Ratios = append(b.res.Ratios, Ratio{Name: fmt.Sprintf("attest %d MB, peak RSS", mb), Value: fs.Median / fc.Median})
		os.Remove(sbom)
	}
	return nil
}

// attestationRSS measures, with /usr/bin/time -v, the peak RSS of
// attesting and verifying a 100 MB SBOM attached and a 1 GB SBOM detached
// (attest --detached), one run each (they are slow), each process bounded to
// 15 minutes. Not run with -quick.
func (b *bench) attestationRSS() error {
	const section = "attestations of any size, peak RSS (/usr/bin/time -v)"
	if b.quick {
		return nil
	}
	signet := b.signet()
	_, base, err := b.timed(signet, "version")
	if err != nil {
		return err
	}
	b.add(section, "signet version (the CLI's baseline)", "MiB", []float64{mib(base)}, "")
	images, err := b.push("bench/rss", 2)
	if err != nil {
		return err
	}
	cases := []struct {
		mb       int
		image    string
		detached bool
	}{{100, images[0], false}, {1024, images[1], true}}
	for _, c := range cases {
		sbom := filepath.Join(b.work, fmt.Sprintf("sbom-rss-%dmb.cdx.json", c.mb))
		if err := writeSBOM(sbom, c.mb<<20); err != nil {
			return err
		}
		how := "attached"
		attest := []string{"attest", "--no-tlog", "--key", b.keyFile, "--type", "cyclonedx", "--predicate", sbom, c.image}
		verify := []string{"verify-attestation", "--tlog", "skip", "--key", b.pubKey, "--type", "cyclonedx", "--max-artifact-size", fmt.Sprint(2 * c.mb << 20), c.image}
		if c.detached {
			how = "detached"
			attest = append([]string{attest[0], "--detached"}, attest[1:]...)
			verify = append(verify[:len(verify)-1], "--condition", "summary.counts.components > 0", c.image)
		}
		_, rss, err := b.timed(signet, attest...)
		if err != nil {
			return err
		}
		b.add(section, fmt.Sprintf("signet attest, %d MB SBOM %s", c.mb, how), "MiB", []float64{mib(rss)}, "")
		_, rss, err = b.timed(signet, verify...)
		if err != nil {
			return err
		}
		b.add(section, fmt.Sprintf("signet verify-attestation, %d MB SBOM %s", c.mb, how), "MiB", []float64{mib(rss)}, "")
		if err := b.attachedCondition(section, c.mb, verify, c.detached); err != nil {
			return err
		}
		os.Remove(sbom)
	}
	return nil
}

func mib(bytes int64) float64 { return float64(bytes) / (1 << 20) }

var maxRSS = regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`)

// timed runs a command under /usr/bin/time -v, at most 15 minutes, and
// returns its wall time and the peak RSS time reports (bytes).
func (b *bench) timed(bin string, args ...string) (time.Duration, int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/time", append([]string{"-v", bin}, args...)...)
	took, out, err := b.execute(cmd, bin, args)
	if err != nil {
		return took, 0, err
	}
	m := maxRSS.FindStringSubmatch(out)
	if m == nil {
		return took, 0, fmt.Errorf("/usr/bin/time -v printed no maximum resident set size")
	}
	kb, _ := strconv.ParseInt(m[1], 10, 64)
	return took, kb << 10, nil
}

// admission runs the webhook's benchmarks: warm and cold cache, back to
// back and at a steady 200 req/s; with -quick, warm only and fewer reviews.
func (b *bench) admission() error {
	const section = "admission"
	pattern, n := "BenchmarkWebhook", "2000x"
	if b.quick {
		pattern, n = "BenchmarkWebhook$|BenchmarkWebhookSteady$", "500x"
	}
	r, err := b.goBench("./admission", pattern, n)
	if err != nil {
		return err
	}
	for _, c := range []struct {
		bench, label string
		warm         bool
	}{
		{"BenchmarkWebhook", "8 clients back to back, warm cache", true},
		{"BenchmarkWebhookCold", "8 clients back to back, no cache", false},
		{"BenchmarkWebhookSteady", "steady 200 req/s, warm cache", true},
		{"BenchmarkWebhookSteadyCold", "steady 200 req/s, no cache", false},
	} {
		if b.quick && !c.warm {
			continue
		}
		for _, m := range []struct{ metric, what, unit string }{{"p50-ms", "p50", "ms"}, {"p99-ms", "p99", "ms"}, {"req/s", "throughput", "req/s"}} {
			if err := b.addBench(r, c.bench, m.metric, section, c.label+": "+m.what, m.unit); err != nil {
				return err
			}
		}
	}
	return nil
}

// logPackage is the embedded log's package in the source measured: tlog
// before the log server had a package of its own (-src of an older commit).
func (b *bench) logPackage() string {
	if _, err := os.Stat(filepath.Join(b.src, "tlog", "logserver")); err == nil {
		return "./tlog/logserver"
	}
	return "./tlog"
}

// log runs the embedded log's benchmarks: appends/s with 128 and 512
// clients in process and 512 over HTTP, and one client's wait for its
// inclusion proof (phase locked: the worst case; random: a signer arriving
// at any moment). With -quick: 512 clients only, fewer appends.
func (b *bench) log() error {
	const section = "log"
	pattern, n := "BenchmarkAppend$", "1000x"
	if b.quick {
		pattern, n = "BenchmarkAppend$/clients=512$", "300x" // and clients=512/http
	}
	pkg := b.logPackage()
	r, err := b.goBench(pkg, pattern, n)
	if err != nil {
		return err
	}
	for _, c := range []struct{ sub, label string }{
		{"clients=128", "128 concurrent clients, in process"},
		{"clients=512", "512 concurrent clients, in process"},
		{"clients=512/http", "512 concurrent clients over HTTP (Rekor v2 API)"},
	} {
		if b.quick && c.sub == "clients=128" {
			continue
		}
		if err := b.addBench(r, "BenchmarkAppend/"+c.sub, "appends/s", section, "embedded log appends, "+c.label, "appends/s"); err != nil {
			return err
		}
	}
	n = "20x"
	if b.quick {
		n = "10x"
	}
	if r, err = b.goBench(pkg, "BenchmarkAppendLatency", n); err != nil {
		return err
	}
	for _, phase := range []string{"locked", "random"} {
		ns := r["BenchmarkAppendLatency/phase="+phase]["ns/op"]
		ms := make([]float64, len(ns))
		for i, v := range ns {
			ms[i] = v / 1e6
		}
		r["BenchmarkAppendLatency/phase="+phase]["ms/op"] = ms
		if err := b.addBench(r, "BenchmarkAppendLatency/phase="+phase, "ms/op", section,
			"one client: append until its inclusion proof is returned, phase "+phase, "ms"); err != nil {
			return err
		}
	}
	return nil
}

// --- report ------------------------------------------------------------------

func (b *bench) write(out string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(b.res, "", "  ")
	if err := os.WriteFile(filepath.Join(filepath.Dir(out), "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	var w strings.Builder
	how := "`make bench`"
	if b.quick {
		how = "`go run ./bench -quick` (smaller inputs: not comparable with `make bench`)"
	}
	fmt.Fprintf(&w, "# Signet benchmarks\n\nMeasured commit **%s** on %s (%s).\n\n", b.res.Commit, b.res.Kind, b.res.Started.Format("2006-01-02 15:04 MST"))
	if b.res.Binary != "" {
		fmt.Fprintf(&w, "The signet binary measured (-bin %s) says: %s. The Go benchmarks ran in the commit above.\n\n", b.bin, b.res.Binary)
	}
	fmt.Fprintf(&w, "Written by %s (bench/main.go) in %s. Every figure is the median of %d runs; the spread is the\nlowest and highest run. Everything ran on 127.0.0.1; see the notes at the end for what each figure measures.\n\n",
		how, b.res.Duration, b.runs)
	w.WriteString(quickNote)
	fmt.Fprintf(&w, "## Machine\n\n| | |\n|---|---|\n")
	keys := make([]string, 0, len(b.res.Machine))
	for k := range b.res.Machine {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&w, "| %s | %s |\n", k, b.res.Machine[k])
	}
	section := ""
	for _, f := range b.res.Figures {
		if f.Section != section {
			section = f.Section
			fmt.Fprintf(&w, "\n## %s\n\n| figure | median | spread (min–max) | unit |\n|---|---:|---:|---|\n", section)
		}
		name := f.Name
		if f.Note != "" {
			name += " (" + f.Note + ")"
		}
		fmt.Fprintf(&w, "| %s | %s | %s – %s | %s |\n", name, num(f.Median), num(f.Min), num(f.Max), f.Unit)
	}
	fmt.Fprintf(&w, "\n## Signet / cosign\n\n| comparison | signet ÷ cosign (median) |\n|---|---:|\n")
	for _, r := range b.res.Ratios {
		fmt.Fprintf(&w, "| %s | %.2f |\n", r.Name, r.Value)
	}
	w.WriteString(notes)
	return os.WriteFile(out, []byte(w.String()), 0o644)
}

const quickNote = `CI runs ` + "`make bench-quick`" + `: the quick steps (start-up, in-process verify, admission with a
warm cache, log appends) with smaller inputs, each figure compared with the baseline for the same machine kind (CPU
model, cores, OS/arch, Go version) in bench/baseline.json; the run fails when one is more than 2x worse, whichever
way is better for its unit (ms: lower; per second: higher). Machines of one kind differ in speed, so a figure is
judged after taking out how much slower than the baseline's the machine measured by a reference that is not Signet's:
crane's start-up for start-up figures, the calibration step's fixed work for the rest (a faster machine earns
nothing). A machine kind with no baseline passes and gets its figures written there, to commit. The baseline holds
quick-run figures, not this report's.

`

const notes = `
## What is measured

- **calibration**: the machine, not Signet: fixed in-process work (ECDSA
  P-256 verifications, loopback HTTP requests, SHA-256) on two goroutines.
  The quick check takes the machine's slowdown against its baseline out of
  the in-process figures with it.
- **verify, whole process**: wall time of one ` + "`signet verify --key`" + ` or
  ` + "`cosign verify --key --insecure-ignore-tlog`" + ` process, divided by the images it
  was given, against the pinned distribution registry (no referrers API, so
  both read the fallback tag). The same images, signed once by signet in
  cosign v3's bundle format; both tools verify the same signatures (signet
  reads each bundle embedded in its referrer manifest, cosign from its blob).
- **verify, in process**: the policy engine (` + "`verify.Engine.DecideAll`" + `) over 200
  distinct signed images in go-containerregistry's in-memory registry;
  cold builds a new engine per pass, cached reuses the warm verdict cache.
- **sign**: one ` + "`signet sign`" + ` process signing 200 fresh digests; logged runs
  wait for each entry's inclusion proof from ` + "`signet log serve`" + `.
- **attest memory**: peak resident set (getrusage) of one attest process; the
  SBOM is generated (many small components).
- **attestations of any size**: peak resident set of one process, as
  ` + "`/usr/bin/time -v`" + ` reports it, one run each: attesting and verifying a
  100 MB CycloneDX SBOM attached (verify with ` + "`--max-artifact-size`" + ` raised,
  then again with a condition over its predicate)
  and a 1 GB one with ` + "`attest --detached`" + ` (verify with a condition on the
  summary, see docs/attestations.md); ` + "`signet version`" + ` is the baseline.
- **admission**: the webhook over HTTPS with kept-alive connections, one
  Deployment with one signed image per review; back-to-back runs report the
  capacity, steady runs the latency at 200 req/s.
- **log**: the embedded Tessera log in process.
- **start-up**: what every command pays before it works: the sum of package
  init of ` + "`signet version`" + ` (` + "`GODEBUG=inittrace=1`" + `), and the CPU of ` + "`signet --help`" + `
  against ` + "`crane version`" + `'s, pairs run back to back. ` + "`make build`" + `'s signet is a
  split build: admission, gate and fleet run in signet-server beside it. The
  floor rows (full bench only) are bench/floor: a program linking only
  sigstore-go's verifier, go-containerregistry and cobra, printing its help;
  what any cosign-compatible verifier on those libraries pays to start.
- **registry latency**: the benchmark registry behind a proxy that holds
  every request 20 or 50 ms (internal/faultproxy); whole-process verify, one
  verification and the policy engine in process, and the admission webhook in
  process over HTTPS with pods of 1 and 8 containers in their own
  repositories, one cold review at a time and 200 reviews/s.
- **rate limits**: ` + "`signet verify`" + ` through a proxy that lets one request in
  three through and answers the others 429 and 503 with Retry-After: 1.
- **fleet**: ` + "`signet fleet check --no-cluster`" + ` (whole process, through
  signet-server) over 10,000 distinct key-signed images in the pinned
  registry (bundles embedded in their referrer manifests, as signet sign
  writes them), at each ` + "`--max-workers`" + `; CPU per verification of signet and of the
  registry, and peak RSS at 1,000 and 10,000 images.

Tests never assert these numbers; CI does not run ` + "`make bench`" + `, only the quick check above.
`

func num(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func (b *bench) machine() map[string]string {
	m := map[string]string{
		"os/arch":    runtime.GOOS + "/" + runtime.GOARCH,
		"cores":      strconv.Itoa(runtime.NumCPU()),
		"go":         runtime.Version(),
		"cosign":     cosignVersion + " (e2e/tools.sh)",
		"registry":   "distribution " + registryVersion + " (e2e/tools.sh)",
		"signet":     b.res.Commit,
		"cpu":        cpuModel(),
		"memory":     memTotal(),
		"kernel":     kernel(),
		"go modules": "signet's go.mod (pinned)",
	}
	if b.bin != filepath.Join(b.root, "bin") {
		b.res.Binary = binaryVersion(b.signet())
		m["signet binary"] = b.res.Binary
	}
	return m
}

// machineKind is what the quick check's baselines are keyed by: figures
// compare only with figures from the same CPU model, core count, OS and
// architecture, and Go version.
func machineKind() string {
	return fmt.Sprintf("%s, %d cores, %s/%s, %s", cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// gitCommit is dir's HEAD commit, with "+dirty" when the work tree has
// changes (bench/ output aside: a run that rewrote the report is the same
// code).
func gitCommit(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown (not a git work tree)"
	}
	c := strings.TrimSpace(string(out))
	st, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--", ".",
		":(exclude)bench/RESULTS.md", ":(exclude)bench/results.json", ":(exclude)bench/baseline.json").Output()
	if err != nil || len(bytes.TrimSpace(st)) > 0 {
		c += "+dirty"
	}
	return c
}

// binaryVersion is what a signet binary says it was built from.
func binaryVersion(bin string) string {
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		return "unknown (" + bin + " version failed)"
	}
	var parts []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "signet ") || strings.HasPrefix(l, "commit:") {
			parts = append(parts, strings.Join(strings.Fields(l), " "))
		}
	}
	return strings.Join(parts, ", ")
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			_, v, _ := strings.Cut(l, ":")
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "MemTotal:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return fmt.Sprintf("%.1f GiB", kb/(1<<20))
			}
		}
	}
	return "unknown"
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// --- processes ---------------------------------------------------------------

var started []*exec.Cmd

// start runs a server that dies with this process, stopped by PID in stopAll.
func start(bin string, env []string, args ...string) error {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	started = append(started, cmd)
	return nil
}

func stopAll() {
	for _, c := range started {
		syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	started = nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitHTTP(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("timed out waiting for " + url)
}
