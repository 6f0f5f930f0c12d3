package companion

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestServerRole(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"gate", "serve", "--db", "x"}, true},
		{[]string{"admission"}, true},
		{[]string{"fleet", "check", "--help"}, true},
		{[]string{"help", "gate", "status"}, true},
		{[]string{"__complete", "admission", "serve", "--failure-mode", ""}, true},
		{[]string{"__completeNoDesc", "fleet", ""}, true},
		{[]string{"verify", "gate"}, false}, // an image called gate
		{[]string{"help"}, false},
		{[]string{"__complete", "ga"}, false}, // signet completes the role's name itself
		{[]string{"--help"}, false},
		{[]string{"gateway"}, false},
		{nil, false},
		{[]string{"log", "serve", "--dir", "d"}, true},
		{[]string{"help", "log", "serve"}, true},
		{[]string{"__complete", "log", "serve", "--storage", ""}, true},
		{[]string{"quickstart", "--keep"}, true},
		{[]string{"log", "info"}, false},           // a client of a log: signet's own
		{[]string{"log"}, false},                   // lists serve, info and verify
		{[]string{"__complete", "log", ""}, false}, // signet completes serve itself
		{[]string{"verify", "log", "serve"}, false},
	} {
		if got := ServerRole(tc.args); got != tc.want {
			t.Errorf("ServerRole(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

// executable writes a program called name into dir that prints its
// arguments and the hand-over mark.
func executable(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	script := "#!/bin/sh\necho \"args: $*\"\necho \"mark: $" + handedOverEnv + "\"\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFindOnPath(t *testing.T) {
	dir := t.TempDir()
	want := executable(t, dir, "signet-test-companion")
	if err := os.WriteFile(filepath.Join(dir, "not-executable"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	if got, err := Find("signet-test-companion"); err != nil || got != want {
		t.Errorf("Find = %q, %v; want %q", got, err, want)
	}
	for _, name := range []string{"not-executable", "missing"} {
		if _, err := Find(name); !errors.Is(err, ErrNotFound) {
			t.Errorf("Find(%q) = %v, want ErrNotFound", name, err)
		}
	}
}

func TestPathFirst(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	sep := string(os.PathListSeparator)
	for in, want := range map[string]string{
		"":                      dir,
		"/usr/bin":              dir + sep + "/usr/bin",
		"/usr/bin" + sep + dir:  "/usr/bin" + sep + dir, // already on it: unchanged
		dir + sep + "/usr/bin/": dir + sep + "/usr/bin/",
	} {
		if got := PathFirst(in); got != want {
			t.Errorf("PathFirst(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHandOverRefusals(t *testing.T) {
	t.Run("not found", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		err := HandOver([]string{"gate", "serve"})
		if err == nil || !strings.Contains(err.Error(), "'signet gate' runs in signet-server, which is neither next to signet nor on PATH") {
			t.Errorf("HandOver = %v, want the not-found explanation", err)
		}
	})
	t.Run("handed over twice", func(t *testing.T) {
		dir := t.TempDir()
		executable(t, dir, ServerProgram)
		t.Setenv("PATH", dir)
		t.Setenv(handedOverEnv, "1")
		err := HandOver([]string{"help", "admission"})
		if err == nil || !strings.Contains(err.Error(), "signet-server was run for 'signet admission' but hands it over too") {
			t.Errorf("HandOver = %v, want the loop refused", err)
		}
		err = HandOver([]string{"log", "serve", "--dir", "d"})
		if err == nil || !strings.Contains(err.Error(), "signet-server was run for 'signet log serve' but hands it over too") {
			t.Errorf("HandOver = %v, want the loop refused, naming the command", err)
		}
	})
}

// TestHandOver runs this test binary again, where the child hands its
// arguments over to a signet-server on PATH: the process is replaced, so
// what signet-server prints is the child's output.
func TestHandOver(t *testing.T) {
	if os.Getenv("COMPANION_TEST_CHILD") == "1" {
		err := HandOver([]string{"gate", "serve", "--listen", "127.0.0.1:0"})
		t.Fatalf("HandOver returned: %v", err)
	}
	dir := t.TempDir()
	executable(t, dir, ServerProgram)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHandOver$")
	cmd.Env = append(os.Environ(), "COMPANION_TEST_CHILD=1", "PATH="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	want := "args: gate serve --listen 127.0.0.1:0\nmark: 1\n"
	if string(out) != want {
		t.Errorf("signet-server printed %q, want %q", out, want)
	}
}
