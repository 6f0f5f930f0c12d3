//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSignedTagHeads: on the distribution registry, publish a signed head,
// move the tag with crane to an older, validly signed digest → refused as
// tag-mismatch (and the mutating webhook pins the signed head); re-publish
// with signet tag sign → accepted.
func TestSignedTagHeads(t *testing.T) {
	k := keys(t)
	reg := distributionReg.get(t, func() (*registryUnderTest, error) { return startDistribution(false) })
	dir := filepath.Join(stateDir, "tag-heads")
	os.MkdirAll(dir, 0o700)
	crane := func(args ...string) result {
		return runCLI(t, toolEnv(), tool("crane", craneVersion), append(args, "--insecure")...)
	}
	cell(t, "signed tag heads: crane moves the tag back -> refused; signet tag sign -> accepted", []*registryUnderTest{reg}, func(t *testing.T, r *registryUnderTest, repo string) {
		full := r.host + "/" + repo
		old := pushImage(t, r.host, repo+":1.4")
		expect(t, "sign v1", signet(t, "sign", "--key", k.signetKey, old.String()), exitOK)
		cur := pushImage(t, r.host, repo+":1.4")
		expect(t, "sign v2", signet(t, "sign", "--key", k.signetKey, cur.String()), exitOK)
		home := filepath.Join(dir, "home")
		os.MkdirAll(home, 0o700)
		res := runCLI(t, toolEnv("SIGNET_PASSWORD="+password, "SIGNET_HOME="+home), tool("signet", ""), "tag", "init", full,
			"--root-key", k.signetKey, "--key", k.signetKey)
		expect(t, "signet tag init", res, exitOK, "Trusted root written to")
		rootFile := strings.ReplaceAll(strings.ReplaceAll(full, "/", "_"), ":", "_") + ".root.json"
		// tag init writes the root into the working directory of the process.
		if _, err := os.Stat(rootFile); err == nil {
			os.Rename(rootFile, filepath.Join(dir, rootFile))
		}
		rootPath := filepath.Join(dir, rootFile)
		if _, err := os.Stat(rootPath); err != nil {
			t.Fatalf("root file: %v", err)
		}
		expect(t, "signet tag sign", signet(t, "tag", "sign", full+":1.4", "--key", k.signetKey, "--signature-key", k.signetPub), exitOK, cur.DigestStr())
		pol := filepath.Join(dir, "policy.yaml")
		os.WriteFile(pol, []byte(fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    signers: [{name: release, key: %s}]\n    tags:\n      signedHeads: {required: true, root: %s}\n",
			r.host+"/**", k.signetPub, rootPath)), 0o644)
		expect(t, "verify at the signed head", signet(t, "verify", "--policy", pol, full+":1.4"), exitOK)

		expect(t, "crane tag (move 1.4 back to v1)", crane("tag", old.String(), "1.4"), 0)
		expect(t, "verify the moved tag", signet(t, "verify", "--policy", pol, full+":1.4"), exitPolicyDenied, "[tag-mismatch]")
		pod := filepath.Join(dir, "pod.yaml")
		os.WriteFile(pod, []byte(fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n    - {name: app, image: %q}\n", full+":1.4")), 0o644)
		expect(t, "admission pins the signed head", signet(t, "admission", "review", "--policy", pol, pod), exitOK, "JSONPatch")

		expect(t, "signet tag sign (re-publish 1.4 = v1)", signet(t, "tag", "sign", full+":1.4", "--key", k.signetKey, "--signature-key", k.signetPub), exitOK, old.DigestStr())
		expect(t, "verify after re-publishing", signet(t, "verify", "--policy", pol, full+":1.4"), exitOK)
		expect(t, "signet tag ls", signet(t, "tag", "ls", full, "--root", rootPath), exitOK, "1.4", old.DigestStr(), "verified against")
	})
}
