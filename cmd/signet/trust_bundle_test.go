package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/taghead"
	"github.com/signet-dev/signet/trustbundle"
	"github.com/signet-dev/signet/verify"
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

// create writes bundle version v (its recall list recalling digest, the
// release key, and what the extra create flags add) to dir.
func (f *bundleFixture) create(t *testing.T, v, digest, out string, extra ...string) {
	t.Helper()
	recalls := f.path("recalls.yaml")
	write(t, recalls, "apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: "+v+"\ndigests:\n  - digest: "+digest+"\n    reason: bad build "+v+"\n")
	mustRun(t, append([]string{"trust", "bundle", "create", "--version", v, "--key", f.path("release.pub"), "--recalls", recalls, "-o", out}, extra...)...)
}

// push creates bundle version v (as create) and pushes it to f.ref.
func (f *bundleFixture) push(t *testing.T, v, digest string, extra ...string) {
	t.Helper()
	dir := f.path("b" + v)
	f.create(t, v, digest, dir, extra...)
	mustRun(t, "trust", "bundle", "push", dir, f.ref, "--root-key", f.path("root.key"), "--key", f.path("online.key"), "--root-out", f.root)
}

// noTUF points $SIGNET_HOME's TUF mirror at a closed port: any refresh of
// Sigstore's root fails, so a command that should read none shows it.
func noTUF(t *testing.T) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(os.Getenv("SIGNET_HOME"), "tuf"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(os.Getenv("SIGNET_HOME"), "tuf", "config.json"), `{"mirror":"http://`+closedAddr(t)+`","root":"e30="}`)
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

// TestVerifyWithTrustBundle: verify takes its key and recall list from a
// bundle in another registry, with no TUF refresh, keeps the last good
// bundle when that registry is down, and refuses a rolled-back or frozen one.
func TestVerifyWithTrustBundle(t *testing.T) {
	f := newBundleFixture(t)
	noTUF(t) // any refresh of Sigstore's root fails
	var down atomic.Bool
	breg := registrytest.NewWrapped(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if down.Load() {
				http.Error(rw, "down", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(rw, r)
		})
	})
	f.ref = "oci://" + breg.Host + "/trust/bundle:prod"
	img := registrytest.New(t, true).PushImage(t, "team/app:v1")
	mustRun(t, "sign", "--no-tlog", "--key", f.path("release.key"), img.String())
	if _, stderr, code := signet(t, "verify", "--key", f.path("release.pub"), img.String()); code == exitOK || !strings.Contains(stderr, "TUF") {
		t.Fatalf("without the bundle, verify refreshes the TUF root (and fails here): exit %d %s", code, stderr)
	}
	push := func(version, recalled string, extra ...string) string {
		t.Helper()
		dir := f.path("b" + version)
		f.create(t, version, recalled, dir)
		out := mustRun(t, append([]string{"trust", "bundle", "push", dir, f.ref, "--root-key", f.path("root.key"), "--key", f.path("online.key"), "--root-out", f.root}, extra...)...)
		return out[strings.Index(out, "@sha256:")+1 : strings.Index(out, ", signed")]
	}
	verifyArgs := []string{"verify", "--trust-bundle", f.ref, "--trust-bundle-root", f.root, img.String()}
	other := "sha256:" + strings.Repeat("2", 64)
	v1 := push("1", other)
	if out, stderr, code := signet(t, verifyArgs...); code != exitOK {
		t.Fatalf("v1: exit %d\n%s%s", code, out, stderr)
	}

	down.Store(true)
	if out, stderr, code := signet(t, verifyArgs...); code != exitOK || !strings.Contains(stderr, "using the last good trust bundle (version 1") {
		t.Fatalf("bundle registry down: exit %d\n%s%s", code, out, stderr)
	}
	down.Store(false)

	push("2", img.DigestStr())
	if out, stderr, code := signet(t, verifyArgs...); code != exitRevoked || !strings.Contains(out+stderr, "recalled") {
		t.Fatalf("v2 recalls the image: exit %d\n%s%s", code, out, stderr)
	}
	pulled := f.path("pulled")
	mustRun(t, "trust", "bundle", "pull", f.ref, pulled, "--root", f.root)
	if out, stderr, code := signet(t, "verify", "--trust-bundle", pulled, "--trust-bundle-root", f.root, img.String()); code != exitRevoked {
		t.Fatalf("v2 from a directory: exit %d\n%s%s", code, out, stderr)
	}
	if out, stderr, code := signet(t, "verify", "--trust-bundle", pulled, "--trust-bundle-root", f.root, "--trust-bundle-ref", f.ref, img.String()); code != exitRevoked {
		t.Fatalf("v2 from a directory, its reference expected: exit %d\n%s%s", code, out, stderr)
	}
	staging := strings.TrimSuffix(f.ref, ":prod") + ":staging"
	if out, stderr, code := signet(t, "verify", "--trust-bundle", pulled, "--trust-bundle-root", f.root, "--trust-bundle-ref", staging, img.String()); code != exitInvalid || !strings.Contains(stderr, "trust bundle [wrong-repository]") {
		t.Fatalf("a directory of another reference: exit %d\n%s%s", code, out, stderr)
	}

	// Version 1 signed again after version 2: refused, and not answered with the last good bundle.
	resignBundle(t, f, v1, 1)
	if out, stderr, code := signet(t, verifyArgs...); code != exitInvalid || !strings.Contains(stderr, "trust bundle [rollback]") {
		t.Fatalf("rollback: exit %d\n%s%s", code, out, stderr)
	}
	// A timestamp that has expired: frozen.
	push("3", other, "--timestamp-expiry", "1ns")
	if out, stderr, code := signet(t, verifyArgs...); code != exitInvalid || !strings.Contains(stderr, "trust bundle [freeze]") {
		t.Fatalf("freeze: exit %d\n%s%s", code, out, stderr)
	}
	if _, stderr, code := signet(t, "verify", "--trust-bundle", f.ref, "--trust-bundle-root", f.root, "--key", f.path("release.pub"), img.String()); code != exitUsage || !strings.Contains(stderr, "do not also give --key") {
		t.Fatalf("--key with --trust-bundle: exit %d %s", code, stderr)
	}
}

// TestVerifyAttestationWithTrustBundle: verify-attestation takes its keys,
// trusted root and recall list from a bundle, with no TUF refresh; an
// attestation by a key the bundle does not list is refused, a recall in the
// bundle refuses the image, and a bundle with a policy is refused unless a
// keyless identity is given: its keys alone would trust each of them for
// every image, where its policy says which count for which.
func TestVerifyAttestationWithTrustBundle(t *testing.T) {
	f := newBundleFixture(t)
	noTUF(t)
	reg := registrytest.New(t, true)
	img := reg.PushImage(t, "team/app:v1").String()
	other := reg.PushImage(t, "team/other:v1").String()
	plainKeyPair(t, f.path("stranger"))
	sbom := "../../attest/testdata/sbom.cdx.json"
	mustRun(t, "attest", "--no-tlog", "--key", f.path("release.key"), "--type", "cyclonedx", "--predicate", sbom, img)
	mustRun(t, "attest", "--no-tlog", "--key", f.path("stranger.key"), "--type", "cyclonedx", "--predicate", sbom, other)
	va := func(image string, extra ...string) (string, string, int) {
		t.Helper()
		args := []string{"verify-attestation", "--trust-bundle", f.ref, "--trust-bundle-root", f.root, "--type", "cyclonedx"}
		return signet(t, append(append(args, extra...), image)...)
	}

	f.push(t, "1", "sha256:"+strings.Repeat("3", 64))
	if out, stderr, code := va(img); code != exitOK || !strings.Contains(out, "verified") {
		t.Fatalf("attested by the bundle's key: exit %d\n%s%s", code, out, stderr)
	}
	if out, stderr, code := va(other); code != exitInvalid {
		t.Fatalf("attested by a key the bundle does not list: exit %d, want %d\n%s%s", code, exitInvalid, out, stderr)
	}
	if _, stderr, code := va(img, "--key", f.path("stranger.pub")); code != exitUsage || !strings.Contains(stderr, "do not also give --key") {
		t.Fatalf("--key with --trust-bundle: exit %d %s", code, stderr)
	}
	if _, stderr, code := va(img, "--recalls", f.path("recalls.yaml")); code != exitUsage || !strings.Contains(stderr, "do not also give --trusted-root or --recalls") {
		t.Fatalf("--recalls with --trust-bundle: exit %d %s", code, stderr)
	}

	f.push(t, "2", strings.TrimPrefix(img[strings.Index(img, "@"):], "@"))
	if out, stderr, code := va(img); code != exitRevoked || !strings.Contains(out+stderr, "recalled") {
		t.Fatalf("the bundle recalls the image: exit %d, want %d\n%s%s", code, exitRevoked, out, stderr)
	}

	pol := f.path("policy.yaml")
	write(t, pol, fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: \"%s/team/app\"\n    signers: [{name: release, key: release.pub}]\n", reg.Host))
	f.push(t, "3", "sha256:"+strings.Repeat("3", 64), "--policy", pol)
	if _, stderr, code := va(img); code != exitUsage || !strings.Contains(stderr, "carries the policy policy.yaml: a policy says which of its keys count") || !strings.Contains(stderr, "signet verify --trust-bundle") {
		t.Fatalf("a bundle with a policy, no keyless identity: exit %d %s", code, stderr)
	}
}

// TestInspectWithTrustBundle: inspect judges by the bundle's policy, with
// its trusted root and recall list and no TUF refresh: a recall in a new
// bundle turns the verdict, and a policy the bundle lacks is refused.
func TestInspectWithTrustBundle(t *testing.T) {
	f := newBundleFixture(t)
	noTUF(t)
	reg := registrytest.New(t, true)
	img := reg.PushImage(t, "team/app:v1")
	mustRun(t, "sign", "--no-tlog", "--key", f.path("release.key"), img.String())
	pol := f.path("policy.yaml")
	write(t, pol, fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: \"%s/team/**\"\n    signers: [{name: release, key: release.pub}]\n", reg.Host))
	verdict := func(extra ...string) (string, string) {
		t.Helper()
		args := append([]string{"inspect", "--trust-bundle", f.ref, "--trust-bundle-root", f.root, "-o", "json"}, extra...)
		out, stderr, code := signet(t, append(args, img.String())...)
		if code != exitOK {
			t.Fatalf("inspect: exit %d\n%s%s", code, out, stderr)
		}
		var rep struct {
			Subject struct {
				Verdict struct{ Outcome, Check string }
			}
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return rep.Subject.Verdict.Outcome, rep.Subject.Verdict.Check
	}

	f.push(t, "1", "sha256:"+strings.Repeat("3", 64), "--policy", pol)
	if got, why := verdict(); got != "allowed" {
		t.Fatalf("v1: %s (%s), want allowed under the bundle's policy", got, why)
	}
	if got, why := verdict("--policy", "policy.yaml"); got != "allowed" {
		t.Fatalf("v1, its policy named: %s (%s)", got, why)
	}
	f.push(t, "2", img.DigestStr(), "--policy", pol)
	if got, why := verdict(); got != "denied" || !strings.Contains(why, "recalled") {
		t.Fatalf("v2 recalls the image: %s (%s), want denied as recalled", got, why)
	}
	if _, stderr, code := signet(t, "inspect", "--trust-bundle", f.ref, "--trust-bundle-root", f.root, "--policy", "other.yaml", img.String()); code != exitUsage || !strings.Contains(stderr, "has no policy other.yaml") {
		t.Fatalf("a policy the bundle lacks: exit %d %s", code, stderr)
	}
	if _, stderr, code := signet(t, "inspect", "--trust-bundle", f.ref, "--trust-bundle-root", f.root, "--recalls", f.path("recalls.yaml"), img.String()); code != exitUsage || !strings.Contains(stderr, "do not also give --trusted-root or --recalls") {
		t.Fatalf("--recalls with --trust-bundle: exit %d %s", code, stderr)
	}
}

// resignBundle signs the pushed bundle digest as version again, with the root key.
func resignBundle(t *testing.T, f *bundleFixture, digest string, version int) {
	t.Helper()
	ctx := context.Background()
	priv, err := keys.ParsePrivateKey(must(os.ReadFile(f.path("root.key"))), nil)
	if err != nil {
		t.Fatal(err)
	}
	root := must(keys.SignerVerifier(priv))
	priv, err = keys.ParsePrivateKey(must(os.ReadFile(f.path("online.key"))), nil)
	if err != nil {
		t.Fatal(err)
	}
	online := must(keys.SignerVerifier(priv))
	client := oci.New()
	tag := must(name.NewTag(strings.TrimPrefix(f.ref, "oci://")))
	md := must(taghead.Read(ctx, client, tag.Context()))
	raw, _ := must2(client.Manifest(ctx, tag.Context().Digest(digest).String()))
	custom := fmt.Sprintf(`{"repository":%q,"tag":"prod","version":%d}`, tag.Context().Name(), version)
	tk := taghead.Keys{Root: []signature.Signer{root}, Targets: root, Snapshot: online, Timestamp: online}
	if err := md.SetTarget(tk, taghead.DefaultExpiry, time.Now(), trustbundle.TargetPath("prod"), digest, int64(len(raw)), []byte(custom)); err != nil {
		t.Fatal(err)
	}
	if err := taghead.Publish(ctx, client, tag.Context(), md); err != nil {
		t.Fatal(err)
	}
}

func must2[T, U any](v T, u U, err error) (T, U) {
	if err != nil {
		panic(err)
	}
	return v, u
}

// TestAdmissionTrustBundle: the webhook decides under the bundle's policy
// and recall list; a new bundle is a new decider with an empty verdict
// cache (a recall takes effect at once, no cached "allowed" survives it);
// a rolled-back bundle is refused and the running one kept.
func TestAdmissionTrustBundle(t *testing.T) {
	f := newBundleFixture(t)
	reg := registrytest.New(t, true)
	img := reg.PushImage(t, "team/app:v1")
	mustRun(t, "sign", "--no-tlog", "--key", f.path("release.key"), img.String())
	pol := f.path("policy.yaml")
	write(t, pol, fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: \"%s/team/**\"\n    signers: [{name: release, key: release.pub}]\n", reg.Host))
	push := func(version, recalled string) string {
		t.Helper()
		dir := f.path("b" + version)
		write(t, f.path("recalls.yaml"), "apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: "+version+"\ndigests:\n  - {digest: "+recalled+", reason: bad build "+version+"}\n")
		mustRun(t, "trust", "bundle", "create", "--version", version, "--key", f.path("release.pub"), "--policy", pol, "--recalls", f.path("recalls.yaml"), "-o", dir)
		out := mustRun(t, "trust", "bundle", "push", dir, f.ref, "--root-key", f.path("root.key"), "--key", f.path("online.key"), "--root-out", f.root)
		return out[strings.Index(out, "@sha256:")+1 : strings.Index(out, ", signed")]
	}
	v1 := push("1", "sha256:"+strings.Repeat("3", 64))
	o := &admissionOptions{bundle: bundleTrust{ref: f.ref, root: f.root}, cacheTTL: time.Hour, negTTL: time.Hour, failMode: "closed", budget: 10 * time.Second, trust: trustOptions{mode: "optional"}}
	s := &streams{out: &strings.Builder{}, err: &strings.Builder{}}
	ctx := context.Background()
	w, load, err := o.webhook(ctx, s, slog.New(slog.DiscardHandler), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	decide := func(d admission.Decider) *verify.Decision { return d.DecideAll(ctx, []string{img.String()})[0] }
	d1 := w.Decider()
	if got := decide(d1); !got.Allowed {
		t.Fatalf("v1: %+v", got)
	}
	if got := decide(d1); !got.Allowed || !got.Cached {
		t.Fatalf("v1 again, from the cache: %+v", got)
	}
	if same, err := load(); err != nil || same != d1 {
		t.Fatalf("an unchanged bundle keeps its decider and cache: %v", err)
	}

	push("2", img.DigestStr())
	d2, err := load()
	if err != nil || d2 == d1 {
		t.Fatalf("v2: a new decider, got the old one or %v", err)
	}
	if got := decide(d2); got.Allowed || got.Cached || got.Class != verify.ClassRevoked {
		t.Fatalf("v2 recalls the image: %+v", got)
	}

	resignBundle(t, f, v1, 1)
	if _, err := load(); trustbundle.ClassOf(err) != trustbundle.ClassRollback {
		t.Fatalf("rollback: got %v", err)
	}
}

// TestGateTrustBundle: the gate's decider follows the bundle: a recall in a
// new bundle decides the next push; with no refresh past the bundle's
// expiry, every decision is transient (the gate retries, accepts nothing).
func TestGateTrustBundle(t *testing.T) {
	f := newBundleFixture(t)
	reg := registrytest.New(t, true)
	img := reg.PushImage(t, "team/app:v1")
	mustRun(t, "sign", "--no-tlog", "--key", f.path("release.key"), img.String())
	pol := f.path("gate-policy.yaml")
	write(t, pol, fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: \"%s/team/**\"\n    signers: [{name: release, key: release.pub}]\n", reg.Host))
	push := func(version, recalled string, extra ...string) {
		t.Helper()
		dir := f.path("g" + version)
		write(t, f.path("recalls.yaml"), "apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: "+version+"\ndigests:\n  - {digest: "+recalled+", reason: bad build "+version+"}\n")
		mustRun(t, "trust", "bundle", "create", "--version", version, "--key", f.path("release.pub"), "--policy", pol, "--recalls", f.path("recalls.yaml"), "-o", dir)
		mustRun(t, append([]string{"trust", "bundle", "push", dir, f.ref, "--root-key", f.path("root.key"), "--key", f.path("online.key"), "--root-out", f.root}, extra...)...)
	}
	push("1", "sha256:"+strings.Repeat("4", 64))
	ctx := context.Background()
	s := &streams{out: &strings.Builder{}, err: &strings.Builder{}}
	b, err := gateBundle(ctx, s, oci.New(), slog.New(slog.DiscardHandler), &trustOptions{mode: "optional"}, &bundleTrust{ref: f.ref, root: f.root}, "")
	if err != nil {
		t.Fatal(err)
	}
	if d := b.swap.Decide(ctx, img.String()); !d.Allowed {
		t.Fatalf("v1: %+v", d)
	}
	push("2", img.DigestStr())
	d, err := b.load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.swap.SetDecider(d)
	if d := b.swap.Decide(ctx, img.String()); d.Allowed || d.Class != verify.ClassRevoked {
		t.Fatalf("v2 recalls the image: %+v", d)
	}
	// Version 3, whose timestamp has expired: refused as frozen; the
	// running v2 decides on until its own expiry, then nothing passes.
	push("3", "sha256:"+strings.Repeat("4", 64), "--timestamp-expiry", "1ns")
	if _, err := b.load(ctx); trustbundle.ClassOf(err) != trustbundle.ClassFreeze {
		t.Fatalf("frozen bundle: got %v", err)
	}
	b.cur.WithClock(func() time.Time { return time.Now().Add(2 * taghead.DefaultExpiry.Timestamp) })
	if d := b.swap.Decide(ctx, img.String()); d.Allowed || d.Class != verify.ClassTransient || !strings.Contains(d.Reason, "expired") {
		t.Fatalf("after the running bundle's expiry: %+v", d)
	}
}

// TestBundleTrustedRootInPolicyDigest: a decision's policy digest names the
// bundle's trusted root, so a gate receipt (signed with that digest) made
// under one trusted root does not count under a bundle with another — a
// CA dropped from the bundle voids the receipts made while it was trusted
// — while a bundle changing only its recall list keeps the digest.
func TestBundleTrustedRootInPolicyDigest(t *testing.T) {
	f := newBundleFixture(t)
	pol := f.path("policy.yaml")
	write(t, pol, "apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: \"example.com/team/**\"\n    signers: [{name: release, key: release.pub}]\n")
	push := func(version, trustedRoot string) string {
		t.Helper()
		dir := f.path("b" + version)
		write(t, f.path("recalls.yaml"), "apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: "+version+"\n")
		write(t, f.path("trusted_root.json"), trustedRoot)
		mustRun(t, "trust", "bundle", "create", "--version", version, "--key", f.path("release.pub"), "--policy", pol,
			"--recalls", f.path("recalls.yaml"), "--trusted-root", f.path("trusted_root.json"), "-o", dir)
		mustRun(t, "trust", "bundle", "push", dir, f.ref, "--root-key", f.path("root.key"), "--key", f.path("online.key"), "--root-out", f.root)
		o := &admissionOptions{bundle: bundleTrust{ref: f.ref, root: f.root}, cacheTTL: time.Hour, negTTL: time.Hour, failMode: "closed", budget: 10 * time.Second, trust: trustOptions{mode: "optional"}}
		w, _, err := o.webhook(context.Background(), &streams{out: &strings.Builder{}, err: &strings.Builder{}}, slog.New(slog.DiscardHandler), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return w.Decider().(*admission.Expiring).PolicyHash()
	}
	const rootA = `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`
	const rootB = `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[]}`
	h1 := push("1", rootA)
	h2 := push("2", rootA)
	h3 := push("3", rootB)
	if h1 == "" || h1 != h2 {
		t.Fatalf("a new recall list alone changed the policy digest: %q, %q", h1, h2)
	}
	if h3 == h2 {
		t.Fatalf("another trusted root, the same policy digest %s: receipts made under the old root would count", h3)
	}
}
