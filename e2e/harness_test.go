//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Pinned tool versions; e2e/tools.sh builds them into bin/NAME-VERSION/.
const (
	cosignV3Version     = "v3.1.3"
	cosignV2Version     = "v2.6.5"
	distributionVersion = "v3.1.2"
	rekorTilesVersion   = "v2.3.0"
	fulcioVersion       = "v1.8.8"
	tsaVersion          = "v2.1.3"
	craneVersion        = "v0.22.1"
)

var (
	binDir   string // SIGNET_BIN: bin/ with signet and the tools
	stateDir string // temp dir holding every server's state; removed at exit
)

func TestMain(m *testing.M) {
	binDir = os.Getenv("SIGNET_BIN")
	if binDir == "" {
		fmt.Fprintln(os.Stderr, "e2e: SIGNET_BIN is not set; run `make e2e`")
		os.Exit(2)
	}
	var err error
	if stateDir, err = os.MkdirTemp("", "signet-e2e-"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	// One docker config for the suite: in-process pushes, signet and cosign all read it.
	dockerDir := filepath.Join(stateDir, "docker")
	if err := os.MkdirAll(dockerDir, 0o700); err == nil {
		err = os.WriteFile(filepath.Join(dockerDir, "config.json"), []byte(`{"auths":{}}`), 0o600)
	}
	os.Setenv("DOCKER_CONFIG", dockerDir)
	// Stop what we started even when interrupted.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		stopAll()
		os.RemoveAll(stateDir)
		fmt.Fprintf(os.Stderr, "e2e: %v: stopped servers, removed %s\n", s, stateDir)
		os.Exit(130)
	}()
	code := m.Run()
	stopAll()
	os.RemoveAll(stateDir)
	printMatrix()
	os.Exit(code)
}

// tool returns the path of a pinned tool binary.
func tool(name, version string) string {
	if version == "" {
		return filepath.Join(binDir, name)
	}
	bin := name
	switch name {
	case "rekor-tiles":
		bin = "posix" // rekor-tiles' POSIX server is built as cmd/rekor-server/posix
	case "timestamp-authority":
		bin = "timestamp-server"
	}
	return filepath.Join(binDir, name+"-"+version, bin)
}

// --- processes -------------------------------------------------------------

var procs struct {
	sync.Mutex
	list []*exec.Cmd
}

// startProcess starts a server in its own process group, logging to
// stateDir/NAME.log. The process dies with the test binary (Pdeathsig) and is
// stopped by PID in stopAll.
func startProcess(name, bin string, args ...string) (*exec.Cmd, error) {
	return startProcessEnv(name, nil, bin, args...)
}

// startProcessEnv is startProcess with env (nil: inherit the suite's).
func startProcessEnv(name string, env []string, bin string, args ...string) (*exec.Cmd, error) {
	logf, err := os.Create(filepath.Join(stateDir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	procs.Lock()
	procs.list = append(procs.list, cmd)
	procs.Unlock()
	return cmd, nil
}

func stopAll() {
	procs.Lock()
	defer procs.Unlock()
	for _, cmd := range procs.list {
		stop(cmd)
	}
	procs.list = nil
}

// stopProcess stops one server started by startProcess now (before the
// suite ends: say, before the database it writes to stops).
func stopProcess(cmd *exec.Cmd) {
	procs.Lock()
	defer procs.Unlock()
	for i, c := range procs.list {
		if c == cmd {
			procs.list = append(procs.list[:i], procs.list[i+1:]...)
			stop(cmd)
			return
		}
	}
}

// stop sends the process group SIGTERM, then SIGKILL after 5s, and waits.
func stop(cmd *exec.Cmd) {
	pid := cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-done
	}
}

// freeAddr returns a 127.0.0.1 address with a port that was free just now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitHTTP polls url until it answers with one of the codes or time runs out.
func waitHTTP(url string, codes ...int) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			for _, c := range codes {
				if resp.StatusCode == c {
					return nil
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not come up within 30s", url)
}

// --- running CLIs ----------------------------------------------------------

// result is what a CLI run printed and how it exited.
type result struct {
	out, err string
	code     int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
}

// toolEnv is the environment every CLI runs in: its own HOME (so no TUF or
// credential cache from the machine is used), the suite's docker config, and
// a proxy on a closed port so any attempt to reach a public service fails at
// once instead of hanging; loopback is never proxied.
func toolEnv(extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(stateDir, "home"),
		"TUF_ROOT=" + filepath.Join(stateDir, "home", ".sigstore"),
		"DOCKER_CONFIG=" + os.Getenv("DOCKER_CONFIG"),
		"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9",
		"NO_PROXY=127.0.0.1,localhost",
		"TMPDIR=" + os.TempDir(),
	}
	return append(env, extra...)
}

// runCLI runs bin with args under a 3-minute limit.
func runCLI(t *testing.T, env []string, bin string, args ...string) result {
	t.Helper()
	r, err := execCLI(env, bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// execCLI runs bin with args under a 3-minute limit; a non-zero exit is a
// result, not an error.
func execCLI(env []string, bin string, args ...string) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{out: out.String(), err: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		return r, fmt.Errorf("running %s: %w", bin, err)
	}
	if ctx.Err() != nil {
		return r, fmt.Errorf("%s %s: timed out (did it try to reach the network?)\n%s", filepath.Base(bin), strings.Join(args, " "), r)
	}
	return r, nil
}

func signet(t *testing.T, args ...string) result {
	t.Helper()
	return runCLI(t, toolEnv("SIGNET_PASSWORD="+password), tool("signet", ""), args...)
}

// --- the matrix ------------------------------------------------------------

var matrix struct {
	sync.Mutex
	cells map[string]map[string]bool // cell -> registry -> passed
	regs  []string
}

func record(cell, reg string, passed bool) {
	matrix.Lock()
	defer matrix.Unlock()
	if matrix.cells == nil {
		matrix.cells = map[string]map[string]bool{}
	}
	if matrix.cells[cell] == nil {
		matrix.cells[cell] = map[string]bool{}
	}
	matrix.cells[cell][reg] = passed
	for _, r := range matrix.regs {
		if r == reg {
			return
		}
	}
	matrix.regs = append(matrix.regs, reg)
}

func printMatrix() {
	matrix.Lock()
	defer matrix.Unlock()
	if len(matrix.cells) == 0 {
		return
	}
	names := make([]string, 0, len(matrix.cells))
	width := len("cell")
	for n := range matrix.cells {
		names = append(names, n)
		width = max(width, len(n))
	}
	sort.Strings(names)
	col := 4
	for _, r := range matrix.regs {
		col = max(col, len(r))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nInteroperability matrix\n\n| %-*s |", width, "cell")
	for _, r := range matrix.regs {
		fmt.Fprintf(&b, " %-*s |", col, r)
	}
	fmt.Fprintf(&b, "\n|%s|", strings.Repeat("-", width+2))
	for range matrix.regs {
		fmt.Fprintf(&b, "%s|", strings.Repeat("-", col+2))
	}
	passed, failed := 0, 0
	for _, n := range names {
		fmt.Fprintf(&b, "\n| %-*s |", width, n)
		for _, r := range matrix.regs {
			v, ok := matrix.cells[n][r]
			s := "·"
			switch {
			case ok && v:
				s, passed = "pass", passed+1
			case ok:
				s, failed = "FAIL", failed+1
			}
			fmt.Fprintf(&b, " %-*s |", col, s)
		}
	}
	fmt.Fprintf(&b, "\n\nmatrix: %d passed, %d failed\n", passed, failed)
	fmt.Print(b.String())
}
