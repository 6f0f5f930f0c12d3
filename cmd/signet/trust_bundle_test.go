package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/registrytest"
)

// bundleFixture: keys, a recall list and a registry for trust bundle commands.
type bundleFixture struct {
	dir, host, ref, root string
}

func newBundleFixture(t *testing.T) *bundleFixture {
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("SIGNET_HOME", t.TempDir())
	dir := t.TempDir()
	reg := registrytest.New(t, true)
	f := &bundleFixture{dir: dir, host: reg.Host, ref: "oci://" + reg.Host + "/trust/bundle:prod", root: filepath.Join(dir, "bundle.root.json")}
	for _, k := range []string{"root", "online", "release"} {
		plainKeyPair(t, filepath.Join(dir, k))
	}
	return f
}

func (f *bundleFixture) path(n string) string { return filepath.Join(f.dir, n) }

// create writes bundle version v (its recall list recalling digest) to dir.
func (f *bundleFixture) create(t *testing.T, v, digest, out string) {
	t.Helper()
	recalls := f.path("recalls.yaml")
	write(t, recalls, "apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: "+v+"\ndigests:\n  - digest: "+digest+"\n    reason: bad build "+v+"\n")
	mustRun(t, "trust", "bundle", "create", "--version", v, "--key", f.path("release.pub"), "--recalls", recalls, "-o", out)
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, code := signet(t, args...)
	if code != exitOK {
		t.Fatalf("signet %s: exit %d\n%s%s", strings.Join(args, " "), code, out, stderr)
	}
	return out
}

func TestTrustBundleRoundTrip(t *testing.T) {
	f := newBundleFixture(t)
	d := "sha256:" + strings.Repeat("1", 64)
	f.create(t, "1", d, f.path("b1"))
	out := mustRun(t, "trust", "bundle", "push", f.path("b1"), f.ref, "--root-key", f.path("root.key"), "--key", f.path("online.key"), "--root-out", f.root)
	if !strings.Contains(out, "Pushed trust bundle version 1") || !strings.Contains(out, f.root) {
		t.Fatalf("push: %s", out)
	}
	out = mustRun(t, "trust", "bundle", "verify", f.ref, "--root", f.root)
	if !strings.Contains(out, "version 1") {
		t.Fatalf("verify: %s", out)
	}
	out = mustRun(t, "trust", "bundle", "ls", f.ref)
	if !strings.Contains(out, "recalls.yaml") || !strings.Contains(out, "release.pub") || !strings.Contains(out, "not verified") {
		t.Fatalf("ls: %s", out)
	}

	f.create(t, "2", d, f.path("b2"))
	mustRun(t, "trust", "bundle", "push", f.path("b2"), f.ref, "--root-key", f.path("root.key"), "--key", f.path("online.key"))
	pulled := f.path("pulled")
	mustRun(t, "trust", "bundle", "pull", f.ref, pulled, "--root", f.root)
	out = mustRun(t, "trust", "bundle", "verify", pulled, "--root", f.root, "-o", "json")
	var got struct {
		Version  int64 `json:"version"`
		Verified bool  `json:"verified"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Version != 2 || !got.Verified {
		t.Fatalf("verify -o json: %s %v", out, err)
	}

	t.Run("not newer", func(t *testing.T) {
		out, stderr, code := signet(t, "trust", "bundle", "push", f.path("b1"), f.ref, "--root-key", f.path("root.key"), "--key", f.path("online.key"))
		if code != exitError || !strings.Contains(stderr, "signed at version 2") {
			t.Fatalf("exit %d\n%s%s", code, out, stderr)
		}
	})
	t.Run("another root key", func(t *testing.T) {
		f.create(t, "3", d, f.path("b3"))
		out, stderr, code := signet(t, "trust", "bundle", "push", f.path("b3"), f.ref, "--root-key", f.path("release.key"), "--key", f.path("online.key"))
		if code != exitError || !strings.Contains(stderr, "does not trust this key") {
			t.Fatalf("exit %d\n%s%s", code, out, stderr)
		}
	})
	t.Run("altered directory", func(t *testing.T) {
		write(t, filepath.Join(pulled, "release.pub"), string(must(os.ReadFile(f.path("root.pub")))))
		out, stderr, code := signet(t, "trust", "bundle", "verify", pulled, "--root", f.root)
		if code != exitInvalid || !strings.Contains(stderr, "trust bundle [altered]") {
			t.Fatalf("exit %d\n%s%s", code, out, stderr)
		}
	})
	t.Run("another root", func(t *testing.T) {
		// A root.json that is not this repository's: the bundle is refused.
		other := newBundleFixture(t)
		other.create(t, "1", d, other.path("b1"))
		mustRun(t, "trust", "bundle", "push", other.path("b1"), "oci://"+other.host+"/trust/bundle:prod", "--root-key", other.path("root.key"), "--root-out", other.root)
		out, stderr, code := signet(t, "trust", "bundle", "verify", f.ref, "--root", other.root)
		if code != exitInvalid || !strings.Contains(stderr, "[untrusted-root]") {
			t.Fatalf("exit %d\n%s%s", code, out, stderr)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
