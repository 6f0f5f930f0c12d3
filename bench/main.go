// Command bench measures Signet side by side with cosign on this machine and
// writes bench/RESULTS.md and bench/results.json: whole-process verify
// (signet vs cosign, 1, 10 and 100 images), in-process verifications/s,
// signing throughput with and without the transparency log, peak memory
// attesting large SBOMs (signet vs cosign), the admission webhook's latency,
// and the embedded log's append rate and inclusion-proof latency. Every
// figure is the median of several runs with the spread (min–max).
//
// Everything runs on 127.0.0.1: the pinned distribution registry and cosign
// from e2e/tools.sh, the signet binary from bin/. Run it with `make bench`.
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
}

// Results is what results.json holds.
type Results struct {
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

type bench struct {
	root, work, bin string
	runs            int
	registry        string
	res             Results
	keyFile, pubKey string
	trustedRoot     string
	signingConfig   string
	quick           bool
}

func main() {
	out := flag.String("out", "bench/RESULTS.md", "where to write the report (results.json goes beside it)")
	runs := flag.Int("runs", 5, "runs per figure")
	quick := flag.Bool("quick", false, "smaller inputs, for trying the harness (not for publishing)")
	only := flag.String("only", "", "run only these steps (comma-separated names, e.g. \"attestation rss\"); setup always runs")
	flag.Parse()
	root, _ := os.Getwd()
	work, err := os.MkdirTemp("", "signet-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	b := &bench{root: root, work: work, bin: filepath.Join(root, "bin"), runs: *runs, quick: *quick}
	b.res.Started = time.Now().UTC()
	b.res.Machine = machine(b.bin)
	defer stopAll()

	steps := []struct {
		name string
		f    func() error
	}{
		{"setup", b.setup},
		{"verify, whole process", b.verifyWhole},
		{"verify, in process", b.verifyInProcess},
		{"sign", b.sign},
		{"attest memory", b.attestMemory},
		{"attestation rss", b.attestationRSS},
		{"admission", b.admission},
		{"registry latency", b.latency},
		{"log", b.log},
	}
	for _, s := range steps {
		if *only != "" && s.name != "setup" && !slices.Contains(strings.Split(*only, ","), s.name) {
			continue
		}
		t0 := time.Now()
		log.Printf("bench: %s ...", s.name)
		if err := s.f(); err != nil {
			stopAll()
			log.Fatalf("bench: %s: %v", s.name, err)
		}
		log.Printf("bench: %s done in %s", s.name, time.Since(t0).Round(time.Second))
	}
	b.res.Duration = time.Since(b.res.Started).Round(time.Second).String()
	if err := b.write(*out); err != nil {
		log.Fatal(err)
	}
	log.Printf("bench: wrote %s in %s", *out, b.res.Duration)
}

// --- setup -------------------------------------------------------------------

func (b *bench) tool(name, version string) string {
	return filepath.Join(b.bin, name+"-"+version, name)
}

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
	cmd.Env = b.env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err := cmd.Run()
	took := time.Since(t0)
	if err != nil {
		return took, 0, fmt.Errorf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args[:min(len(args), 6)], " "), err, tail(out.String(), 2000))
	}
	rss := int64(0)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss * 1024
	}
	return took, rss, nil
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
	for _, t := range []string{b.tool("cosign", cosignVersion), b.tool("registry", registryVersion), filepath.Join(b.bin, "signet")} {
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
	if _, _, err := b.run(filepath.Join(b.bin, "signet"), "keys", "generate", "--output-prefix", filepath.Join(b.work, "release")); err != nil {
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
		img, err := random.Image(256, 1)
		if err != nil {
			return nil, err
		}
		ref, err := name.NewTag(fmt.Sprintf("%s/%s:%d", b.registry, repo, i))
		if err != nil {
			return nil, err
		}
		if err := remote.Write(ref, img); err != nil {
			return nil, err
		}
		d, _ := img.Digest()
		out = append(out, ref.Context().Digest(d.String()).String())
	}
	return out, nil
}

// --- figures -----------------------------------------------------------------

func (b *bench) add(section, name, unit string, runs []float64, note string) *Figure {
	s := slices.Clone(runs)
	slices.Sort(s)
	f := &Figure{Section: section, Name: name, Unit: unit, Runs: runs, Note: note}
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
	if _, _, err := b.run(filepath.Join(b.bin, "signet"), append([]string{"sign", "--no-tlog", "--key", b.keyFile}, images...)...); err != nil {
		return err
	}
	for _, n := range []int{1, 10, 100} {
		set := images[:n]
		var sig, cos []float64
		for range b.runs {
			t, _, err := b.run(filepath.Join(b.bin, "signet"), append([]string{"verify", "--key", b.pubKey}, set...)...)
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
	cmd.Dir = b.root
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
		m := r["BenchmarkDecide/cached="+c]
		label := map[string]string{"false": "cold (no cache)", "true": "cached"}[c]
		b.add(section, "policy engine, 200 distinct signed images, "+label, "verifications/s", m["verifications/s"], "")
		b.add(section, "registry round trips per verification, "+label, "requests", m["round-trips/verification"], "")
	}
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
	if err := start(filepath.Join(b.bin, "signet"), cmdEnv, "log", "serve", "--addr", logAddr, "--dir", filepath.Join(b.work, "log")); err != nil {
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
			t, _, err := b.run(filepath.Join(b.bin, "signet"), append(args, images...)...)
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
			t, rss, err := b.run(filepath.Join(b.bin, "signet"), "attest", "--no-tlog", "--key", b.keyFile, "--type", "cyclonedx", "--predicate", sbom, images[0])
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
	signet := filepath.Join(b.bin, "signet")
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
	cmd.Env = b.env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err := cmd.Run()
	took := time.Since(t0)
	if err != nil {
		return took, 0, fmt.Errorf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args[:min(len(args), 6)], " "), err, tail(out.String(), 2000))
	}
	m := maxRSS.FindStringSubmatch(out.String())
	if m == nil {
		return took, 0, fmt.Errorf("/usr/bin/time -v printed no maximum resident set size")
	}
	kb, _ := strconv.ParseInt(m[1], 10, 64)
	return took, kb << 10, nil
}

func (b *bench) admission() error {
	const section = "admission"
	r, err := b.goBench("./admission", "BenchmarkWebhook", "2000x")
	if err != nil {
		return err
	}
	for _, c := range []struct{ bench, label string }{
		{"BenchmarkWebhook", "8 clients back to back, warm cache"},
		{"BenchmarkWebhookCold", "8 clients back to back, no cache"},
		{"BenchmarkWebhookSteady", "steady 200 req/s, warm cache"},
		{"BenchmarkWebhookSteadyCold", "steady 200 req/s, no cache"},
	} {
		m := r[c.bench]
		b.add(section, c.label+": p50", "ms", m["p50-ms"], "")
		b.add(section, c.label+": p99", "ms", m["p99-ms"], "")
		b.add(section, c.label+": throughput", "req/s", m["req/s"], "")
	}
	return nil
}

func (b *bench) log() error {
	const section = "log"
	r, err := b.goBench("./tlog", "BenchmarkAppend$", "1000x")
	if err != nil {
		return err
	}
	b.add(section, "embedded log appends, 64 concurrent clients", "appends/s", r["BenchmarkAppend"]["appends/s"], "")
	if r, err = b.goBench("./tlog", "BenchmarkAppendLatency", "20x"); err != nil {
		return err
	}
	var ms []float64
	for _, ns := range r["BenchmarkAppendLatency"]["ns/op"] {
		ms = append(ms, ns/1e6)
	}
	b.add(section, "one client: append until its inclusion proof is returned", "ms", ms, "")
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
	fmt.Fprintf(&w, "# Signet benchmarks\n\nWritten by `make bench` (bench/main.go) on %s in %s. Every figure is the median of %d runs; the spread is the\nlowest and highest run. Everything ran on 127.0.0.1; see the notes at the end for what each figure measures.\n\n",
		b.res.Started.Format("2006-01-02 15:04 MST"), b.res.Duration, b.runs)
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

const notes = `
## What is measured

- **verify, whole process**: wall time of one ` + "`signet verify --key`" + ` or
  ` + "`cosign verify --key --insecure-ignore-tlog`" + ` process, divided by the images it
  was given, against the pinned distribution registry (no referrers API, so
  both read the fallback tag). The same images, signed once by signet in
  cosign v3's bundle format; both tools verify the same signatures.
- **verify, in process**: the policy engine (` + "`verify.Engine.DecideAll`" + `) over 200
  distinct signed images in go-containerregistry's in-memory registry;
  cold builds a new engine per pass, cached reuses the warm verdict cache.
- **sign**: one ` + "`signet sign`" + ` process signing 200 fresh digests; logged runs
  wait for each entry's inclusion proof from ` + "`signet log serve`" + `.
- **attest memory**: peak resident set (getrusage) of one attest process; the
  SBOM is generated (many small components).
- **attestations of any size**: peak resident set of one process, as
  ` + "`/usr/bin/time -v`" + ` reports it, one run each: attesting and verifying a
  100 MB CycloneDX SBOM attached (verify with ` + "`--max-artifact-size`" + ` raised)
  and a 1 GB one with ` + "`attest --detached`" + ` (verify with a condition on the
  summary, see docs/attestations.md); ` + "`signet version`" + ` is the baseline.
- **admission**: the webhook over HTTPS with kept-alive connections, one
  Deployment with one signed image per review; back-to-back runs report the
  capacity, steady runs the latency at 200 req/s.
- **log**: the embedded Tessera log in process.

Tests never assert these numbers; CI does not run ` + "`make bench`" + `.
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

func machine(bin string) map[string]string {
	m := map[string]string{
		"os/arch":    runtime.GOOS + "/" + runtime.GOARCH,
		"cores":      strconv.Itoa(runtime.NumCPU()),
		"go":         runtime.Version(),
		"cosign":     cosignVersion + " (e2e/tools.sh)",
		"registry":   "distribution " + registryVersion + " (e2e/tools.sh)",
		"signet":     gitDescribe(),
		"cpu":        cpuModel(),
		"memory":     memTotal(),
		"kernel":     kernel(),
		"go modules": "signet's go.mod (pinned)",
	}
	return m
}

func gitDescribe() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
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
