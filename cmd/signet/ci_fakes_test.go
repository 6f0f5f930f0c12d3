package main

// The CI recipes in examples/ci run as a CI runner would run them: their
// shell steps execute under bash or sh with the CI's variables, and the
// commands they call are on PATH. This test binary stands in for them: run
// under the name signet it is the real CLI; under the names go, docker and
// trivy it is a fake that does what the recipes need of those tools (install
// signet, push an image, write an SBOM and a scan).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"k8s.io/klog/v2"

	"github.com/signet-dev/signet/internal/sigstoretest"
)

// signetModule is what the recipes must `go install`.
const signetModule = "github.com/signet-dev/signet/cmd/signet"

func init() {
	var code int
	switch filepath.Base(os.Args[0]) {
	case "signet":
		klog.LogToStderr(false)
		klog.SetOutput(io.Discard)
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		code = run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
	case "go":
		code = fakeGo(os.Args[1:])
	case "docker":
		code = fakeDocker(os.Args[1:])
	case "trivy":
		code = fakeTrivy(os.Args[1:])
	default:
		return
	}
	os.Exit(code)
}

// fakeFail reports a fake tool's refusal the way the tool would, on stderr.
func fakeFail(tool string, format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "fake %s: %s\n", tool, fmt.Sprintf(format, args...))
	return 2
}

// fakeGo supports `go install github.com/signet-dev/signet/cmd/signet@VERSION`
// (installing this binary as signet into GOBIN, or GOPATH/bin) and `go env
// GOPATH`. Each install is recorded in $SIGNET_FAKE_LOG.
func fakeGo(args []string) int {
	gopath := filepath.Join(os.Getenv("HOME"), "go")
	switch {
	case len(args) == 2 && args[0] == "env" && args[1] == "GOPATH":
		fmt.Println(gopath)
		return 0
	case len(args) == 2 && args[0] == "install":
		mod, version, ok := strings.Cut(args[1], "@")
		if !ok || mod != signetModule || version == "" {
			return fakeFail("go", "install %q: want %s@VERSION", args[1], signetModule)
		}
		bin := os.Getenv("GOBIN")
		if bin == "" {
			bin = filepath.Join(gopath, "bin")
		}
		self, err := os.Executable()
		if err != nil {
			return fakeFail("go", "%v", err)
		}
		if err := os.MkdirAll(bin, 0o755); err != nil {
			return fakeFail("go", "%v", err)
		}
		if err := os.Symlink(self, filepath.Join(bin, "signet")); err != nil {
			return fakeFail("go", "%v", err)
		}
		return appendLine(os.Getenv("SIGNET_FAKE_LOG"), "go install "+args[1])
	}
	return fakeFail("go", "unsupported: go %s", strings.Join(args, " "))
}

func appendLine(path, line string) int {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fakeFail("log", "%v", err)
	}
	defer f.Close()
	fmt.Fprintln(f, line)
	return 0
}

// fakeDocker supports login (--password-stdin), build --tag, push (a random
// image) and inspect --format '{{index .RepoDigests 0}}', remembering pushed
// digests in $SIGNET_FAKE_STATE/docker.json.
func fakeDocker(args []string) int {
	state := filepath.Join(os.Getenv("SIGNET_FAKE_STATE"), "docker.json")
	pushed := map[string]string{}
	if b, err := os.ReadFile(state); err == nil {
		json.Unmarshal(b, &pushed)
	}
	if len(args) == 0 {
		return fakeFail("docker", "no command")
	}
	switch last := args[len(args)-1]; args[0] {
	case "login":
		if !strings.Contains(strings.Join(args, " "), "--password-stdin") {
			return fakeFail("docker", "login without --password-stdin puts the password on the command line")
		}
		io.Copy(io.Discard, os.Stdin)
		fmt.Println("Login Succeeded")
	case "build":
		fmt.Println("built")
	case "push":
		ref, err := name.ParseReference(last)
		if err != nil {
			return fakeFail("docker", "push %q: %v", last, err)
		}
		img, _ := random.Image(256, 1)
		if err := remote.Write(ref, img); err != nil {
			return fakeFail("docker", "push %q: %v", last, err)
		}
		d, _ := img.Digest()
		pushed[last] = ref.Context().Name() + "@" + d.String()
		b, _ := json.Marshal(pushed)
		if err := os.WriteFile(state, b, 0o644); err != nil {
			return fakeFail("docker", "%v", err)
		}
		fmt.Printf("%s: digest: %s size: 1234\n", ref.Identifier(), d)
	case "inspect":
		if !strings.Contains(strings.Join(args, " "), "--format {{index .RepoDigests 0}}") || pushed[last] == "" {
			return fakeFail("docker", "inspect: want --format '{{index .RepoDigests 0}}' of a pushed image, got %q", args)
		}
		fmt.Println(pushed[last])
	default:
		return fakeFail("docker", "unsupported: docker %s", strings.Join(args, " "))
	}
	return 0
}

// fakeTrivy supports `trivy image --format cyclonedx|json --output FILE IMAGE`.
// With SIGNET_FAKE_CRITICAL=1 the scan finds a fixable critical vulnerability.
func fakeTrivy(args []string) int {
	var format, output string
	var rest []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--format":
			i++
			format = args[i]
		case "--output":
			i++
			output = args[i]
		default:
			rest = append(rest, args[i])
		}
	}
	if len(rest) != 2 || rest[0] != "image" || output == "" {
		return fakeFail("trivy", "want image --format F --output FILE IMAGE, got %q", args)
	}
	var doc []byte
	switch format {
	case "cyclonedx":
		doc = fakeSBOM(rest[1])
	case "json":
		doc = fakeScan(rest[1], os.Getenv("SIGNET_FAKE_CRITICAL") == "1")
	default:
		return fakeFail("trivy", "format %q", format)
	}
	if err := os.WriteFile(output, doc, 0o644); err != nil {
		return fakeFail("trivy", "%v", err)
	}
	return 0
}

// fakeSBOM is a CycloneDX 1.5 SBOM of image, made now.
func fakeSBOM(image string) []byte {
	serial := make([]byte, 16)
	rand.Read(serial)
	u := hex.EncodeToString(serial)
	return fmt.Appendf(nil, `{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
  "serialNumber": "urn:uuid:%s-%s-%s-%s-%s",
  "metadata": {"timestamp": %q, "component": {"type": "container", "name": %q}},
  "components": [{"type": "library", "name": "zlib", "version": "1.3.1", "purl": "pkg:deb/debian/zlib@1.3.1"}]}`,
		u[:8], u[8:12], u[12:16], u[16:20], u[20:], time.Now().UTC().Format(time.RFC3339), image)
}

// fakeScan is a Trivy JSON report of image, made now.
func fakeScan(image string, critical bool) []byte {
	vulns := `{"VulnerabilityID": "CVE-2026-0002", "PkgName": "zlib", "InstalledVersion": "1.3.1", "Severity": "HIGH"}`
	if critical {
		vulns += `, {"VulnerabilityID": "CVE-2026-0001", "PkgName": "openssl", "InstalledVersion": "3.0.13", "FixedVersion": "3.0.14", "Severity": "CRITICAL"}`
	}
	return fmt.Appendf(nil, `{"SchemaVersion": 2, "CreatedAt": %q, "ArtifactName": %q, "ArtifactType": "container_image",
  "Trivy": {"Version": "0.58.1"},
  "Results": [{"Target": "debian 12", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": [%s]}]}`,
		time.Now().UTC().Format(time.RFC3339), image, vulns)
}

// ciWorld is what a CI run of a recipe reaches: a registry, a transparency
// log, a Fulcio and timestamp authority, and the trust files naming them.
type ciWorld struct {
	ss            *sigstoretest.Sigstore
	signingConfig string // Fulcio, the TSA and the log
	trustedRoot   string // their CA, TSA and log key
	tools         string // a directory holding the fake go, docker and trivy
}

// newCIWorld starts the log (`signet log serve`) and the fake Sigstore,
// and writes the trust files a user would give the recipes for their own
// Sigstore deployment.
func newCIWorld(t *testing.T) *ciWorld {
	t.Helper()
	w := &ciWorld{ss: sigstoretest.Start(t), tools: t.TempDir()}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"go", "docker", "trivy", "signet"} {
		if err := os.Symlink(self, filepath.Join(w.tools, tool)); err != nil {
			t.Fatal(err)
		}
	}
	logURL, logRootFile := w.startLog(t)
	logRoot, err := root.NewTrustedRootFromPath(logRootFile)
	if err != nil {
		t.Fatal(err)
	}
	ssRoot, err := w.ss.TrustedRoot()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, ssRoot.FulcioCertificateAuthorities(), nil,
		ssRoot.TimestampingAuthorities(), logRoot.RekorLogs())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour)
	anyOne := root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02,
		[]root.Service{{URL: w.ss.URL, MajorAPIVersion: 1, ValidityPeriodStart: start}},
		nil,
		[]root.Service{{URL: logURL, MajorAPIVersion: 2, ValidityPeriodStart: start}}, anyOne,
		[]root.Service{{URL: w.ss.TSAURL, MajorAPIVersion: 1, ValidityPeriodStart: start}}, anyOne)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w.trustedRoot, w.signingConfig = filepath.Join(dir, "trusted_root.json"), filepath.Join(dir, "signing_config.json")
	for path, v := range map[string]interface{ MarshalJSON() ([]byte, error) }{w.trustedRoot: tr, w.signingConfig: sc} {
		b, err := v.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// startLog runs `signet log serve` (this binary, as signet) until the test
// ends, and returns its URL and the trusted root it wrote.
func (w *ciWorld) startLog(t *testing.T) (string, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	home := t.TempDir()
	var out bytes.Buffer
	cmd := exec.Command(filepath.Join(w.tools, "signet"), "log", "serve", "--addr", addr)
	cmd.Env = append(os.Environ(), "SIGNET_HOME="+home)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	trusted := filepath.Join(home, "trusted_root.json")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		// The file is written whole (atomically) once the log listens.
		if _, err := os.Stat(trusted); err == nil {
			return "http://" + addr, trusted
		}
		if time.Now().After(deadline) {
			t.Fatalf("log serve did not write its trust files:\n%s", out.String())
		}
	}
}

// runnerEnv is the environment every CI job starts from: the fake tools
// first on PATH, then the machine's (bash, sed, base64, ...), a fresh HOME.
func (w *ciWorld) runnerEnv(t *testing.T, home, fakeState string) map[string]string {
	return map[string]string{
		"PATH":              w.tools + ":" + os.Getenv("PATH"),
		"HOME":              home,
		"CI":                "true",
		"LANG":              "C.UTF-8",
		"SIGNET_FAKE_LOG":   filepath.Join(fakeState, "installs.log"),
		"SIGNET_FAKE_STATE": fakeState,
	}
}

// environ turns a variable map into exec's form.
func environ(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// runScript runs a job's script with shell in dir and returns its output.
func runScript(shell []string, script, dir string, env map[string]string) (string, error) {
	f, err := os.CreateTemp("", "ci-step-*.sh")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(script); err != nil {
		return "", err
	}
	f.Close()
	cmd := exec.Command(shell[0], append(shell[1:], f.Name())...)
	cmd.Dir, cmd.Env = dir, environ(env)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// readKeyValues reads NAME=value lines (GITHUB_OUTPUT, GITHUB_ENV, dotenv),
// and GitHub's NAME<<DELIMITER multi-line form.
func readKeyValues(path string) (map[string]string, error) {
	out := map[string]string{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if k, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(k, "=") {
			var v []string
			for sc.Scan() && sc.Text() != delim {
				v = append(v, sc.Text())
			}
			out[k] = strings.Join(v, "\n")
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		} else if strings.TrimSpace(line) != "" {
			return nil, fmt.Errorf("%s: line %q is not NAME=value", path, line)
		}
	}
	return out, sc.Err()
}

// copyTree copies the files under src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// replaceInFile stands for the edit the recipes' comments ask of a user
// (their registry instead of the example's).
func replaceInFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, bytes.ReplaceAll(b, []byte(old), []byte(new)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ghFakes stand in for the third-party actions the workflow uses, by name.
var ghFakes = map[string]func(j *ghJobRun, with map[string]string) (map[string]string, error){
	"actions/checkout": noAction,
	"actions/setup-go": noAction,
	"actions/cache": func(*ghJobRun, map[string]string) (map[string]string, error) {
		return map[string]string{"cache-hit": "false"}, nil
	},
	"docker/setup-buildx-action": noAction,
	"docker/login-action":        noAction,
	"docker/build-push-action": func(j *ghJobRun, with map[string]string) (map[string]string, error) {
		if with["push"] != "true" {
			return nil, fmt.Errorf("push is %q", with["push"])
		}
		img, _ := random.Image(256, 1)
		for _, tag := range strings.Split(with["tags"], ",") {
			ref, err := name.NewTag(strings.TrimSpace(tag))
			if err != nil {
				return nil, err
			}
			if err := remote.Write(ref, img); err != nil {
				return nil, err
			}
		}
		d, _ := img.Digest()
		if j.s.noDigest {
			return map[string]string{"digest": "", "imageid": d.String()}, nil
		}
		return map[string]string{"digest": d.String(), "imageid": d.String()}, nil
	},
	"anchore/sbom-action": func(j *ghJobRun, with map[string]string) (map[string]string, error) {
		if with["format"] != "cyclonedx-json" {
			return nil, fmt.Errorf("format %q", with["format"])
		}
		return nil, os.WriteFile(filepath.Join(j.s.ws, with["output-file"]), fakeSBOM(with["image"]), 0o644)
	},
	"aquasecurity/trivy-action": func(j *ghJobRun, with map[string]string) (map[string]string, error) {
		if with["format"] != "json" || with["exit-code"] != "0" {
			return nil, fmt.Errorf("format %q, exit-code %q", with["format"], with["exit-code"])
		}
		return nil, os.WriteFile(filepath.Join(j.s.ws, with["output"]), fakeScan(with["image-ref"], j.s.critical), 0o644)
	},
}

func noAction(*ghJobRun, map[string]string) (map[string]string, error) { return nil, nil }
