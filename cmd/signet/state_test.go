package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/internal/registrytest"
)

// TestHiddenStateIsShown: `signet log serve` says which files it wrote,
// what they change and how to undo them; once the log stops, signing fails
// as a network error (exit 5) that says where the log's URL came from and
// the ways out; `signet config` shows the files and variables in effect
// (never a secret's value) and `signet config unset` removes the files.
func TestHiddenStateIsShown(t *testing.T) {
	home := t.TempDir()
	t.Setenv("SIGNET_HOME", home)
	const password = "s3cr3t-pw-value"
	t.Setenv("SIGNET_PASSWORD", password)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	logURL := "http://" + addr
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan int)
	var serveErr bytes.Buffer
	go func() {
		var out bytes.Buffer
		served <- run(ctx, []string{"log", "serve", "--addr", addr}, strings.NewReader(""), &out, &serveErr)
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-served
		}
	}
	defer stop()
	sc, tr := filepath.Join(home, "signing_config.json"), filepath.Join(home, "trusted_root.json")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(tr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("log serve did not write its trust files")
		}
	}

	out, stderr, code := signet(t, "config")
	for _, want := range []string{
		"SIGNET_HOME ", home,
		sc, "sign and attest log to " + logURL + " unless given --tlog-url, --signing-config or --no-tlog; written ",
		"by 'signet log serve' for its local log",
		tr, "verify trusts entries of 1 transparency log(s) " + logURL,
		"SIGNET_PASSWORD", "(set; value not shown)",
		"DOCKER_CONFIG",
	} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("signet config: exit %d, output lacks %q:\n%s%s", code, want, out, stderr)
		}
	}
	out, _, code = signet(t, "env", "-o", "json")
	var settings []setting
	if code != exitOK || json.Unmarshal([]byte(out), &settings) != nil {
		t.Fatalf("signet env -o json: exit %d\n%s", code, out)
	}
	from := map[string]string{}
	for _, st := range settings {
		from[st.Name] = st.Source
	}
	for name, want := range map[string]string{"SIGNET_HOME": "env", "signing_config.json": "file", "trusted_root.json": "file", "SIGNET_PASSWORD": "env", "SIGSTORE_ID_TOKEN": "unset", "tuf/": "absent", "log/": "file"} {
		if from[name] != want {
			t.Errorf("signet env -o json: %s from %q, want %q\n%s", name, from[name], want, out)
		}
	}
	if strings.Contains(out, password) {
		t.Errorf("signet env shows the password's value:\n%s", out)
	}

	reg := registrytest.New(t, true)
	img := reg.PushImage(t, "team/app:v1").String()
	key := filepath.Join(t.TempDir(), "k")
	generateKey(t, key)
	stop()
	for _, want := range []string{
		"Wrote " + sc + ": 'signet sign' and 'signet attest' now log to " + logURL + " by default, also after this log stops",
		"Wrote " + tr + ": 'signet verify' now trusts this log's entries",
		"To undo: signet config unset signing-config trusted-root (or delete the files)",
	} {
		if !strings.Contains(serveErr.String(), want) {
			t.Errorf("log serve output lacks %q:\n%s", want, serveErr.String())
		}
	}

	other := filepath.Join(t.TempDir(), "other_signing_config.json")
	b, _ := os.ReadFile(sc)
	os.WriteFile(other, b, 0o644)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"the home signing config", []string{"sign", "--key", key + ".key", img}, []string{
			"transparency log did not answer: " + logURL + ": ",
			"\n  The log's URL came from $SIGNET_HOME/signing_config.json (" + sc + "), written ",
			" by 'signet log serve' for its local log",
			"\n  Start the log again (signet log serve --addr " + addr + "), sign without a log (--no-tlog), name another (--tlog-url URL), or stop logging by default: signet config unset signing-config.",
		}},
		{"attest through the home signing config", []string{"attest", "--key", key + ".key", "--type", "vuln", "--predicate", "../../attest/testdata/grype.json", img}, []string{
			"transparency log did not answer: " + logURL, "came from $SIGNET_HOME/signing_config.json", "--no-tlog",
		}},
		{"--tlog-url", []string{"sign", "--key", key + ".key", "--tlog-url", logURL, img}, []string{
			"transparency log did not answer: " + logURL, "\n  The log's URL came from --tlog-url.\n  Check the URL, or sign without a log: --no-tlog.",
		}},
		{"--tlog-url with its API version", []string{"sign", "--key", key + ".key", "--tlog-url", logURL, "--tlog-api-version", "2", img}, []string{
			"transparency log did not answer: " + logURL, "The log's URL came from --tlog-url.",
		}},
		{"--signing-config", []string{"sign", "--key", key + ".key", "--signing-config", other, img}, []string{
			"transparency log did not answer: " + logURL, "The log's URL came from --signing-config " + other + ".", "--no-tlog",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := signet(t, tc.args...)
			if code != exitRegistry {
				t.Errorf("exit %d, want %d (a log that does not answer is a network error):\n%s", code, exitRegistry, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}

	out, _, code = signet(t, "config", "unset", "signing-config", "trusted-root")
	if code != exitOK || !strings.Contains(out, "Removed "+sc) || !strings.Contains(out, "Removed "+tr) {
		t.Fatalf("config unset: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(sc); err == nil {
		t.Fatal("config unset left the signing config")
	}
	if _, stderr, code := signet(t, "sign", "--key", key+".key", img); code != exitOK || !strings.Contains(stderr, "no transparency log configured") {
		t.Fatalf("sign after unset: exit %d\n%s", code, stderr)
	}
	if _, _, code := signet(t, "config", "unset", "log"); code != exitUsage {
		t.Fatalf("config unset log: exit %d, want %d (the log's state is not a setting)", code, exitUsage)
	}
}
