package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/registrytest"
)

// TestCopyRoundTrip: an image with a signature (bundle and legacy .sig),
// three attestations and signed tag heads, copied registry -> layout ->
// another registry (without the referrers API), verified there with the
// same key, and with the origin's policy through a mirrors mapping.
func TestCopyRoundTrip(t *testing.T) {
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("SIGNET_HOME", t.TempDir())
	dir := t.TempDir()
	t.Chdir(dir)
	src := registrytest.New(t, true)
	dst := registrytest.New(t, false)
	for _, k := range []string{"root", "online", "release"} {
		if _, stderr, code := signet(t, "keys", "generate", "--output-prefix", filepath.Join(dir, k)); code != exitOK {
			t.Fatal(stderr)
		}
	}
	img := src.PushImage(t, "team/app:v1")
	repo := src.Host + "/team/app"
	steps := [][]string{
		{"sign", "--no-tlog", "--key", "release.key", "--registry-layout", "both", img.String()},
		{"attest", "--no-tlog", "--key", "release.key", "--type", "cyclonedx", "--predicate", "../../attest/testdata/sbom.cdx.json", img.String()},
		{"attest", "--no-tlog", "--key", "release.key", "--type", "slsaprovenance1", "--predicate", "../../attest/testdata/provenance-v1.json", img.String()},
		{"attest", "--no-tlog", "--key", "release.key", "--type", "vuln", "--predicate", "../../attest/testdata/trivy.json", img.String()},
		{"tag", "init", repo, "--root-key", "root.key", "--key", "online.key"},
		{"tag", "sign", repo + ":v1", "--key", "online.key", "--signature-key", "release.pub"},
	}
	for _, a := range steps {
		a = absTestdata(t, a)
		if out, stderr, code := signet(t, a...); code != exitOK {
			t.Fatalf("%v: exit %d\n%s\n%s", a, code, out, stderr)
		}
	}
	lay := "oci-layout:" + filepath.Join(dir, "app")
	far := dst.Host + "/mirror/team/app"

	var sum struct {
		Digest  string `json:"digest"`
		Copied  int    `json:"copied"`
		Skipped int    `json:"skipped"`
		Items   []struct {
			Kind   string `json:"kind"`
			Copied bool   `json:"copied"`
		} `json:"items"`
	}
	copyJSON := func(t *testing.T, args ...string) {
		t.Helper()
		out, stderr, code := signet(t, append([]string{"copy", "-o", "json"}, args...)...)
		if code != exitOK {
			t.Fatalf("copy %v: exit %d\n%s", args, code, stderr)
		}
		sum.Items = nil
		if err := json.Unmarshal([]byte(out), &sum); err != nil {
			t.Fatalf("copy -o json: %v\n%s", err, out)
		}
	}
	// image, signature bundle, legacy .sig, 3 attestations, tag heads
	copyJSON(t, img.Context().String()+":v1", lay)
	if sum.Digest != img.DigestStr() || sum.Copied != 7 || sum.Skipped != 0 {
		t.Fatalf("into the layout: digest %s, copied %d, skipped %d; want %s, 7, 0", sum.Digest, sum.Copied, sum.Skipped, img.DigestStr())
	}
	copyJSON(t, lay+":v1", far)
	if sum.Copied != 7 {
		t.Fatalf("out of the layout: copied %d, want 7", sum.Copied)
	}
	copyJSON(t, lay+":v1", far)
	if sum.Copied != 0 || sum.Skipped != 7 {
		t.Fatalf("again: copied %d, skipped %d; want 0, 7", sum.Copied, sum.Skipped)
	}

	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte(`apiVersion: signet.dev/v1alpha1
kind: Policy
mirrors:
  - {mirror: "`+dst.Host+`/mirror/team", origin: "`+src.Host+`/team"}
images:
  - pattern: "`+src.Host+`/team/**"
    signers: [{name: release, key: release.pub}]
    attestations: [{predicateType: cyclonedx}, {predicateType: slsaprovenance1}, {predicateType: vuln}]
  - pattern: "`+dst.Host+`/**"
    mode: audit
`), 0o644)
	cases := []struct {
		name string
		args []string
		code int
		text string
	}{
		{"verify at the mirror", []string{"verify", "--key", "release.pub", far + ":v1"}, exitOK, "verified"},
		{"by digest, -o json", []string{"verify", "--key", "release.pub", "-o", "json", far + "@" + img.DigestStr()}, exitOK, img.DigestStr()},
		{"attestation at the mirror", []string{"verify-attestation", "--key", "release.pub", "--type", "vuln", far + ":v1"}, exitOK, "verified"},
		{"the origin's policy at the mirror", []string{"verify", "--policy", pol, far + ":v1"}, exitOK, `by rule "` + src.Host + `/team/**"`},
		{"in the layout", []string{"verify", "--key", "release.pub", lay + ":v1"}, exitOK, "verified"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := signet(t, tc.args...)
			if code != tc.code || !strings.Contains(out+stderr, tc.text) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s\n%s", code, tc.code, tc.text, out, stderr)
			}
		})
	}

	t.Run("--only signatures", func(t *testing.T) {
		other := dst.Host + "/sigs/app"
		copyJSON(t, "--only", "signatures", img.String(), other)
		for _, it := range sum.Items {
			if it.Kind != "signature" {
				t.Fatalf("--only signatures copied a %s", it.Kind)
			}
		}
		if sum.Copied != 2 {
			t.Fatalf("--only signatures copied %d, want 2 (the bundle and the .sig)", sum.Copied)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		if _, stderr, code := signet(t, "copy", "--only", "layers", img.String(), far); code != exitUsage || !strings.Contains(stderr, "signatures, attestations") {
			t.Fatalf("--only layers: exit %d\n%s", code, stderr)
		}
		if _, stderr, code := signet(t, "copy", img.String()); code != exitUsage {
			t.Fatalf("one argument: exit %d\n%s", code, stderr)
		}
		if _, stderr, code := signet(t, "copy", src.Host+"/team/nope:v1", far); code != exitRegistry {
			t.Fatalf("a missing image: exit %d, want %d\n%s", code, exitRegistry, stderr)
		}
	})
}

// absTestdata makes the ../../attest/testdata paths absolute (the test
// runs in a temporary directory).
func absTestdata(t *testing.T, a []string) []string {
	out := make([]string, len(a))
	for i, s := range a {
		out[i] = s
		if strings.HasPrefix(s, "../../") {
			out[i] = filepath.Join(testdataRoot, strings.TrimPrefix(s, "../../"))
		}
	}
	return out
}

var testdataRoot = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Join(wd, "..", "..")
}()
