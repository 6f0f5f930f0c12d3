//go:build e2e

package e2e

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/signet-dev/signet/trust"
)

// exitRevoked: a recall list refuses the image (cmd/signet/exitcode.go).
const exitRevoked = 7

// TestAirGap runs Signet where nothing but loopback exists: a private
// network namespace (unshare --net) holding a distribution registry, the
// images, their signatures and a signed trust bundle. With every proxy
// variable aimed at a trap that fails the test when anything connects to
// it, and no cached TUF root, it checks that verify and the admission
// webhook decide from the bundle alone; that a recall pushed in a new
// bundle is enforced by the running webhook after a refresh and by verify;
// and that a bundle pulled to a directory verifies an OCI layout. Each
// signet process runs under strace (when installed) and any connect to
// an address outside loopback fails the test. One `airgap: STEP VERDICT`
// line per step.
func TestAirGap(t *testing.T) {
	if !inPrivateNetwork(t, "TestAirGap") {
		return
	}
	ag := newAirGap(t)
	step := func(name, verdict string) { t.Logf("airgap: %s %s", name, verdict) }
	ag.assertSealed(t)
	step("namespace", "loopback-only (a dial to 192.0.2.1 fails: network is unreachable)")

	reg, err := startDistributionConfig("airgap-registry", false, "")
	if err != nil {
		t.Fatal(err)
	}
	logTail(t, "airgap-registry", "airgap-webhook")
	ag.noProxy = reg.host
	step("registry", "distribution "+distributionVersion+" on "+reg.host)

	for _, k := range []string{"release", "root", "online"} {
		expect(t, "signet keys generate "+k, ag.signet(t, "keys", "generate", "--output-prefix", ag.path(k)), exitOK)
	}
	app := pushImage(t, reg.host, "team/app:v1")
	other := pushImage(t, reg.host, "team/app:v2")
	for _, d := range []string{app.String(), other.String()} {
		expect(t, "signet sign "+d, ag.signet(t, "sign", "--no-tlog", "--key", ag.path("release.key"), d), exitOK)
	}
	step("sign", "2 images signed with a key, no transparency log")

	// Control: `trust init` fetches Sigstore's public TUF root; the proxy
	// trap must see that attempt, or it could not see any.
	control := runCLI(t, ag.env(t.TempDir()), tool("signet", ""), "trust", "init")
	if control.code == exitOK || ag.trap.count.Load() == 0 {
		t.Fatalf("control: signet trust init should try to reach Sigstore's TUF repository through the proxy trap: trap got %d connections\n%s", ag.trap.count.Load(), control)
	}
	step("control", fmt.Sprintf("trust init (public TUF root) tried to leave: the trap saw %q; exit %d", ag.trap.first(), control.code))
	if ag.strace != "" {
		// Control: a mirror at a documentation address, exempt from the
		// proxy: strace must see the connect the namespace refuses.
		trace := ag.path("strace-control.txt")
		env := append(ag.env(t.TempDir()), "NO_PROXY=192.0.2.1", "no_proxy=192.0.2.1")
		writeTestFile(t, ag.path("tuf-root.json"), string(trust.DefaultRoot()))
		r := runCLI(t, env, ag.strace, "-f", "-qq", "-e", "trace=connect", "-o", trace, tool("signet", ""),
			"trust", "init", "--mirror", "http://192.0.2.1/", "--root", ag.path("tuf-root.json"))
		if _, outbound := scanTrace(t, trace); r.code == exitOK || len(outbound) == 0 {
			t.Fatalf("control: strace saw no connect to 192.0.2.1 from signet trust init --mirror http://192.0.2.1/\n%s", r)
		} else {
			step("control strace", fmt.Sprintf("a connect outside loopback is seen: %s", outbound[0]))
		}
	}
	ag.trap.reset()

	// The bundle: a trusted root naming no service at all, the release
	// key, a policy requiring it for the registry's team/ images, and a
	// recall list (empty in version 1).
	trustedRoot := ag.path("trusted_root.json")
	writeTestFile(t, trustedRoot, `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`)
	writeTestFile(t, ag.path("policy.yaml"), fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: \"%s/team/**\"\n    signers: [{name: release, key: release.pub}]\n", reg.host))
	bundleRef := "oci://" + reg.host + "/trust/bundle:prod"
	root := ag.path("bundle.root.json")
	push := func(version string, recalled ...string) {
		t.Helper()
		recalls := "apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: " + version + "\n"
		if len(recalled) > 0 {
			recalls += "digests:\n"
			for _, d := range recalled {
				recalls += "  - {digest: " + d + ", reason: airgap recall " + version + "}\n"
			}
		}
		writeTestFile(t, ag.path("recalls.yaml"), recalls)
		dir := ag.path("bundle-v" + version)
		expect(t, "signet trust bundle create v"+version, ag.signet(t, "trust", "bundle", "create", "--version", version,
			"--trusted-root", trustedRoot, "--policy", ag.path("policy.yaml"), "--key", ag.path("release.pub"),
			"--recalls", ag.path("recalls.yaml"), "-o", dir), exitOK)
		expect(t, "signet trust bundle push v"+version, ag.signet(t, "trust", "bundle", "push", dir, bundleRef,
			"--root-key", ag.path("root.key"), "--key", ag.path("online.key"), "--root-out", root), exitOK, "Pushed trust bundle version "+version)
	}
	push("1")
	step("bundle v1", "pushed to "+bundleRef+" (signed by offline root keys; trusted root with no services; empty recall list)")

	verifyArgs := []string{"verify", "--trust-bundle", bundleRef, "--trust-bundle-root", root}
	expect(t, "signet verify with bundle v1", ag.signet(t, append(verifyArgs, app.String())...), exitOK)
	step("verify v1", "allowed (exit 0)")

	wh := ag.startWebhook(t, bundleRef, root)
	if ok, msg := wh.review(t, app.String()); !ok {
		t.Fatalf("admission review under bundle v1: denied: %s", msg)
	}
	step("admission v1", "allowed")

	push("2", app.DigestStr())
	pushed := time.Now()
	var msg string
	denied := false
	// Bounded: 60 reviews, half a second apart (the webhook refreshes every second).
	for i := 0; i < 60 && !denied; i++ {
		time.Sleep(500 * time.Millisecond)
		var ok bool
		ok, msg = wh.review(t, app.String())
		denied = !ok
	}
	if !denied {
		t.Fatalf("admission review after bundle v2 recalled %s: still allowed after 60 reviews over 30s", app.DigestStr())
	}
	if !strings.Contains(msg, "recalled") {
		t.Fatalf("admission review after the recall: denied, but not for the recall: %s", msg)
	}
	step("admission v2", fmt.Sprintf("denied, reason revoked (%q), %.1fs after the push with --trust-bundle-refresh 1s", msg, time.Since(pushed).Seconds()))
	if ok, msg := wh.review(t, other.String()); !ok {
		t.Fatalf("admission review of the image not recalled under bundle v2: denied: %s", msg)
	}
	step("admission v2 other image", "allowed")
	wh.stop(t)
	if log, _ := os.ReadFile(filepath.Join(stateDir, "airgap-webhook.log")); !bytes.Contains(log, []byte(`"class":"revoked"`)) {
		t.Fatalf("the webhook's log has no decision of class revoked:\n%s", log)
	}

	expect(t, "signet verify with bundle v2", ag.signet(t, append(verifyArgs, app.String())...), exitRevoked, "recalled")
	step("verify v2", "revoked (exit 7)")

	// A bundle pulled to a directory verifies OCI layouts with no registry.
	pulled := ag.path("pulled")
	expect(t, "signet trust bundle pull", ag.signet(t, "trust", "bundle", "pull", bundleRef, pulled, "--root", root), exitOK)
	for _, c := range []struct {
		img  string
		tag  string
		code int
		want string
	}{{other.String(), "v2", exitOK, "ALLOWED"}, {app.String(), "v1", exitRevoked, "recalled"}} {
		layout := ag.path("layout-" + c.tag)
		expect(t, "signet copy "+c.img+" to a layout", ag.signet(t, "copy", c.img, "oci-layout:"+layout), exitOK)
		ref := "oci-layout:" + layout + "@" + c.img[strings.Index(c.img, "@")+1:]
		expect(t, "signet verify "+ref+" with the pulled bundle", ag.signet(t, "verify", "--trust-bundle", pulled, "--trust-bundle-root", root,
			"--layout-repository", reg.host+"/team/app", ref), c.code, c.want)
		step("layout "+c.tag, fmt.Sprintf("verified with the pulled bundle v2: exit %d", c.code))
	}

	if _, err := os.Stat(filepath.Join(ag.home, "tuf")); err == nil {
		t.Errorf("SIGNET_HOME has a tuf directory: a TUF root was fetched or cached")
	}
	ag.assertNoOutbound(t)
	step("outbound", fmt.Sprintf("none: %d signet processes traced, %d loopback connects, 0 elsewhere; proxy trap got 0 connections", ag.traced.Load(), ag.loopback.Load()))
}

// airGap is the state of one air-gapped run: a work directory, an empty
// SIGNET_HOME, the proxy trap and what strace saw.
type airGap struct {
	dir, home string
	noProxy   string // the registry's host:port
	trap      *proxyTrap
	strace    string // strace's path, "" when it is not installed
	traced    atomic.Int64
	loopback  atomic.Int64
	mu        sync.Mutex
	outbound  []string // connects to anything but loopback, and network errors in stderr
	traces    []string // strace output files of processes still running
}

func newAirGap(t *testing.T) *airGap {
	dir := filepath.Join(stateDir, "airgap")
	ag := &airGap{dir: dir, home: filepath.Join(dir, "home"), trap: startProxyTrap(t)}
	for _, d := range []string{dir, ag.home} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if p, err := exec.LookPath("strace"); err == nil {
		ag.strace = p
	} else {
		t.Logf("airgap: strace not installed: outbound attempts are caught by the proxy trap and stderr only")
	}
	return ag
}

func (ag *airGap) path(n string) string { return filepath.Join(ag.dir, n) }

// env is every signet process's environment: its own empty HOME and
// SIGNET_HOME (no cached TUF root, no credentials), the proxies aimed at
// the trap, and only the registry exempt from them.
func (ag *airGap) env(home string) []string {
	proxy := "http://" + ag.trap.addr
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home, "SIGNET_HOME=" + home,
		"DOCKER_CONFIG=" + os.Getenv("DOCKER_CONFIG"),
		"HTTPS_PROXY=" + proxy, "HTTP_PROXY=" + proxy, "https_proxy=" + proxy, "http_proxy=" + proxy,
		"NO_PROXY=" + ag.noProxy, "no_proxy=" + ag.noProxy,
		"SIGNET_PASSWORD=" + password,
		"TMPDIR=" + os.TempDir(),
	}
}

// command returns the binary and arguments that run signet with args,
// under strace when it is installed (writing to trace).
func (ag *airGap) command(trace string, args ...string) (string, []string) {
	if ag.strace == "" {
		return tool("signet", ""), args
	}
	ag.traced.Add(1)
	return ag.strace, append([]string{"-f", "-qq", "-e", "trace=connect", "-o", trace, tool("signet", "")}, args...)
}

// signet runs signet air-gapped and records any outbound attempt.
func (ag *airGap) signet(t *testing.T, args ...string) result {
	t.Helper()
	trace := filepath.Join(ag.dir, fmt.Sprintf("strace-%d.txt", ag.traced.Load()))
	bin, argv := ag.command(trace, args...)
	r := runCLI(t, ag.env(ag.home), bin, argv...)
	ag.check(t, "signet "+strings.Join(args, " "), trace, r.err)
	return r
}

// networkErrors are what a Go program prints when it tried to reach
// something it cannot: through the trap, a name lookup, an unreachable
// network.
var networkErrors = []string{"proxyconnect", "network is unreachable", "no such host", "lookup ", "dial tcp", "connection refused", "tuf-repo-cdn", "sigstore.dev"}

// connectRE matches the address of an AF_INET or AF_INET6 connect in strace's output.
var connectRE = regexp.MustCompile(`inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"`)

// check records as outbound every connect strace saw to an address that
// is not loopback, and every network error in stderr.
func (ag *airGap) check(t *testing.T, what, trace, stderr string) {
	t.Helper()
	ag.mu.Lock()
	defer ag.mu.Unlock()
	for _, e := range networkErrors {
		if strings.Contains(stderr, e) {
			ag.outbound = append(ag.outbound, fmt.Sprintf("%s: stderr says %q:\n%s", what, e, stderr))
		}
	}
	if ag.strace == "" {
		return
	}
	loopback, outbound := scanTrace(t, trace)
	ag.loopback.Add(int64(loopback))
	for _, o := range outbound {
		ag.outbound = append(ag.outbound, what+": "+o)
	}
}

// scanTrace counts the connects to loopback in strace's output and
// returns the others.
func scanTrace(t *testing.T, trace string) (loopback int, outbound []string) {
	t.Helper()
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatalf("strace's output: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		for _, m := range connectRE.FindAllStringSubmatch(line, -1) {
			if ip := net.ParseIP(m[1] + m[2]); ip != nil && ip.IsLoopback() {
				loopback++
				continue
			}
			outbound = append(outbound, strings.TrimSpace(line))
		}
	}
	return loopback, outbound
}

// assertNoOutbound fails the test if any signet process tried to reach
// anything outside loopback, or anything reached the proxy trap; and if
// strace saw no connect at all (then it was not watching).
func (ag *airGap) assertNoOutbound(t *testing.T) {
	t.Helper()
	if n := ag.trap.count.Load(); n > 0 {
		t.Errorf("the proxy trap %s got %d connections: something tried to leave the machine (first asked for %q)", ag.trap.addr, n, ag.trap.first())
	}
	ag.mu.Lock()
	defer ag.mu.Unlock()
	for _, o := range ag.outbound {
		t.Errorf("outbound attempt: %s", o)
	}
	if ag.strace != "" && ag.loopback.Load() == 0 {
		t.Errorf("strace saw no connect to the registry in %d processes: it was not tracing", ag.traced.Load())
	}
}

// assertSealed checks the namespace has loopback only: no other
// interface, and a dial to a documentation address fails at once.
func (ag *airGap) assertSealed(t *testing.T) {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			t.Fatalf("the namespace has interface %s besides loopback", i.Name)
		}
	}
	c, err := net.DialTimeout("tcp", "192.0.2.1:443", 5*time.Second)
	if err == nil {
		c.Close()
		t.Fatal("a dial to 192.0.2.1:443 succeeded: the namespace is not sealed")
	}
	if !errors.Is(err, syscall.ENETUNREACH) {
		t.Fatalf("a dial to 192.0.2.1:443: %v, want network is unreachable", err)
	}
}

// proxyTrap listens where every proxy variable points; any connection
// to it is an attempt to reach something outside.
type proxyTrap struct {
	addr  string
	count atomic.Int64
	mu    sync.Mutex
	asked string
}

func startProxyTrap(t *testing.T) *proxyTrap {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxyTrap{addr: l.Addr().String()}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.count.Add(1)
			c.SetReadDeadline(time.Now().Add(time.Second))
			buf := make([]byte, 256)
			n, _ := c.Read(buf)
			p.mu.Lock()
			if p.asked == "" {
				p.asked = strings.SplitN(string(buf[:n]), "\r\n", 2)[0]
			}
			p.mu.Unlock()
			c.Close()
		}
	}()
	return p
}

// reset forgets the connections so far (after the control step).
func (p *proxyTrap) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count.Store(0)
	p.asked = ""
}

func (p *proxyTrap) first() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.asked
}

// airGapWebhook is `signet admission serve --trust-bundle` on 127.0.0.1.
type airGapWebhook struct {
	ag     *airGap
	url    string
	cmd    *exec.Cmd
	trace  string
	client *http.Client
}

func (ag *airGap) startWebhook(t *testing.T, bundleRef, root string) *airGapWebhook {
	t.Helper()
	dir := ag.path("webhook")
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	_, cert, key, err := webhookCerts(dir)
	if err != nil {
		t.Fatal(err)
	}
	addr := mustFreeAddr(t)
	trace := filepath.Join(dir, "strace.txt")
	bin, argv := ag.command(trace, "admission", "serve", "--addr", addr, "--tls-cert", cert, "--tls-key", key,
		"--trust-bundle", bundleRef, "--trust-bundle-root", root, "--trust-bundle-refresh", "1s")
	cmd, err := startProcessEnv("airgap-webhook", ag.env(home), bin, argv...)
	if err != nil {
		t.Fatal(err)
	}
	w := &airGapWebhook{ag: ag, url: "https://" + addr, cmd: cmd, trace: trace,
		client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}}
	if err := waitReady(w.url+"/readyz", "", 30*time.Second); err != nil {
		t.Fatalf("the webhook: %v", err)
	}
	return w
}

// review sends an AdmissionReview for a pod running image to /validate
// and returns whether it was allowed, and the message.
func (w *airGapWebhook) review(t *testing.T, image string) (bool, string) {
	t.Helper()
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "app", "namespace": "default"},
		"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": image}}}}
	review := map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": map[string]any{
		"uid": "airgap-" + randomHex(4), "kind": map[string]any{"group": "", "version": "v1", "kind": "Pod"},
		"resource": map[string]any{"group": "", "version": "v1", "resource": "pods"}, "namespace": "default", "name": "app",
		"operation": "CREATE", "object": pod}}
	body, _ := json.Marshal(review)
	resp, err := w.client.Post(w.url+"/validate", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("admission review: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admission review: %s\n%s", resp.Status, b)
	}
	var out struct {
		Response struct {
			Allowed bool `json:"allowed"`
			Status  struct {
				Message string `json:"message"`
			} `json:"status"`
		} `json:"response"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("admission review answer: %v\n%s", err, b)
	}
	return out.Response.Allowed, out.Response.Status.Message
}

// stop ends the webhook by its PID and checks what it tried to reach.
func (w *airGapWebhook) stop(t *testing.T) {
	t.Helper()
	stopProcess(w.cmd)
	log, _ := os.ReadFile(filepath.Join(stateDir, "airgap-webhook.log"))
	w.ag.check(t, "signet admission serve", w.trace, string(log))
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
