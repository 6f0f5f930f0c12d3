package inspect_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/inspect"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// chromium finds a headless-capable Chromium. Without one the test skips
// saying how to get one — except in CI, where a test that needs a real
// component fails rather than pass by not running.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SIGNET_CHROMIUM"); p != "" {
		return p
	}
	for _, c := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	const why = "Chromium is not installed, so the HTML report is not rendered: run make deps (root, apt-get), install chromium yourself, or set SIGNET_CHROMIUM"
	if inCI() {
		t.Fatal(why + " (CI is set, so this fails instead of skipping)")
	}
	t.Skip(why)
	return ""
}

// inCI says whether the CI variable is set, as GitHub Actions, GitLab CI
// and most others set it (CI=true).
func inCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// headless runs Chromium on a file with flags that keep it off the network.
func headless(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// TestHTMLReport renders the report of the fixture (with a policy) in
// headless Chromium: the page's script runs without errors, every node of
// the tree is on the page, and a screenshot is written.
func TestHTMLReport(t *testing.T) {
	f := newFixture(t)
	doc := "apiVersion: signet.dev/v1alpha1\nkind: Policy\nmetadata: {name: team}\nimages:\n  - pattern: \"" + f.reg.Host + "/team/**\"\n    signers: [{name: release, key: release.pub}]\n"
	c, err := policy.Compile([]byte(doc), "testdata", keys.Loader{})
	if err != nil {
		t.Fatal(err)
	}
	eng, _ := verify.NewEngine(f.client, c, verify.WithEngineTrustedRoot(f.trust))
	rep, err := inspect.Inspect(context.Background(), f.client, f.image, inspect.Options{Engine: eng, Trust: f.trust, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := inspect.WriteHTML(&page, rep); err != nil {
		t.Fatal(err)
	}
	html := page.String()
	// Self-contained: nothing to fetch.
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:|//)`).FindString(html); m != "" {
		t.Fatalf("the page loads an external asset: %s", m)
	}
	// Every node the report has, by what the page marks.
	want := []string{`data-node="image"`}
	nodes := 1
	var walk func(*inspect.Subject)
	walk = func(s *inspect.Subject) {
		want = append(want, `data-node="subject `+s.Digest+`"`)
		nodes++
		if len(s.Artifacts)+len(s.Platforms) == 0 {
			nodes++ // "nothing attached"
		}
		for _, a := range s.Artifacts {
			want = append(want, `data-node="artifact `+a.Manifest+`"`)
			nodes += 1 + len(a.Log)
		}
		for _, p := range s.Platforms {
			walk(p)
		}
	}
	walk(rep.Subject)

	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	os.WriteFile(file, page.Bytes(), 0o644)
	bin := chromium(t)
	dom := string(headless(t, bin, "--dump-dom", "file://"+file))
	if !strings.Contains(dom, `data-rendered="ok"`) {
		t.Fatalf("the page's script did not finish:\n%.2000s", dom)
	}
	if m := regexp.MustCompile(`data-errors="[^"]*"`).FindString(dom); m != "" {
		t.Fatalf("script errors: %s", m)
	}
	if !strings.Contains(dom, `data-nodes="`+strconv.Itoa(nodes)+`"`) {
		t.Errorf("the page shows %s nodes, want %d", regexp.MustCompile(`data-nodes="\d+"`).FindString(dom), nodes)
	}
	for _, w := range want {
		if !strings.Contains(dom, w) {
			t.Errorf("node missing from the page: %s", w)
		}
	}
	for _, text := range []string{"CVE-2026-0001", "openssl", "verified as release", "SBOM components", "Vulnerabilities", "log.signet.test"} {
		if !strings.Contains(dom, text) {
			t.Errorf("the page does not show %q", text)
		}
	}
	shot := filepath.Join(dir, "report.png")
	headless(t, bin, "--screenshot="+shot, "--window-size=1400,2600", "--hide-scrollbars", "file://"+file)
	fi, err := os.Stat(shot)
	if err != nil || fi.Size() < 10_000 {
		t.Fatalf("screenshot %s: %v (%d bytes)", shot, err, fi.Size())
	}
	t.Logf("screenshot: %s (%d bytes)", shot, fi.Size())
	if keep := os.Getenv("SIGNET_KEEP_SCREENSHOT"); keep != "" {
		b, _ := os.ReadFile(shot)
		os.WriteFile(keep, b, 0o644)
		os.WriteFile(strings.TrimSuffix(keep, ".png")+".html", page.Bytes(), 0o644)
	}
}
