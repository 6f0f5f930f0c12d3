//go:build e2e

package e2e

import (
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSplitBuild checks make build's pair: bin/signet, a split build, hands
// the server roles and the commands that run a log (their help and
// completion too) to bin/signet-server beside it, and says what to do when
// signet-server is missing. The admission, gate, fleet, log and quickstart
// suites run through the same hand-over.
func TestSplitBuild(t *testing.T) {
	env := toolEnv()
	signetBin := tool("signet", "")
	expect(t, "signet --help", runCLI(t, env, signetBin, "--help"), exitOK,
		"admission", "gate", "fleet", "Registry push gate")
	expect(t, "signet gate --help", runCLI(t, env, signetBin, "gate", "--help"), exitOK,
		"signet gate [command]", "backfill", "serve", "status")
	expect(t, "signet help admission serve", runCLI(t, env, signetBin, "help", "admission", "serve"), exitOK,
		"--failure-mode")
	expect(t, "completion of gate's subcommands", runCLI(t, env, signetBin, "__complete", "gate", "st"), exitOK,
		"status\t")
	expect(t, "completion of a server role's flag value", runCLI(t, env, signetBin, "__complete", "admission", "serve", "--failure-mode", ""), exitOK,
		"closed\t", "receipt\t")
	expect(t, "a server role's usage error", runCLI(t, env, signetBin, "fleet", "check", "--no-such-flag"), exitUsage,
		"unknown flag: --no-such-flag")
	expect(t, "signet --help lists quickstart", runCLI(t, env, signetBin, "--help"), exitOK,
		"quickstart", "Run the whole sign-and-verify story offline")
	expect(t, "signet log --help", runCLI(t, env, signetBin, "log", "--help"), exitOK,
		"serve", "info", "verify", "Serve an embedded Rekor-v2-compatible transparency log")
	expect(t, "signet help log serve", runCLI(t, env, signetBin, "help", "log", "serve"), exitOK,
		"--storage", "SIGNET_LOG_STORAGE")
	expect(t, "completion of log serve's flags", runCLI(t, env, signetBin, "__complete", "log", "serve", "--sto"), exitOK,
		"--storage\t")
	expect(t, "log serve's usage error", runCLI(t, env, signetBin, "log", "serve", "--storage", "postgres://x"), exitUsage,
		"--storage must be mysql://")

	// signet alone: no signet-server next to it, none on PATH.
	dir := t.TempDir()
	b, err := os.ReadFile(signetBin)
	if err != nil {
		t.Fatal(err)
	}
	lone := filepath.Join(dir, "signet")
	if err := os.WriteFile(lone, b, 0o755); err != nil {
		t.Fatal(err)
	}
	alone := append(toolEnv(), "PATH="+dir)
	r := runCLI(t, alone, lone, "gate", "status")
	expect(t, "signet gate status without signet-server", r, exitError,
		"'signet gate' runs in signet-server, which is neither next to signet nor on PATH")
	if strings.Contains(r.out+r.err, "panic") {
		t.Fatalf("signet alone panicked:\n%s", r)
	}
	for _, cmd := range [][]string{{"log", "serve"}, {"quickstart"}} {
		name := "signet " + strings.Join(cmd, " ")
		expect(t, name+" without signet-server", runCLI(t, alone, lone, cmd...), exitError,
			"'"+name+"' runs in signet-server, which is neither next to signet nor on PATH")
	}
	// The rest of signet works alone, a log's clients included.
	expect(t, "signet version alone", runCLI(t, alone, lone, "version"), exitOK, "signet")
	expect(t, "signet log info alone", runCLI(t, alone, lone, "log", "info", "--dir", dir), exitError,
		"has `signet log serve` run with --dir")
}

// TestNoCollectionAtStartup checks that a short command makes no garbage
// collection on its way, package initialisation included
// (internal/gcpace/startfloor): Signet's packages allocate about 3 MB before
// main, and the collector's first goal is 4 MB. The control, GOGC=1 in the
// environment (which Signet leaves alone), shows the trace would see one.
func TestNoCollectionAtStartup(t *testing.T) {
	signetBin := tool("signet", "")
	collections := func(r result) []string {
		var gcs []string
		for _, l := range strings.Split(r.err, "\n") {
			if strings.HasPrefix(l, "gc ") {
				gcs = append(gcs, l)
			}
		}
		return gcs
	}
	for _, args := range [][]string{{"--help"}, {"version"}} {
		r := runCLI(t, append(toolEnv(), "GODEBUG=gctrace=1"), signetBin, args...)
		if r.code != exitOK {
			t.Fatalf("signet %s: %s", strings.Join(args, " "), r)
		}
		if gcs := collections(r); len(gcs) > 0 {
			t.Errorf("signet %s collected garbage %d times, want none:\n%s", strings.Join(args, " "), len(gcs), strings.Join(gcs, "\n"))
		}
	}
	r := runCLI(t, append(toolEnv(), "GODEBUG=gctrace=1", "GOGC=1"), signetBin, "version")
	if len(collections(r)) == 0 {
		t.Fatalf("with GOGC=1 the trace shows no collection; the check above cannot see one:\n%s", r)
	}
}

// TestStaticPrograms checks that make build's programs are static (built
// with CGO_ENABLED=0): a program linked against libc runs the dynamic
// loader before anything else, on every command.
func TestStaticPrograms(t *testing.T) {
	for _, name := range []string{"signet", "signet-server", "sigstore-kms-awskms"} {
		f, err := elf.Open(tool(name, ""))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s is dynamically linked (it names a program interpreter): build it with CGO_ENABLED=0, as make build does", name)
			}
		}
		f.Close()
	}
}
