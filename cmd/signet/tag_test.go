package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/tlog/logserver"
)

// TestTagRollbackWalkthrough is the rollback attack as a user sees it: a
// tag with a signed head, a newer head published, then an attacker with push
// access restores the old metadata and moves the tag back to the old
// (validly signed) digest. verify --policy refuses it as a rollback.
func TestTagRollbackWalkthrough(t *testing.T) {
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("SIGNET_HOME", t.TempDir())
	dir := t.TempDir()
	t.Chdir(dir)
	reg := registrytest.New(t, true)
	for _, k := range []string{"root", "online", "release"} {
		signet(t, "keys", "generate", "--output-prefix", filepath.Join(dir, k))
	}
	repo := reg.Host + "/team/app"
	v1 := reg.PushImage(t, "team/app:1.4")
	signet(t, "sign", "--no-tlog", "--key", "release.key", v1.String())
	out, stderr, code := signet(t, "tag", "init", repo, "--root-key", "root.key", "--key", "online.key")
	if code != exitOK {
		t.Fatalf("init: %s", stderr)
	}
	rootFile := strings.ReplaceAll(strings.ReplaceAll(repo, "/", "_"), ":", "_") + ".root.json"
	if _, err := os.Stat(rootFile); err != nil || !strings.Contains(out, rootFile) {
		t.Fatalf("init output %q, root file: %v", out, err)
	}
	if _, stderr, code := signet(t, "tag", "sign", repo+":1.4", "--key", "online.key", "--signature-key", "release.pub"); code != exitOK {
		t.Fatalf("sign 1.4 -> v1: %s", stderr)
	}
	metaTag, _ := name.NewTag(repo + ":signet-tuf")
	oldMeta, err := remote.Get(metaTag)
	if err != nil {
		t.Fatal(err)
	}
	// 1.4 is rebuilt with a fix and its head moves on.
	v2 := reg.PushImage(t, "team/app:1.4")
	signet(t, "sign", "--no-tlog", "--key", "release.key", v2.String())
	out, _, code = signet(t, "tag", "sign", repo+":1.4", "--key", "online.key", "--signature-key", "release.pub")
	if code != exitOK || !strings.Contains(out, v2.DigestStr()) {
		t.Fatalf("sign 1.4 -> v2: %s", out)
	}
	// An unsigned digest is not given a head.
	v3 := reg.PushImage(t, "team/app:1.5")
	if _, stderr, code := signet(t, "tag", "sign", repo+":1.5", "--key", "online.key", "--signature-key", "release.pub"); code == exitOK || !strings.Contains(stderr, "refusing to sign the head") {
		t.Fatalf("unsigned %s got a head: %s", v3, stderr)
	}
	os.WriteFile("policy.yaml", []byte(fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    signers: [{name: release, key: release.pub}]\n    tags:\n      signedHeads: {required: true, root: %s}\n", reg.Host+"/team/**", rootFile)), 0o644)
	out, stderr, code = signet(t, "verify", "--policy", "policy.yaml", repo+":1.4")
	if code != exitOK {
		t.Fatalf("verify at the new head: %d\n%s%s", code, out, stderr)
	}
	out, _, _ = signet(t, "inspect", repo+":1.4")
	if !strings.Contains(out, "signed head: 1.4 → "+v2.DigestStr()) {
		t.Fatalf("inspect does not show the signed head:\n%s", out)
	}
	out, _, _ = signet(t, "tag", "ls", repo, "--root", rootFile)
	if !strings.Contains(out, "1.4\t"+v2.DigestStr()) || !strings.Contains(out, "verified against") {
		t.Fatalf("tag ls: %s", out)
	}

	// Only the tag moved back (to the older, validly signed v1): verify
	// refuses it, and the mutating webhook pins the signed head instead.
	old, _ := remote.Get(v1)
	tag14, _ := name.NewTag(repo + ":1.4")
	if err := remote.Tag(tag14, old); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = signet(t, "verify", "--policy", "policy.yaml", repo+":1.4")
	if code == exitOK || !strings.Contains(out+stderr, "[tag-mismatch]") {
		t.Fatalf("moved tag not refused: %d\n%s%s", code, out, stderr)
	}
	if out, _, _ := signet(t, "inspect", repo+":1.4"); !strings.Contains(out, "but the registry's tag names another digest") {
		t.Fatalf("inspect does not flag the moved tag:\n%s", out)
	}
	os.WriteFile("pod.yaml", []byte(fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n    - {name: app, image: %q}\n", repo+":1.4")), 0o644)
	out, stderr, code = signet(t, "admission", "review", "--policy", "policy.yaml", "pod.yaml")
	if code != exitOK || !strings.Contains(out, "JSONPatch") {
		t.Fatalf("admission review of the moved tag: %d\n%s%s", code, out, stderr)
	}
	if !strings.Contains(decodePatch(t, out), repo+":1.4@"+v2.DigestStr()) {
		t.Fatalf("not pinned to the signed head %s: %s", v2.DigestStr(), decodePatch(t, out))
	}

	// The attack: old metadata back (the tag already points at v1).
	if err := remote.Tag(metaTag, oldMeta); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = signet(t, "verify", "--policy", "policy.yaml", repo+":1.4")
	if code != exitInvalid && code != exitPolicyDenied || !strings.Contains(out+stderr, "[rollback]") {
		t.Fatalf("rollback not refused: %d\n%s%s", code, out, stderr)
	}
	t.Logf("verify after the rollback (exit %d):\n%s%s", code, out, stderr)
}

// decodePatch returns the JSONPatch of a printed AdmissionResponse.
func decodePatch(t *testing.T, out string) string {
	t.Helper()
	var resp struct{ Patch []byte }
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatal(err)
	}
	return string(resp.Patch)
}

// TestTagHistoryLogged: every targets version is logged and kept, so the
// owner can list every head ever published.
func TestTagHistoryLogged(t *testing.T) {
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("SIGNET_HOME", t.TempDir())
	dir := t.TempDir()
	t.Chdir(dir)
	l, err := logserver.Open(context.Background(), t.TempDir(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	// Closed before its TempDir is removed: a running log keeps writing
	// its state there.
	t.Cleanup(func() { l.Close(context.Background()) })
	logSrv := httptest.NewServer(l.Handler())
	defer logSrv.Close()
	reg := registrytest.New(t, true)
	generateKey(t, "online")
	repo := reg.Host + "/team/app"
	logFlags := []string{"--tlog-url", logSrv.URL, "--tlog-api-version", "2"}
	if _, stderr, code := signet(t, append([]string{"tag", "init", repo, "--root-key", "online.key", "--key", "online.key"}, logFlags...)...); code != exitOK {
		t.Fatal(stderr)
	}
	var digests []string
	for range 2 {
		d := reg.PushImage(t, "team/app:1.4")
		digests = append(digests, d.DigestStr())
		if _, stderr, code := signet(t, append([]string{"tag", "sign", repo + ":1.4", "--key", "online.key", "--allow-unsigned"}, logFlags...)...); code != exitOK || !strings.Contains(stderr, "logged at index") {
			t.Fatalf("tag sign: %s", stderr)
		}
	}
	out, stderr, code := signet(t, "tag", "ls", repo, "--history")
	if code != exitOK {
		t.Fatal(stderr)
	}
	for _, want := range []string{"targets v1 (log index 0)", "targets v2 (log index 1)", "1.4\t" + digests[0], "targets v3 (log index 2)", "1.4\t" + digests[1]} {
		if !strings.Contains(out, want) {
			t.Errorf("history lacks %q:\n%s", want, out)
		}
	}
}
