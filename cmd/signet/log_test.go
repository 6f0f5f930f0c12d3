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

// TestLogCommands runs the embedded log as a user would: serve it, sign and
// verify through the trust files it writes, inspect it, check consistency.
func TestLogCommands(t *testing.T) {
	home := t.TempDir()
	t.Setenv("SIGNET_HOME", home)
	t.Setenv("SIGNET_PASSWORD", "pw")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan int)
	go func() {
		var out, errOut bytes.Buffer
		served <- run(ctx, []string{"log", "serve", "--addr", addr}, strings.NewReader(""), &out, &errOut)
	}()
	defer func() {
		cancel()
		if code := <-served; code != exitOK {
			t.Errorf("log serve exited %d", code)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(home, "trusted_root.json")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("log serve did not write its trust files")
		}
		time.Sleep(20 * time.Millisecond)
	}

	reg := registrytest.New(t, true)
	img := reg.PushImage(t, "team/app:v1")
	unlogged := reg.PushImage(t, "team/app:v2")
	key := filepath.Join(t.TempDir(), "k")
	generateKey(t, key)
	out, stderr, code := signet(t, "sign", "--key", key+".key", img.String())
	if code != exitOK || !strings.Contains(out, "logged at index 0") {
		t.Fatalf("sign through the home signing config: %d\n%s\n%s", code, out, stderr)
	}
	if _, stderr, code := signet(t, "sign", "--key", key+".key", "--no-tlog", unlogged.String()); code != exitOK || strings.Contains(stderr, "Warning") {
		t.Fatalf("--no-tlog: %d %s", code, stderr)
	}
	out, _, code = signet(t, "verify", "--key", key+".pub", "--tlog", "required", img.String())
	if code != exitOK || !strings.Contains(out, "proof verified offline") {
		t.Fatalf("verify --tlog required: %d\n%s", code, out)
	}
	out, _, code = signet(t, "verify", "--key", key+".pub", "--tlog", "required", unlogged.String())
	if code != exitInvalid || !strings.Contains(out, "transparency log check failed") {
		t.Fatalf("unlogged with --tlog required: %d\n%s", code, out)
	}
	if _, _, code = signet(t, "verify", "--key", key+".pub", unlogged.String()); code != exitOK {
		t.Fatalf("unlogged with --tlog optional: %d", code)
	}

	out, _, code = signet(t, "log", "info", "-o", "json")
	var info map[string]any
	if code != exitOK || json.Unmarshal([]byte(out), &info) != nil || info["size"].(float64) != 1 {
		t.Fatalf("log info: %d %s", code, out)
	}
	keyOut, _, code := signet(t, "log", "info", "--public-key")
	if code != exitOK || keyOut != info["publicKey"].(string) {
		t.Fatalf("log info --public-key: %d %q, want the PEM of log info -o json", code, keyOut)
	}
	pub := filepath.Join(t.TempDir(), "log.pub")
	os.WriteFile(pub, []byte(keyOut), 0o644)
	state := filepath.Join(t.TempDir(), "cp")
	// Another key (the signing key's): said so, with what to check.
	_, stderr, code = signet(t, "log", "verify", "--url", "http://"+addr, "--public-key", key+".pub", "--state", state)
	if code == exitOK || !strings.Contains(stderr, "it carries no signature by the key given") ||
		!strings.Contains(stderr, "signet log info --public-key prints it") || strings.Contains(stderr, "note has no verifiable") {
		t.Fatalf("log verify with another key: %d\n%s", code, stderr)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Fatalf("log verify with another key remembered a checkpoint: %v", err)
	}
	for i, want := range []string{"First checkpoint seen: size 1", "Consistent: the log still has 1 entry, with the same history"} {
		out, stderr, code := signet(t, "log", "verify", "--url", "http://"+addr, "--public-key", pub, "--state", state)
		if code != exitOK || !strings.Contains(out, want) {
			t.Fatalf("log verify #%d: %d\n%s\n%s", i, code, out, stderr)
		}
	}

	tr := filepath.Join(t.TempDir(), "tr.json")
	out, stderr, code = signet(t, "trust", "create", "--rekor", "url=http://"+addr+",public-key="+pub, "--out", tr)
	if code != exitOK {
		t.Fatalf("trust create: %d %s %s", code, out, stderr)
	}
	if out, _, code = signet(t, "verify", "--key", key+".pub", "--tlog", "required", "--trusted-root", tr, img.String()); code != exitOK {
		t.Fatalf("verify with a trust-create root: %d\n%s", code, out)
	}
	if _, stderr, code = signet(t, "trust", "create", "--rekor", "url=http://"+addr+",public-key="+pub+",origin=elsewhere", "--out", tr); code != exitError || !strings.Contains(stderr, "must equal the URL's host") {
		t.Fatalf("mismatched origin: %d %s", code, stderr)
	}
}
