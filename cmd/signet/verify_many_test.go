package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/signet-dev/signet/internal/registrytest"
)

// TestVerifyManyInOrder: verify of several images checks them at once but
// reports them in the order given, each with its own outcome, and exits
// with the worst.
func TestVerifyManyInOrder(t *testing.T) {
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("SIGNET_HOME", t.TempDir())
	key := filepath.Join(t.TempDir(), "release")
	if _, stderr, code := signet(t, "keys", "generate", "--output-prefix", key); code != exitOK {
		t.Fatalf("keys generate: %d %s", code, stderr)
	}
	reg := registrytest.New(t, true)
	var images []string
	want := []int{}
	for i := range 12 {
		d := reg.PushImage(t, fmt.Sprintf("team/app%d:v1", i))
		images = append(images, d.String())
		if i%4 == 2 {
			want = append(want, exitNoSignatures)
			continue
		}
		want = append(want, exitOK)
		if _, stderr, code := signet(t, "sign", "--no-tlog", "--key", key+".key", d.String()); code != exitOK {
			t.Fatalf("sign: %d %s", code, stderr)
		}
	}
	out, stderr, code := signet(t, append([]string{"verify", "--key", key + ".pub", "-o", "json"}, images...)...)
	if code != exitNoSignatures {
		t.Fatalf("verify of 12 images, 3 unsigned: exit %d, want %d\n%s", code, exitNoSignatures, stderr)
	}
	var reports []struct {
		Image    string `json:"image"`
		ExitCode int    `json:"exitCode"`
	}
	if err := json.Unmarshal([]byte(out), &reports); err != nil {
		t.Fatalf("verify -o json printed %q: %v", out, err)
	}
	if len(reports) != len(images) {
		t.Fatalf("%d reports for %d images", len(reports), len(images))
	}
	for i, r := range reports {
		if r.Image != images[i] || r.ExitCode != want[i] {
			t.Errorf("report %d: %s exit %d, want %s exit %d", i, r.Image, r.ExitCode, images[i], want[i])
		}
	}
}
