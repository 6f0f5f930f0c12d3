package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/internal/registrytest"
)

// TestAttestDetached: attest --detached, then verify-attestation and verify
// --policy with conditions on the document and its summary, and the usage
// refusals.
func TestAttestDetached(t *testing.T) {
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("SIGNET_HOME", t.TempDir())
	dir := t.TempDir()
	reg := registrytest.New(t, true)
	img := reg.PushImage(t, "team/app:v1").String()
	key := filepath.Join(dir, "release")
	generateKey(t, key)
	sbom := "../../attest/testdata/sbom.cdx.json"
	out, stderr, code := signet(t, "attest", "--detached", "--no-tlog", "--key", key+".key", "--type", "cyclonedx", "--predicate", sbom, "-o", "json", img)
	var res []attest.Attested
	if code != exitOK || json.Unmarshal([]byte(out), &res) != nil || len(res) != 1 || res[0].Detached == nil || res[0].PredicateType != attest.PredicateCycloneDX {
		t.Fatalf("attest --detached: exit %d\n%s%s", code, out, stderr)
	}
	pol := filepath.Join(dir, "policy.yaml")
	write(t, pol, `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "`+reg.Host+`/team/**"
    signers:
      - {name: release, key: release.pub}
    attestations:
      - name: sbom
        predicateType: cyclonedx
        signers: [release]
        condition: size(predicate.components) == 2 && summary.counts.components == 2
`)
	cases := []struct {
		args []string
		code int
		text string
	}{
		{[]string{"verify-attestation", "--key", key + ".pub", "--type", "cyclonedx", "--condition", "size(predicate.components) == 2 && summary.counts.components == 2", img}, exitOK, "verified"},
		{[]string{"verify-attestation", "--key", key + ".pub", "--type", "cyclonedx", "--condition", "summary.counts.components == 3", img}, exitInvalid, "condition is false"},
		{[]string{"verify-attestation", "--key", key + ".pub", "--type", "cyclonedx", "--max-predicate-size", "10", img}, exitInvalid, "over the 10-byte cap"},
		{[]string{"verify-attestation", "--key", key + ".pub", "--type", "cyclonedx", "-o", "json", img}, exitOK, `"artifact": "` + res[0].Detached.Digest.String()},
		{[]string{"verify", "--policy", pol, img}, exitPolicyDenied, "no signature"},
		{[]string{"attest", "--detached", "--key", key + ".key", "--statement", sbom, img}, exitUsage, "--detached stores a --predicate file apart"},
	}
	for _, tc := range cases {
		out, stderr, code := signet(t, tc.args...)
		if code != tc.code || !strings.Contains(out+stderr, tc.text) {
			t.Errorf("%v: exit %d (want %d), output lacks %q:\n%s\n%s", tc.args, code, tc.code, tc.text, out, stderr)
		}
	}
	// The image signed too: the policy's signature and attestation both pass.
	if _, stderr, code := signet(t, "sign", "--no-tlog", "--key", key+".key", img); code != exitOK {
		t.Fatal(stderr)
	}
	out, stderr, code = signet(t, "verify", "--policy", pol, "--explain", img)
	if code != exitOK || !strings.Contains(out, "attestation sbom") {
		t.Fatalf("verify --policy: exit %d\n%s%s", code, out, stderr)
	}
	// download attestation: the small statement, a line on where the
	// document is, and the document itself with --predicate-file.
	out, stderr, code = signet(t, "download", "attestation", "--type", "cyclonedx", img)
	if code != exitOK || !strings.Contains(out, attest.DetachedPredicateType) || !strings.Contains(stderr, "the predicate is detached") ||
		!strings.Contains(stderr, res[0].Detached.Digest.String()) || !strings.Contains(stderr, "--predicate-file") {
		t.Fatalf("download attestation: exit %d\n%s%s", code, out, stderr)
	}
	docFile := filepath.Join(dir, "sbom-downloaded.json")
	out, stderr, code = signet(t, "download", "attestation", "--type", "cyclonedx", "--predicate-file", docFile, img)
	var want bytes.Buffer
	raw, _ := os.ReadFile(sbom)
	_ = json.Compact(&want, raw) // attest stores the document compacted
	got, err := os.ReadFile(docFile)
	sum := sha256.Sum256(got)
	if code != exitOK || err != nil || !bytes.Equal(got, want.Bytes()) || !strings.Contains(out, "sha256:"+hex.EncodeToString(sum[:])) || strings.Contains(stderr, "the predicate is detached") {
		t.Fatalf("download attestation --predicate-file: exit %d, %d bytes written (want %d), %v\n%s%s", code, len(got), want.Len(), err, out, stderr)
	}
	for _, tc := range []struct {
		args []string
		code int
		text string
	}{
		{[]string{"download", "attestation", "--predicate-file", filepath.Join(dir, "capped.json"), "--max-predicate-size", "10", img}, exitError, "over the 10-byte cap"},
		{[]string{"download", "attestation", "--type", "spdxjson", "--predicate-file", filepath.Join(dir, "none.json"), img}, exitNoSignatures, "no attestations found"},
	} {
		out, stderr, code := signet(t, tc.args...)
		if code != tc.code || !strings.Contains(out+stderr, tc.text) {
			t.Errorf("%v: exit %d (want %d), output lacks %q:\n%s\n%s", tc.args, code, tc.code, tc.text, out, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "capped.json")); !os.IsNotExist(err) {
		t.Errorf("a refused document must not be written: %v", err)
	}
	// The cap reaches the policy engine, also in admission.
	deploy := filepath.Join(dir, "deploy.yaml")
	write(t, deploy, "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers: [{name: c, image: \""+img+"\"}]\n")
	for _, tc := range []struct {
		args []string
		code int
		text string
	}{
		{[]string{"verify", "--policy", pol, "--max-predicate-size", "10", img}, exitPolicyDenied, "over the 10-byte cap"},
		{[]string{"admission", "review", "--policy", pol, deploy}, exitOK, `"allowed": true`},
		{[]string{"admission", "review", "--policy", pol, "--max-predicate-size", "10", deploy}, exitPolicyDenied, "over the 10-byte cap"},
		{[]string{"verify", "--policy", pol, "--max-predicate-size", "0", img}, exitUsage, "--max-predicate-size must be at least 1 byte"},
		{[]string{"verify-attestation", "--key", key + ".pub", "--type", "cyclonedx", "--max-predicate-size", "-1", img}, exitUsage, "--max-predicate-size must be at least 1 byte"},
	} {
		out, stderr, code := signet(t, tc.args...)
		if code != tc.code || !strings.Contains(out+stderr, tc.text) {
			t.Errorf("%v: exit %d (want %d), output lacks %q:\n%s\n%s", tc.args, code, tc.code, tc.text, out, stderr)
		}
	}
}
