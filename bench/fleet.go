package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
)

// fleetSeedFormat names how the fleet step's registry is seeded; change it
// whenever the seed changes, so a cached seed of the old kind is not reused.
// v1: repositories fleet/app-NNN of fleetPerRepo tags each, every tag a
// distinct random one-layer image (64 bytes), signed once with an ECDSA
// P-256 key as a Sigstore bundle (cosign v3's shape, no transparency log)
// attached through the referrers fallback tag. v2: the same, the bundle
// also embedded in its referrer manifest, as signet sign writes it.
const fleetSeedFormat = "v2"

// fleetPerRepo is how many images one repository of the seed holds.
const fleetPerRepo = 250

// fleetWorkers are the --max-workers values measured.
var fleetWorkers = []int{1, 2, 4, 8, 16, 32, 64}

// fleetSeedMeta is what a complete seed's directory records.
type fleetSeedMeta struct {
	Format string `json:"format"`
	Images int    `json:"images"`
	Repos  int    `json:"repos"`
}

// fleet measures `signet fleet check --no-cluster --repository ...` (the
// whole process, as a user runs it) over distinct signed images in a local
// distribution registry: verifications/s at each --max-workers, the CPU
// time one verification costs signet and the registry (which share this
// machine's cores, so the CPU figures hold when other work slows the wall
// clock), and peak RSS (/usr/bin/time -v) at the smaller and the full
// fleet, which shows whether memory grows with the fleet. The registry
// runs as configured by default; at --max-workers 16 the step also
// measures it with an in-memory blob descriptor cache (fleetCached) and
// with its garbage collector tuned (fleetGOGC). The seeded
// registry storage is kept in a cache keyed by the image count and seed
// format, so only the first run seeds. Each process is bounded to 10
// minutes, and no worker count is started past 45 minutes into the step.
func (b *bench) fleet() error {
	const section = "fleet check, whole process"
	n, small := 10_000, 1_000
	if b.quick {
		n, small = 1_000, 250
	}
	deadline := time.Now().Add(45 * time.Minute)
	reg, pub, regPID, err := b.fleetRegistry(n, fleetDefault)
	if err != nil {
		return err
	}
	pol, err := b.fleetPolicy(fleetDefault, reg, pub)
	if err != nil {
		return err
	}
	// repos names the repositories of the first images, at the registry
	// started last.
	repos := func(images int) []string {
		var out []string
		for i := range images / fleetPerRepo {
			out = append(out, fmt.Sprintf("%s/fleet/app-%03d", reg, i))
		}
		return out
	}
	runs := min(b.runs, 3)
	note := fmt.Sprintf("%d distinct key-signed images in %d repositories of the pinned distribution registry, %d runs", n, n/fleetPerRepo, runs)
	var sigCPU, regCPU []float64
	for _, w := range fleetWorkers {
		if time.Now().After(deadline) {
			// What was measured stays; the rest is left out, and said so.
			log.Printf("bench: fleet: past the step's 45 minutes; --max-workers %d and above not measured", w)
			break
		}
		var rates, rss []float64
		for range runs {
			reg0 := procCPU(regPID)
			r, err := b.fleetCheck(pol, repos(n), n, w)
			if err != nil {
				return err
			}
			rates, rss = append(rates, float64(n)/r.wall.Seconds()), append(rss, mib(r.rss))
			sigCPU = append(sigCPU, r.cpu.Seconds()*1000/float64(n))
			regCPU = append(regCPU, (procCPU(regPID)-reg0).Seconds()*1000/float64(n))
			log.Printf("bench: fleet: %d images, --max-workers %d: %.0f verifications/s, %.0f MiB, CPU per verification %.2f ms signet + %.2f ms registry",
				n, w, rates[len(rates)-1], rss[len(rss)-1], sigCPU[len(sigCPU)-1], regCPU[len(regCPU)-1])
		}
		b.add(section, fmt.Sprintf("fleet check, %d images, --max-workers %d", n, w), "verifications/s", rates, note)
		note = ""
		if w != 8 && w != 64 {
			continue
		}
		b.add(section, fmt.Sprintf("fleet check, %d images, --max-workers %d: peak RSS", n, w), "MiB", rss, "")
		var smallRSS []float64
		for range runs {
			r, err := b.fleetCheck(pol, repos(small), small, w)
			if err != nil {
				return err
			}
			smallRSS = append(smallRSS, mib(r.rss))
		}
		b.add(section, fmt.Sprintf("fleet check, %d images, --max-workers %d: peak RSS", small, w), "MiB", smallRSS, "")
	}
	b.add(section, "fleet check: signet's CPU (user + system) per verification, every run above", "ms", sigCPU, "")
	b.add(section, "fleet check: the registry's CPU per verification, every run above", "ms", regCPU, "on the same cores")
	var ceiling []float64
	for i := range sigCPU {
		ceiling = append(ceiling, float64(runtime.NumCPU())*1000/(sigCPU[i]+regCPU[i]))
	}
	b.add(section, "fleet check: what the CPU allows, cores ÷ (signet + registry CPU per verification), every run above", "verifications/s", ceiling,
		"an estimate for a quiet machine")
	// The registry's configuration, at one worker count: its CPU per
	// verification is mostly the blob read (distribution's filesystem
	// driver allocates a 4 MiB buffer for each) and the garbage collection
	// that allocation drives, which GOGC trades for memory; a blob
	// descriptor cache saves file system stats, not CPU.
	for _, c := range []fleetRegistryConfig{fleetCached, fleetGOGC} {
		if time.Now().After(deadline) {
			log.Printf("bench: fleet: past the step's 45 minutes; the registry %s not measured", c.label)
			break
		}
		stop(regPID)
		if reg, pub, regPID, err = b.fleetRegistry(n, c); err != nil {
			return err
		}
		if pol, err = b.fleetPolicy(c, reg, pub); err != nil {
			return err
		}
		if err := b.fleetConfigRuns(section, pol, repos(n), n, runs, regPID, c); err != nil {
			return err
		}
	}
	return nil
}

// fleetConfigRuns measures the fleet check at --max-workers 16 against the
// registry (started as c, whose process is regPID) runs times, and adds its
// rate and the CPU per verification of both processes. A registry with the
// blob descriptor cache is read once before, unmeasured, to fill it: a
// production registry's cache holds what it serves often.
func (b *bench) fleetConfigRuns(section, pol string, repos []string, n, runs, regPID int, c fleetRegistryConfig) error {
	const w = 16
	if c.cache {
		if _, err := b.fleetCheck(pol, repos, n, w); err != nil {
			return err
		}
	}
	var rates, sig, regc []float64
	for range runs {
		reg0 := procCPU(regPID)
		r, err := b.fleetCheck(pol, repos, n, w)
		if err != nil {
			return err
		}
		rates = append(rates, float64(n)/r.wall.Seconds())
		sig = append(sig, r.cpu.Seconds()*1000/float64(n))
		regc = append(regc, (procCPU(regPID)-reg0).Seconds()*1000/float64(n))
		log.Printf("bench: fleet: registry %s, --max-workers %d: %.0f verifications/s, CPU per verification %.2f ms signet + %.2f ms registry",
			c.label, w, rates[len(rates)-1], sig[len(sig)-1], regc[len(regc)-1])
	}
	b.add(section, fmt.Sprintf("fleet check, %d images, --max-workers %d, registry %s", n, w, c.label), "verifications/s", rates, c.note)
	b.add(section, fmt.Sprintf("fleet check, registry %s: signet's CPU per verification", c.label), "ms", sig, "")
	b.add(section, fmt.Sprintf("fleet check, registry %s: the registry's CPU per verification", c.label), "ms", regc, "")
	return nil
}

// fleetRegistryConfig is a configuration the fleet step runs its registry in.
type fleetRegistryConfig struct {
	name, label, note string
	cache             bool     // storage: cache: blobdescriptor: inmemory
	env               []string // added to the registry's environment
}

var (
	// fleetDefault is the step's registry: distribution's default
	// configuration (filesystem storage, no cache).
	fleetDefault = fleetRegistryConfig{name: "default", label: "as configured by default"}
	// fleetCached adds an in-memory blob descriptor cache, as production
	// registries often run, sized for the fleet.
	fleetCached = fleetRegistryConfig{name: "cached", label: "with an in-memory blob descriptor cache", cache: true,
		note: "storage: cache: blobdescriptor: inmemory, filled by a run before; it saves file system stats, and no registry CPU here"}
	// fleetGOGC is fleetDefault with the Go garbage collector tuned
	// (GOGC=400): the registry's live heap is small here, so by default it
	// collects after every few blob reads' 4 MiB buffers.
	fleetGOGC = fleetRegistryConfig{name: "gogc", label: "with GOGC=400", env: []string{"GOGC=400"},
		note: "the registry's collector tuned for its allocation: distribution's filesystem driver allocates a 4 MiB buffer for each blob read"}
)

// fleetPolicy writes the step's policy for the registry at reg (started
// as c): every image there signed by the seed's key.
func (b *bench) fleetPolicy(c fleetRegistryConfig, reg, pub string) (string, error) {
	pol := filepath.Join(b.work, "fleet-policy-"+c.name+".yaml")
	doc := fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\ndefaultAction: deny\nimages:\n"+
		"  - pattern: %q\n    signers: [{name: release, key: %s}]\n", reg+"/fleet/**", pub)
	return pol, os.WriteFile(pol, []byte(doc), 0o600)
}

// stop ends the process pid that start started (its process group), and
// forgets it.
func stop(pid int) {
	for i, c := range started {
		if c.Process.Pid != pid {
			continue
		}
		syscall.Kill(-pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-pid, syscall.SIGKILL)
			<-done
		}
		started = append(started[:i], started[i+1:]...)
		return
	}
}

// fleetRun is what one fleet check process took.
type fleetRun struct {
	wall, cpu time.Duration
	rss       int64
}

var (
	userTime = regexp.MustCompile(`User time \(seconds\): ([\d.]+)`)
	sysTime  = regexp.MustCompile(`System time \(seconds\): ([\d.]+)`)
)

// fleetCheck runs one fleet check under /usr/bin/time -v, at most 10
// minutes, and returns its wall time, CPU time and peak RSS. Every image
// must be allowed: a run that fails images fast measures nothing.
func (b *bench) fleetCheck(pol string, repos []string, want, workers int) (fleetRun, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	args := []string{"-v", filepath.Join(b.bin, "signet"), "fleet", "check", "--no-cluster", "--policy", pol,
		"--max-workers", strconv.Itoa(workers), "-o", "json"}
	for _, r := range repos {
		args = append(args, "--repository", r)
	}
	cmd := exec.CommandContext(ctx, "/usr/bin/time", args...)
	cmd.Env = b.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	err := cmd.Run()
	r := fleetRun{wall: time.Since(t0)}
	if err != nil {
		return r, fmt.Errorf("signet fleet check --max-workers %d over %d images: %v\n%s", workers, want, err, tail(stderr.String()+stdout.String(), 2000))
	}
	var rep struct {
		Summary struct{ Images, Allowed, Unknown int } `json:"summary"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return r, fmt.Errorf("reading fleet check's report: %w", err)
	}
	if s := rep.Summary; s.Images != want || s.Allowed != want {
		return r, fmt.Errorf("fleet check allowed %d of %d images (%d could not be checked), want all %d", s.Allowed, s.Images, s.Unknown, want)
	}
	m, u, sy := maxRSS.FindStringSubmatch(stderr.String()), userTime.FindStringSubmatch(stderr.String()), sysTime.FindStringSubmatch(stderr.String())
	if m == nil || u == nil || sy == nil {
		return r, errors.New("/usr/bin/time -v printed no maximum resident set size or CPU times")
	}
	kb, _ := strconv.ParseInt(m[1], 10, 64)
	us, _ := strconv.ParseFloat(u[1], 64)
	ss, _ := strconv.ParseFloat(sy[1], 64)
	r.rss, r.cpu = kb<<10, time.Duration((us+ss)*float64(time.Second))
	return r, nil
}

// procCPU is the CPU time (user + system) process pid has used so far, 0
// when it cannot be read. /proc/PID/stat counts clock ticks, 100 a second
// on Linux.
func procCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; the fields after it do not.
	_, after, _ := strings.Cut(string(raw), ") ")
	f := strings.Fields(after)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// fleetCacheDir is where the seeded registry of n images is kept between
// runs: $SIGNET_BENCH_CACHE, else the user cache directory's signet-bench.
func fleetCacheDir(n int) (string, error) {
	base := os.Getenv("SIGNET_BENCH_CACHE")
	if base == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		base = filepath.Join(c, "signet-bench")
	}
	return filepath.Join(base, fmt.Sprintf("fleet-%s-%d", fleetSeedFormat, n)), nil
}

// fleetRegistry starts a distribution registry (configured as c) on the
// cached storage of n signed images, seeding it first when no complete seed
// is cached, and returns its address, the signing key's public key file and
// its PID.
func (b *bench) fleetRegistry(n int, c fleetRegistryConfig) (addr, pub string, pid int, err error) {
	dir, err := fleetCacheDir(n)
	if err != nil {
		return "", "", 0, err
	}
	meta := filepath.Join(dir, "seed.json")
	var m fleetSeedMeta
	raw, err := os.ReadFile(meta)
	complete := err == nil && json.Unmarshal(raw, &m) == nil && m == fleetSeedMeta{Format: fleetSeedFormat, Images: n, Repos: n / fleetPerRepo}
	if !complete {
		// A half-made seed (an interrupted run) is thrown away whole.
		if err := os.RemoveAll(dir); err != nil {
			return "", "", 0, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", "", 0, err
		}
	}
	if addr, err = freeAddr(); err != nil {
		return "", "", 0, err
	}
	cfg := filepath.Join(b.work, "fleet-registry-"+c.name+".yml")
	cache := ""
	if c.cache {
		// Room for every descriptor the fleet check reads (4 an image).
		cache = fmt.Sprintf("  cache:\n    blobdescriptor: inmemory\n    blobdescriptorsize: %d\n", 8*n)
	}
	os.WriteFile(cfg, []byte(fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s/registry\n%shttp:\n  addr: %s\n", dir, cache, addr)), 0o600)
	if err := start(b.tool("registry", registryVersion), b.env(c.env...), "serve", cfg); err != nil {
		return "", "", 0, err
	}
	if err := waitHTTP("http://" + addr + "/v2/"); err != nil {
		return "", "", 0, err
	}
	pub, pid = filepath.Join(dir, "release.pub"), started[len(started)-1].Process.Pid
	if complete {
		log.Printf("bench: fleet: reusing the seed of %d images in %s", n, dir)
		return addr, pub, pid, nil
	}
	t0 := time.Now()
	if err := seedFleet(addr, n, pub); err != nil {
		return "", "", 0, fmt.Errorf("seeding %d images: %w", n, err)
	}
	log.Printf("bench: fleet: seeded %d signed images in %s (kept in %s)", n, time.Since(t0).Round(time.Second), dir)
	raw, _ = json.Marshal(fleetSeedMeta{Format: fleetSeedFormat, Images: n, Repos: n / fleetPerRepo})
	return addr, pub, pid, os.WriteFile(meta, raw, 0o600)
}

// seedFleet pushes n distinct random images to the registry at addr and
// signs each with a new key (in process, 16 at a time), whose public key it
// writes to pub.
func seedFleet(addr string, n int, pub string) error {
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		return err
	}
	pemBytes, err := keys.PublicKeyPEM(priv.Public())
	if err != nil {
		return err
	}
	if err := os.WriteFile(pub, pemBytes, 0o600); err != nil {
		return err
	}
	sv, err := keys.SignerVerifier(priv)
	if err != nil {
		return err
	}
	client := oci.New()
	signer, err := sign.New(sv, client)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	var next, done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				if err := seedOne(ctx, addr, i, signer); err != nil {
					errs <- err
					cancel()
					return
				}
				if d := done.Add(1); d%1000 == 0 {
					log.Printf("bench: fleet: seeded %d of %d", d, n)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// seedOne pushes image i (fleet/app-NNN:tNNNNN) and signs it by digest.
func seedOne(ctx context.Context, addr string, i int, signer *sign.Signer) error {
	img, err := random.Image(64, 1)
	if err != nil {
		return err
	}
	tag, err := name.NewTag(fmt.Sprintf("%s/fleet/app-%03d:t%05d", addr, i/fleetPerRepo, i))
	if err != nil {
		return err
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("pushing %s: %w", tag, err)
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	ref := tag.Context().Digest(d.String()).String()
	if _, err := signer.SignImage(ctx, ref, sign.Request{}); err != nil {
		return fmt.Errorf("signing %s: %w", ref, err)
	}
	return nil
}
