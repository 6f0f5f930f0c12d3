package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/internal/notarytest"
	"github.com/signet-dev/signet/internal/registrytest"
)

// TestAttestNotation: signet attest --format notation writes an in-toto
// attestation artifact signed with Notation, and a policy whose attestation
// requirement names the Notation signer accepts it (and its condition
// judges it).
func TestAttestNotation(t *testing.T) {
	t.Setenv("SIGNET_HOME", t.TempDir())
	t.Setenv("SIGNET_PASSWORD", "")
	dir := t.TempDir()
	reg := registrytest.New(t, true)
	img := reg.PushImage(t, "team/app:v1").String()
	pki := notarytest.New(t, "Acme CA", "Security")
	key, chain := filepath.Join(dir, "security.key"), filepath.Join(dir, "chain.pem")
	pki.WriteKey(t, key)
	write(t, chain, string(notarytest.PEM(pki.Chain...)))
	write(t, filepath.Join(dir, "ca.pem"), string(notarytest.PEM(pki.CA)))
	notation := []string{"--format", "notation", "--key", key, "--certificate-chain", chain}

	if out, stderr, code := signet(t, append(append([]string{"sign"}, notation...), img)...); code != exitOK {
		t.Fatalf("sign: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code := signet(t, append(append([]string{"attest"}, notation...), "--envelope", "cose", "--type", "cyclonedx",
		"--predicate", "../../attest/testdata/sbom.cdx.json", "-o", "json", img)...)
	if code != exitOK {
		t.Fatalf("attest: exit %d\n%s%s", code, out, stderr)
	}
	var res []attest.Attested
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 || res[0].Signature == nil || res[0].PredicateType != attest.PredicateCycloneDX {
		t.Fatalf("attest -o json: %v\n%s", err, out)
	}

	policy := func(cond string) string {
		p := filepath.Join(dir, "policy-"+cond[len(cond)-1:]+".yaml")
		write(t, p, `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "`+reg.Host+`/team/**"
    signers:
      - name: security
        notation: {trustStore: ca.pem, subject: "CN=Security,O=Acme,ST=WA,C=US", revocation: skip}
    attestations:
      - name: sbom
        predicateType: cyclonedx
        signers: [security]
        condition: `+cond+`
`)
		return p
	}
	out, stderr, code = signet(t, "verify", "--policy", policy("size(predicate.components) == 2"), "-o", "json", img)
	if code != exitOK || !strings.Contains(out, `"format": "notation"`) || !strings.Contains(out, res[0].Attached.Digest.String()) {
		t.Fatalf("verify: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code = signet(t, "verify", "--policy", policy("size(predicate.components) == 3"), img)
	if code == exitOK || !strings.Contains(out+stderr, "condition is false") {
		t.Fatalf("verify, condition false: exit %d\n%s%s", code, out, stderr)
	}

	for _, tc := range []struct {
		args []string
		text string
	}{
		{[]string{"attest", "--format", "notation", "--key", key, "--type", "cyclonedx", "--predicate", "../../attest/testdata/sbom.cdx.json", img}, "--format notation needs --key and --certificate-chain"},
		{[]string{"attest", "--key", key, "--certificate-chain", chain, "--type", "cyclonedx", "--predicate", "../../attest/testdata/sbom.cdx.json", img}, "--certificate-chain is for --format notation"},
	} {
		if out, stderr, code := signet(t, tc.args...); code != exitUsage || !strings.Contains(stderr, tc.text) {
			t.Errorf("%v: exit %d, want usage with %q\n%s%s", tc.args, code, tc.text, out, stderr)
		}
	}
}
