package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/registrytest"
)

func signet(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

// TestCLIExitCodes runs the commands a pipeline runs and checks each
// documented exit code with the reason printed.
func TestCLIExitCodes(t *testing.T) {
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("COSIGN_PASSWORD", "")
	t.Setenv("SIGNET_HOME", t.TempDir())
	t.Setenv("VAULT_ADDR", "")
	t.Setenv("BAO_ADDR", "")
	dir := t.TempDir()
	reg := registrytest.New(t, false)
	img := reg.PushImage(t, "team/app:v1")
	unsigned := reg.PushImage(t, "team/app:unsigned")
	release, other := filepath.Join(dir, "release"), filepath.Join(dir, "other")

	for _, p := range []string{release, other} {
		if _, stderr, code := signet(t, "keys", "generate", "--output-prefix", p); code != exitOK {
			t.Fatalf("keys generate: %d %s", code, stderr)
		}
	}
	if _, stderr, code := signet(t, "keys", "generate", "--output-prefix", release); code != exitError || !strings.Contains(stderr, "already exists") {
		t.Fatalf("keys generate over existing: %d %s", code, stderr)
	}
	pub, _, code := signet(t, "keys", "public", "--key", release+".key")
	want, _ := os.ReadFile(release + ".pub")
	if code != exitOK || pub != string(want) {
		t.Fatalf("keys public: %d %q", code, pub)
	}

	out, stderr, code := signet(t, "sign", "--key", release+".key", "-a", "env=prod", reg.Host+"/team/app:v1")
	if code != exitOK || !strings.Contains(out, "fallback-tag") || !strings.Contains(stderr, "names a tag") {
		t.Fatalf("sign: %d\n%s\n%s", code, out, stderr)
	}

	cases := []struct {
		name string
		args []string
		code int
		text string
	}{
		{"verified", []string{"verify", "--key", release + ".pub", "-a", "env=prod", img.String()}, exitOK, "verified"},
		{"no signatures", []string{"verify", "--key", release + ".pub", unsigned.String()}, exitNoSignatures, "no signatures found"},
		{"wrong key", []string{"verify", "--key", other + ".pub", img.String()}, exitInvalid, "does not verify with any trusted key"},
		{"annotation differs", []string{"verify", "--key", release + ".pub", "-a", "env=dev", img.String()}, exitInvalid, "required annotation"},
		{"image missing", []string{"verify", "--key", release + ".pub", reg.Host + "/team/nope:v1"}, exitRegistry, "not found"},
		{"no key", []string{"verify", img.String()}, exitUsage, "--key, or --certificate-identity"},
		{"bad flag", []string{"verify", "--nope", img.String()}, exitUsage, "unknown flag"},
		{"no image", []string{"verify", "--key", release + ".pub"}, exitUsage, "requires at least 1 arg"},
		{"bad annotation", []string{"sign", "--key", release + ".key", "-a", "novalue", img.String()}, exitUsage, "not key=value"},
		{"unknown key scheme", []string{"verify", "--key", "madeup://x", img.String()}, exitError, "unknown key reference scheme"},
		{"kms provider registered", []string{"verify", "--key", "hashivault://nokey", img.String()}, exitError, "loading KMS key hashivault://nokey"},
		{"worst of several", []string{"verify", "--key", release + ".pub", img.String(), unsigned.String()}, exitNoSignatures, "NOT verified"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := signet(t, tc.args...)
			if code != tc.code || !strings.Contains(out+stderr, tc.text) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s\n%s", code, tc.code, tc.text, out, stderr)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		out, _, code := signet(t, "verify", "--key", release+".pub", "-o", "json", img.String(), unsigned.String())
		var reps []verifyReport
		if err := json.Unmarshal([]byte(out), &reps); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if code != exitNoSignatures || len(reps) != 2 || !reps[0].Result.Verified || reps[1].ExitCode != exitNoSignatures {
			t.Fatalf("json reports %+v", reps)
		}
	})
}

func TestQuickstart(t *testing.T) {
	out, stderr, code := signet(t, "quickstart")
	if code != exitOK {
		t.Fatalf("quickstart exit %d: %s\n%s", code, out, stderr)
	}
	for _, want := range []string{"PASS", "logged at index 0", "inclusion proof and checkpoint verified offline",
		"Verified the SBOM attestation with the condition size(predicate.components) > 0 → PASS",
		"REFUSED: the signature is good, but the scan found a critical vulnerability",
		"REFUSED: no signatures found", "REFUSED: signature is for another image digest"} {
		if !strings.Contains(out, want) {
			t.Errorf("quickstart output lacks %q", want)
		}
	}
}
