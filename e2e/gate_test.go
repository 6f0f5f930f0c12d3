//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// TestPushGate runs the real distribution registry with its notifications
// pointed at `signet gate serve`: a signed push is verified and gets a
// PASSED verification summary; an unsigned push is unverified after the
// grace period; signing it later re-verifies it to PASSED.
func TestPushGate(t *testing.T) {
	k := keys(t)
	gateAddr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	const secret, statusToken = "e2e-gate-secret", "e2e-gate-status-token"
	reg, err := startDistributionConfig("distribution-gate", false, fmt.Sprintf(`notifications:
  endpoints:
    - name: signet-gate
      url: http://%s/events
      headers:
        Authorization: [Bearer %s]
      timeout: 2s
      threshold: 3
      backoff: 1s
      ignoredmediatypes: [application/octet-stream]
`, gateAddr, secret))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(stateDir, "gate")
	os.MkdirAll(dir, 0o700)
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte(fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nmetadata: {name: org-push}\nimages:\n  - pattern: %q\n    signers: [{name: release, key: %s}]\n",
		reg.host+"/**", k.signetPub)), 0o644)
	env := toolEnv("SIGNET_PASSWORD="+password, "SIGNET_GATE_SECRET="+secret, "SIGNET_GATE_STATUS_TOKEN="+statusToken)
	if _, err := startProcessEnv("signet-gate", env, tool("signet", ""), "gate", "serve", "--policy", pol, "--registry", reg.host,
		"--key", k.cosignKey, "--addr", gateAddr, "--state", filepath.Join(dir, "state"), "--grace", "3s", "--recheck", "500ms"); err != nil {
		t.Fatal(err)
	}
	if err := waitHTTP("http://"+gateAddr+"/readyz", 200); err != nil {
		t.Fatal(err)
	}
	// /status and /metrics answer only with the status token.
	for _, path := range []string{"/status", "/metrics"} {
		if err := waitHTTP("http://"+gateAddr+path, 401); err != nil {
			t.Fatalf("GET %s without the status token: %v", path, err)
		}
	}
	statusEnv := toolEnv("SIGNET_GATE_STATUS_TOKEN=" + statusToken)
	status := func(state string) string {
		return runCLI(t, statusEnv, tool("signet", ""), "gate", "status", "--url", "http://"+gateAddr, "--state", state).out
	}
	waitFor := func(what string, d name.Digest, state string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			if strings.Contains(status(state), d.DigestStr()[:19]) {
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Fatalf("%s: %s never %s\n%s", what, d, state, status(""))
	}
	vsa := func(d name.Digest, result string) result {
		return signet(t, "verify-attestation", "--key", k.cosignPub, "--type", "https://slsa.dev/verification_summary/v1",
			"--condition", `predicate.verificationResult == "`+result+`"`, d.String())
	}
	regs := []*registryUnderTest{reg}

	cell(t, "gate: signed push -> verified, PASSED summary attached", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		expect(t, "signet sign", signet(t, "sign", "--key", k.signetKey, d.String()), exitOK)
		waitFor("signed push", d, "passed")
		deadline := time.Now().Add(30 * time.Second)
		for vsa(d, "PASSED").code != exitOK && time.Now().Before(deadline) {
			time.Sleep(250 * time.Millisecond)
		}
		expect(t, "PASSED summary signed by the gate", vsa(d, "PASSED"), exitOK, "verified")
	})

	cell(t, "gate: unsigned push -> unverified after grace; signed later -> PASSED", regs, func(t *testing.T, r *registryUnderTest, repo string) {
		d := pushImage(t, r.host, repo+":v1")
		waitFor("unsigned push", d, "unverified")
		deadline := time.Now().Add(30 * time.Second)
		for vsa(d, "FAILED").code != exitOK && time.Now().Before(deadline) {
			time.Sleep(250 * time.Millisecond)
		}
		expect(t, "FAILED summary", vsa(d, "FAILED"), exitOK, "verified")
		expect(t, "signet sign, later", signet(t, "sign", "--key", k.signetKey, d.String()), exitOK)
		waitFor("signed later", d, "passed")
		deadline = time.Now().Add(30 * time.Second)
		for vsa(d, "PASSED").code != exitOK && time.Now().Before(deadline) {
			time.Sleep(250 * time.Millisecond)
		}
		expect(t, "PASSED summary after signing", vsa(d, "PASSED"), exitOK, "verified")
	})

	// One push nobody signs, so the status shows what operators look for.
	left := pushImage(t, reg.host, "org/team/never-signed:v1")
	waitFor("never signed", left, "unverified")
	for deadline := time.Now().Add(30 * time.Second); vsa(left, "FAILED").code != exitOK && time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
	}
	out := status("")
	os.WriteFile(filepath.Join(stateDir, "gate-status.txt"), []byte(out), 0o644)
	t.Logf("signet gate status:\n%s", out)
}
