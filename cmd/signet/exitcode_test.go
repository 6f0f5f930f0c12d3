package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// Error classes a command can meet (TestExitCodesEveryCommand).
const (
	classUnknownFlag  = "unknown flag"
	classWrongArgs    = "wrong number of arguments"
	classBadFlagValue = "bad flag value"
	classMalformedRef = "malformed image reference"
	classKeyFile      = "unreadable key file"
	classBadPolicy    = "invalid policy"
	classBadInput     = "bad input file"
	classRegistryDown = "registry down"
	classLogDown      = "transparency log down"
	classServiceDown  = "service down"
	classNoSignatures = "no signatures"
	classBadSignature = "bad signature"
	classDenied       = "policy denied"
	classRevoked      = "recalled"
	classControl      = "control (succeeds)"
)

// exitRow is one command run against one error class.
type exitRow struct {
	class string
	args  []string // after "signet"
	want  int
	text  string // the output must say this ("" : anything)
}

// exitFixture is what the rows need: a registry with a signed, an
// unsigned and a forged image, keys, policies, and addresses where nothing
// listens.
type exitFixture struct {
	dir, host, down                          string
	signed, unsigned, forged, bad, elsewhere string
	downImg                                  string
	release, other, missing                  string // key prefixes; missing names no file
	pol, badPol, blob, forgedBundle, stmt    string
	recalls                                  string // a recall list recalling signed
	grype, trivy                             string // predicates
}

func (f *exitFixture) path(name string) string { return filepath.Join(f.dir, name) }

func newExitFixture(t *testing.T) *exitFixture {
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("COSIGN_PASSWORD", "")
	t.Setenv("SIGNET_HOME", t.TempDir())
	t.Setenv("SIGNET_GATE_SECRET", "s3cret")
	t.Setenv("VAULT_ADDR", "")
	t.Setenv("BAO_ADDR", "")
	dir := t.TempDir()
	testdata, err := filepath.Abs("../../attest/testdata")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir) // tag init writes the trusted root into the working directory
	reg := registrytest.New(t, true)
	f := &exitFixture{dir: dir, host: reg.Host, down: closedAddr(t),
		signed: reg.PushImage(t, "team/app:v1").String(), unsigned: reg.PushImage(t, "team/app:unsigned").String(),
		forged: reg.PushImage(t, "team/app:forged").String(), release: filepath.Join(dir, "release"),
		other: filepath.Join(dir, "other"), missing: filepath.Join(dir, "missing"),
		grype: filepath.Join(testdata, "grype.json"), trivy: filepath.Join(testdata, "trivy.json")}
	f.bad = reg.Host + "/Team/App:v1"
	f.elsewhere = reg.Host + "/elsewhere/app:v1"
	f.downImg = f.down + "/team/app:v1"
	must := func(args ...string) {
		t.Helper()
		if out, stderr, code := signet(t, args...); code != exitOK {
			t.Fatalf("signet %s: exit %d\n%s%s", strings.Join(args, " "), code, out, stderr)
		}
	}
	plainKeyPair(t, f.release)
	plainKeyPair(t, f.other)
	must("sign", "--no-tlog", "--key", f.release+".key", f.signed)
	must("sign", "--no-tlog", "--key", f.other+".key", f.forged)
	must("attest", "--no-tlog", "--key", f.other+".key", "--type", "vuln", "--predicate", f.grype, f.forged)
	must("tag", "init", "--no-tlog", "--root-key", f.release+".key", "--key", f.release+".key", f.host+"/team/app")
	f.pol, f.badPol, f.blob, f.stmt = f.path("policy.yaml"), f.path("bad.yaml"), f.path("blob.txt"), f.path("statement.json")
	write(t, f.pol, fmt.Sprintf(`apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "%s/team/**"
    signers: [{name: release, key: release.pub}]
  - pattern: "%s/**"
    signers: [{name: release, key: release.pub}]
`, f.host, f.down))
	write(t, f.badPol, "apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: \"**\"\n    transparencyLogs: required\n    signers: [{name: release, key: release.pub}]\n")
	write(t, f.blob, "a file to sign\n")
	write(t, f.stmt, fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"blob.txt","digest":{"sha256":"%x"}}],"predicateType":"https://example.com/review/v1","predicate":{}}`,
		sha256.Sum256([]byte("a file to sign\n"))))
	f.recalls = f.path("recalls.yaml")
	_, signedDigest, _ := strings.Cut(f.signed, "@")
	write(t, f.recalls, "apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: 1\ndigests:\n  - {digest: "+signedDigest+", reason: recalled for the exit code test}\n")
	f.forgedBundle = f.path("forged.sigstore.json")
	must("sign-blob", "--no-tlog", "--key", f.other+".key", "--bundle", f.forgedBundle, f.blob)
	return f
}

// plainKeyPair writes prefix.key (unencrypted PKCS#8, which Signet reads
// for imports: no scrypt to wait for) and prefix.pub.
func plainKeyPair(t *testing.T, prefix string) {
	t.Helper()
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := keys.PublicKeyPEM(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	write(t, prefix+".key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	write(t, prefix+".pub", string(pub))
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func pod(t *testing.T, f *exitFixture, name, image string) string {
	p := f.path(name + ".yaml")
	write(t, p, fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  containers: [{name: c, image: %q}]\n", name, image))
	return p
}

// exitRows are, for every command, the error classes it can meet beyond an
// unknown flag and a wrong number of arguments (which every command is run
// against), and the code each must give: the table of exitcode.go.
func exitRows(t *testing.T, f *exitFixture) map[string][]exitRow {
	key, pub, opub, nokey := f.release+".key", f.release+".pub", f.other+".pub", f.missing+".key"
	logDown := []string{"--tlog-url", "http://" + f.down, "--tlog-api-version", "2"}
	lockFile := f.path("signet.lock")
	garbage := f.path("garbage")
	write(t, garbage, "{not yaml or json: [")
	cip := f.path("cip.yaml")
	tb, tbRoot := f.path("tb"), f.path("tb.root.json")
	if out, stderr, code := signet(t, "trust", "bundle", "create", "--version", "1", "--key", pub, "-o", tb); code != exitOK {
		t.Fatalf("trust bundle create: %s%s", out, stderr)
	}
	if out, stderr, code := signet(t, "trust", "bundle", "push", tb, "oci://"+f.host+"/trust/bundle:v1", "--root-key", key, "--root-out", tbRoot); code != exitOK {
		t.Fatalf("trust bundle push: %s%s", out, stderr)
	}
	damaged := damagedFallback(t)
	write(t, cip, "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: team}\nspec:\n  images: [{glob: \"registry.example.com/team/**\"}]\n  authorities: [{key: {kms: \"awskms:///alias/release\"}}]\n")
	return map[string][]exitRow{
		"signet":           {{classWrongArgs, []string{"verfy"}, exitUsage, `unknown command "verfy" for "signet" (did you mean verify?)`}},
		"signet admission": {{classWrongArgs, []string{"admission", "nope"}, exitUsage, `unknown command "nope" for "signet admission"`}},
		"signet admission review": {
			{classBadPolicy, []string{"admission", "review", "--policy", f.badPol, pod(t, f, "signed", f.signed)}, exitError, ""},
			{classBadInput, []string{"admission", "review", "--policy", f.pol, garbage}, exitError, "garbage"},
			{classBadFlagValue, []string{"admission", "review", "--policy", f.pol, "--failure-mode", "open", pod(t, f, "signed", f.signed)}, exitUsage, "open"},
			{classNoSignatures, []string{"admission", "review", "--policy", f.pol, pod(t, f, "unsigned", f.unsigned)}, exitPolicyDenied, "[not-found]"},
			{classRevoked, []string{"admission", "review", "--policy", f.pol, "--recalls", f.recalls, pod(t, f, "recalled", f.signed)}, exitPolicyDenied, "[revoked]: " + f.signed[strings.Index(f.signed, "@")+1:] + " is recalled"},
			{classBadSignature, []string{"admission", "review", "--policy", f.pol, pod(t, f, "forged", f.forged)}, exitPolicyDenied, "[invalid]"},
			{classDenied, []string{"admission", "review", "--policy", f.pol, pod(t, f, "elsewhere", f.elsewhere)}, exitPolicyDenied, "denied by signet's default action: match [policy-denied]: no rule matches"},
			// The webhook denies what it cannot verify (failure mode closed): the review says so.
			{classRegistryDown, []string{"admission", "review", "--policy", f.pol, pod(t, f, "down", f.downImg)}, exitPolicyDenied, "[transient]"},
			{classControl, []string{"admission", "review", "--policy", f.pol, pod(t, f, "tagged", f.host+"/team/app:v1")}, exitOK, `"jsonPatch"`},
		},
		"signet admission serve": {
			{classBadPolicy, []string{"admission", "serve", "--policy", f.badPol, "--tls-cert", "c", "--tls-key", "k"}, exitError, ""},
			{classBadFlagValue, []string{"admission", "serve", "--policy", f.pol}, exitUsage, "--tls-cert and --tls-key are required"},
			{classBadFlagValue, []string{"admission", "serve", "--policy-source", "configmap", "--tls-cert", "c", "--tls-key", "k"}, exitUsage, `unknown --policy-source "configmap"`},
			{classBadFlagValue, []string{"admission", "serve", "--policy-source", "kubernetes", "--policy", f.pol, "--tls-cert", "c", "--tls-key", "k"}, exitUsage, "--policy is for --policy-source file"},
			{classBadFlagValue, []string{"admission", "serve", "--policy-source", "kubernetes", "--trust-bundle", "oci://" + f.host + "/trust/bundle:v1", "--tls-cert", "c", "--tls-key", "k"}, exitUsage, "--trust-bundle is for --policy-source file"},
			{classBadFlagValue, []string{"admission", "serve", "--trust-bundle", "oci://" + f.host + "/trust/bundle:v1", "--tls-cert", "c", "--tls-key", "k"}, exitUsage, "--trust-bundle-root is required"},
			{classServiceDown, []string{"admission", "serve", "--policy-source", "kubernetes", "--kubeconfig", kubeconfig(t, f.dir, "http://"+f.down),
				"--tls-cert", "c", "--tls-key", "k"}, exitRegistry, f.down},
			{classBadFlagValue, []string{"admission", "serve", "--policy", f.pol, "--tls-cert", "c", "--tls-key", "k", "--background-audit", "-1s"}, exitUsage, "--background-audit must not be negative"},
			{classBadInput, []string{"admission", "serve", "--policy", f.pol, "--tls-cert", "c", "--tls-key", "k", "--background-audit", "1m", "--kubeconfig", f.path("no-kubeconfig")}, exitError, "no-kubeconfig"},
		},
		"signet attest": {
			{classMalformedRef, []string{"attest", "--key", key, "--type", "vuln", "--predicate", f.grype, f.bad}, exitUsage, "repository names must be lower case: Team/App"},
			{classKeyFile, []string{"attest", "--no-tlog", "--key", nokey, "--type", "vuln", "--predicate", f.grype, f.signed}, exitError, nokey},
			{classBadInput, []string{"attest", "--no-tlog", "--key", key, "--type", "cyclonedx", "--predicate", f.trivy, f.signed}, exitError, "Trivy"},
			{classRegistryDown, []string{"attest", "--no-tlog", "--key", key, "--type", "vuln", "--predicate", f.grype, f.downImg}, exitRegistry, f.down},
			{classLogDown, with(logDown, "attest", "--key", key, "--type", "vuln", "--predicate", f.grype, f.signed), exitRegistry, f.down},
		},
		"signet attest-blob": {
			{classKeyFile, []string{"attest-blob", "--no-tlog", "--key", nokey, "--statement", f.stmt, "--bundle", f.path("a.json")}, exitError, nokey},
			{classBadInput, []string{"attest-blob", "--no-tlog", "--key", key, "--statement", f.blob, "--bundle", f.path("a.json")}, exitError, f.blob},
			{classLogDown, with(logDown, "attest-blob", "--key", key, "--statement", f.stmt, "--bundle", f.path("a.json")), exitRegistry, f.down},
		},
		"signet completion":            {{classWrongArgs, []string{"completion", "nope"}, exitUsage, "unknown command"}},
		"signet completion bash":       nil,
		"signet completion fish":       nil,
		"signet completion powershell": nil,
		"signet completion zsh":        nil,
		"signet copy": {
			{classWrongArgs, []string{"copy", f.signed}, exitUsage, "accepts 2 arg(s)"},
			{classMalformedRef, []string{"copy", f.bad, "oci-layout:" + f.path("copy")}, exitUsage, "repository names must be lower case: Team/App"},
			{classBadFlagValue, []string{"copy", "--only", "layers", f.signed, "oci-layout:" + f.path("copy")}, exitUsage, "layers"},
			{classRegistryDown, []string{"copy", f.downImg, "oci-layout:" + f.path("copy")}, exitRegistry, f.down},
			{classControl, []string{"copy", f.signed, "oci-layout:" + f.path("copy")}, exitOK, "copied"},
		},
		"signet download": {{classWrongArgs, []string{"download", "nope"}, exitUsage, "unknown command"}},
		"signet download attestation": {
			{classMalformedRef, []string{"download", "attestation", f.bad}, exitUsage, "repository names must be lower case: Team/App"},
			{classRegistryDown, []string{"download", "attestation", f.downImg}, exitRegistry, f.down},
			{classNoSignatures, []string{"download", "attestation", f.signed}, exitNoSignatures, "no attestations found"},
		},
		"signet download signature": {
			{classMalformedRef, []string{"download", "signature", f.bad}, exitUsage, "repository names must be lower case: Team/App"},
			{classRegistryDown, []string{"download", "signature", f.downImg}, exitRegistry, f.down},
			{classNoSignatures, []string{"download", "signature", f.unsigned}, exitNoSignatures, "no signatures found"},
		},
		"signet fleet": {{classWrongArgs, []string{"fleet", "nope"}, exitUsage, `unknown command "nope" for "signet fleet"`}},
		"signet fleet check": {
			{classMalformedRef, []string{"fleet", "check", "--policy", f.pol, "--no-cluster", "--image", f.bad}, exitUsage, "repository names must be lower case: Team/App"},
			{classMalformedRef, []string{"fleet", "check", "--policy", f.pol, "--no-cluster", "--repository", f.host + "/Team/App"}, exitUsage, "Team/App"},
			{classBadPolicy, []string{"fleet", "check", "--policy", f.badPol, "--no-cluster", "--image", f.signed}, exitError, ""},
			{classBadPolicy, []string{"fleet", "check", "--policy", f.pol, "--against", f.badPol, "--no-cluster", "--image", f.signed}, exitError, ""},
			{classBadFlagValue, []string{"fleet", "check", "--policy", f.pol, "--no-cluster"}, exitUsage, "--no-cluster leaves nothing to check"},
			{classBadFlagValue, []string{"fleet", "check", "--policy", f.pol, "-n", "shop", "-A"}, exitUsage, "not both"},
			{classBadFlagValue, []string{"fleet", "check", "--no-cluster", "--image", f.signed}, exitUsage, "--policy is required"},
			{classBadInput, []string{"fleet", "check", "--policy", f.pol, "--kubeconfig", f.path("no-kubeconfig")}, exitError, "no-kubeconfig"},
			{classServiceDown, []string{"fleet", "check", "--policy", f.pol, "--kubeconfig", kubeconfig(t, f.dir, "http://"+f.down)}, exitRegistry, f.down},
			{classRegistryDown, []string{"fleet", "check", "--policy", f.pol, "--no-cluster", "--image", f.downImg}, exitRegistry, "1 could not be checked"},
			{classRegistryDown, []string{"fleet", "check", "--policy", f.pol, "--no-cluster", "--repository", f.down + "/team/app"}, exitRegistry, "1 could not be checked"},
			{classNoSignatures, []string{"fleet", "check", "--policy", f.pol, "--no-cluster", "--image", f.unsigned}, exitPolicyDenied, "signatures [not-found]"},
			{classBadSignature, []string{"fleet", "check", "--policy", f.pol, "--no-cluster", "--image", f.forged}, exitPolicyDenied, "signatures [invalid]"},
			{classDenied, []string{"fleet", "check", "--policy", f.pol, "--no-cluster", "--image", f.elsewhere}, exitPolicyDenied, "1 denied under the new policy"},
			{classControl, []string{"fleet", "check", "--policy", f.pol, "--against", f.pol, "--no-cluster", "--image", f.unsigned}, exitOK, "0 would be newly denied"},
			{classControl, []string{"fleet", "check", "--policy", f.pol, "--no-cluster", "--image", f.signed}, exitOK, "1 allowed"},
		},
		"signet gate": nil,
		"signet gate serve": {
			{classBadFlagValue, []string{"gate", "serve", "--registry", f.host}, exitUsage, "--policy, --registry and --key are required"},
			{classBadPolicy, []string{"gate", "serve", "--policy", f.badPol, "--registry", f.host, "--key", key}, exitError, ""},
			{classKeyFile, []string{"gate", "serve", "--policy", f.pol, "--registry", f.host, "--key", nokey, "--addr", "127.0.0.1:0"}, exitError, nokey},
		},
		"signet gate backfill": {
			{classBadFlagValue, []string{"gate", "backfill"}, exitUsage, "--registry is required"},
			{classRegistryDown, []string{"gate", "backfill", "--registry", f.down, "--state", t.TempDir()}, exitRegistry, f.down},
		},
		"signet gate status": {{classServiceDown, []string{"gate", "status", "--url", "http://" + f.down}, exitRegistry, f.down}},
		"signet help":        {{classWrongArgs, []string{"help", "policy", "nope"}, exitUsage, `unknown command "nope" for "signet policy"`}},
		"signet doctor": {
			{classMalformedRef, []string{"doctor", f.bad}, exitUsage, "repository names must be lower case: Team/App"},
			{classBadFlagValue, []string{"doctor", "-o", "yaml", f.signed}, exitUsage, `--output must be text or json, not "yaml"`},
			{classRegistryDown, []string{"doctor", f.downImg}, exitRegistry, f.down},
			{classControl, []string{"doctor", f.signed}, exitOK, "Healthy"},
			{classBadSignature, []string{"doctor", damaged}, exitInvalid, "other-subject"},
			{classControl, []string{"doctor", "--fix", damaged}, exitOK, "Repaired 1 fallback index"},
		},
		"signet inspect": {
			{classMalformedRef, []string{"inspect", f.bad}, exitUsage, "repository names must be lower case: Team/App"},
			{classBadPolicy, []string{"inspect", "--policy", f.badPol, f.signed}, exitError, ""},
			{classRegistryDown, []string{"inspect", f.downImg}, exitRegistry, f.down},
			// Inspect shows; it does not gate (its help says so).
			{classNoSignatures, []string{"inspect", f.unsigned}, exitOK, "NOT verified"},
			{classDenied, []string{"inspect", "--policy", f.pol, f.unsigned}, exitOK, "denied"},
		},
		"signet keys": nil,
		"signet keys generate": {
			{classBadFlagValue, []string{"keys", "generate", "--type", "dsa", "--output-prefix", f.path("k")}, exitUsage, "dsa"},
			{classBadInput, []string{"keys", "generate", "--output-prefix", f.release}, exitError, "already exists"},
		},
		"signet keys public": {
			{classKeyFile, []string{"keys", "public", "--key", nokey}, exitError, nokey},
			{classBadFlagValue, []string{"keys", "public"}, exitUsage, "--key is required"},
		},
		"signet lock": {
			{classMalformedRef, []string{"lock", "--file", lockFile, f.bad}, exitUsage, "repository names must be lower case: Team/App"},
			{classBadInput, []string{"lock", "--file", garbage, f.host + "/team/app:v1"}, exitError, ""},
			{classRegistryDown, []string{"lock", "--file", lockFile, f.downImg}, exitRegistry, f.down},
		},
		"signet log":      nil,
		"signet log info": {{classBadInput, []string{"log", "info", "--dir", f.path("no-log")}, exitError, "no-log"}},
		"signet log serve": {
			{classBadInput, []string{"log", "serve", "--addr", "127.0.0.1:0", "--dir", f.blob}, exitError, ""},
			{classBadFlagValue, []string{"log", "serve", "--addr", "127.0.0.1:0", "--dir", f.path("log"), "--storage", "postgres://u@h:1/d"}, exitUsage, "--storage must be mysql://"},
			{classBadFlagValue, []string{"log", "serve", "--addr", "127.0.0.1:0", "--dir", f.path("log"), "--url", "log.example.com"}, exitUsage, "--url \"log.example.com\""},
			{classServiceDown, []string{"log", "serve", "--addr", "127.0.0.1:0", "--dir", f.path("log"), "--storage", "mysql://u:s3cret@" + f.down + "/d"}, exitRegistry, "u@" + f.down + "/d"},
		},
		"signet log verify": {
			{classBadFlagValue, []string{"log", "verify", "--url", "http://" + f.down}, exitUsage, "--url, --public-key and --state are required"},
			{classKeyFile, []string{"log", "verify", "--url", "http://" + f.down, "--public-key", f.missing + ".pub", "--state", f.path("state")}, exitError, "missing.pub"},
			{classServiceDown, []string{"log", "verify", "--url", "http://" + f.down, "--public-key", pub, "--state", f.path("state")}, exitRegistry, f.down},
		},
		"signet policy": {{classWrongArgs, []string{"policy", "nope"}, exitUsage, `unknown command "nope" for "signet policy"`}},
		"signet policy explain": {
			{classMalformedRef, []string{"policy", "explain", f.pol, f.bad}, exitUsage, "repository names must be lower case: Team/App"},
			{classBadPolicy, []string{"policy", "explain", f.badPol, f.signed}, exitError, ""},
			{classControl, []string{"policy", "explain", f.pol, f.signed}, exitOK, "→ applies"},
		},
		"signet policy validate": {
			{classBadPolicy, []string{"policy", "validate", f.badPol}, exitError, "line 5"},
			{classBadInput, []string{"policy", "validate", f.path("none.yaml")}, exitError, "none.yaml"},
		},
		"signet policy import": {
			{classBadInput, []string{"policy", "import", f.path("none.yaml")}, exitError, "none.yaml"},
			{classBadInput, []string{"policy", "import", f.pol}, exitError, "no image verification policy found"},
			{classBadInput, []string{"policy", "import", garbage}, exitError, "unreadable input"},
			{classBadFlagValue, []string{"policy", "import", "-o", "text", cip}, exitUsage, "--output must be yaml or json"},
			{classControl, []string{"policy", "import", cip}, exitOK, "pattern: registry.example.com/team/**"},
		},
		"signet provenance":          nil,
		"signet provenance generate": {{classBadFlagValue, []string{"provenance", "generate", "--param", "novalue"}, exitUsage, "not key=value"}},
		"signet quickstart":          nil,
		"signet registry":            nil,
		"signet registry serve":      nil,
		"signet sign": {
			{classMalformedRef, []string{"sign", "--key", key, f.bad}, exitUsage, "repository names must be lower case: Team/App"},
			{classKeyFile, []string{"sign", "--no-tlog", "--key", nokey, f.signed}, exitError, nokey},
			{classBadFlagValue, []string{"sign", "--no-tlog", "--key", key, "--registry-layout", "sideways", f.signed}, exitUsage, "sideways"},
			{classRegistryDown, []string{"sign", "--no-tlog", "--key", key, f.downImg}, exitRegistry, f.down},
			{classLogDown, with(logDown, "sign", "--key", key, f.signed), exitRegistry, f.down},
			{classLogDown, []string{"sign", "--key", key, "--tlog-url", "http://" + f.down, f.signed}, exitRegistry, f.down},
		},
		"signet sign-blob": {
			{classKeyFile, []string{"sign-blob", "--no-tlog", "--key", nokey, "--bundle", f.path("b.json"), f.blob}, exitError, nokey},
			{classBadInput, []string{"sign-blob", "--no-tlog", "--key", key, "--bundle", f.path("b.json"), f.path("nothing")}, exitError, "nothing"},
			{classLogDown, with(logDown, "sign-blob", "--key", key, "--bundle", f.path("b.json"), f.blob), exitRegistry, f.down},
		},
		"signet tag": nil,
		"signet tag init": {
			{classMalformedRef, []string{"tag", "init", "--root-key", key, "--key", key, f.host + "/Team/App"}, exitUsage, "Team/App"},
			{classKeyFile, []string{"tag", "init", "--root-key", key, "--key", nokey, f.host + "/team/heads"}, exitError, nokey},
			{classRegistryDown, []string{"tag", "init", "--no-tlog", "--root-key", key, "--key", key, f.down + "/team/app"}, exitRegistry, f.down},
			{classLogDown, with(logDown, "tag", "init", "--root-key", key, "--key", key, f.host+"/team/heads"), exitRegistry, f.down},
		},
		"signet tag ls": {
			{classMalformedRef, []string{"tag", "ls", f.host + "/Team/App"}, exitUsage, "Team/App"},
			{classRegistryDown, []string{"tag", "ls", f.down + "/team/app"}, exitRegistry, f.down},
		},
		"signet tag refresh": {
			{classMalformedRef, []string{"tag", "refresh", "--key", key, f.host + "/Team/App"}, exitUsage, "Team/App"},
			{classKeyFile, []string{"tag", "refresh", "--key", nokey, f.host + "/team/app"}, exitError, nokey},
			{classRegistryDown, []string{"tag", "refresh", "--no-tlog", "--key", key, f.down + "/team/app"}, exitRegistry, f.down},
		},
		"signet tag sign": {
			{classMalformedRef, []string{"tag", "sign", "--key", key, f.bad}, exitUsage, "repository names must be lower case: Team/App"},
			{classKeyFile, []string{"tag", "sign", "--key", nokey, f.host + "/team/app:v1"}, exitError, nokey},
			{classRegistryDown, []string{"tag", "sign", "--no-tlog", "--key", key, f.downImg}, exitRegistry, f.down},
			{classNoSignatures, []string{"tag", "sign", "--no-tlog", "--key", key, f.host + "/team/app:unsigned"}, exitNoSignatures, "no signatures found"},
			{classBadSignature, []string{"tag", "sign", "--no-tlog", "--key", key, "--signature-key", pub, f.host + "/team/app:forged"}, exitInvalid, "refusing to sign the head"},
			{classLogDown, with(logDown, "tag", "sign", "--key", key, f.host+"/team/app:v1"), exitRegistry, f.down},
		},
		"signet config": {
			{classBadFlagValue, []string{"config", "-o", "yaml"}, exitUsage, `--output must be text or json, not "yaml"`},
			{classControl, []string{"config"}, exitOK, "SIGNET_HOME"},
		},
		"signet config unset": {
			{classBadFlagValue, []string{"config", "unset", "nope"}, exitUsage, `cannot unset "nope"`},
			{classControl, []string{"config", "unset", "tuf"}, exitOK, "was not there"},
		},
		"signet trust": nil,
		"signet trust create": {
			{classBadFlagValue, []string{"trust", "create", "--rekor", "url", "--out", f.path("tr.json")}, exitUsage, "not key=value"},
			{classKeyFile, []string{"trust", "create", "--rekor", "url=http://log.example,public-key=" + f.missing + ".pub", "--out", f.path("tr.json")}, exitError, "missing.pub"},
		},
		"signet trust bundle": nil,
		"signet trust bundle create": {
			{classKeyFile, []string{"trust", "bundle", "create", "--version", "1", "--key", nokey, "-o", f.path("tb-x")}, exitError, nokey},
			{classBadPolicy, []string{"trust", "bundle", "create", "--version", "1", "--policy", f.badPol, "-o", f.path("tb-x")}, exitError, "bad.yaml"},
			{classBadFlagValue, []string{"trust", "bundle", "create", "--key", pub, "-o", f.path("tb-x")}, exitUsage, "--version N"},
			{classControl, []string{"trust", "bundle", "create", "--version", "2", "--key", pub, "-o", f.path("tb-2")}, exitOK, "Wrote trust bundle version 2"},
		},
		"signet trust bundle push": {
			{classMalformedRef, []string{"trust", "bundle", "push", tb, "oci://" + f.host + "/Trust/Bundle:v1", "--root-key", key}, exitUsage, "Trust/Bundle"},
			{classBadFlagValue, []string{"trust", "bundle", "push", tb, "oci://" + f.host + "/trust/bundle", "--root-key", key}, exitUsage, "with its tag"},
			{classKeyFile, []string{"trust", "bundle", "push", tb, "oci://" + f.host + "/trust/bundle:v2", "--root-key", nokey}, exitError, nokey},
			{classBadInput, []string{"trust", "bundle", "push", f.dir, "oci://" + f.host + "/trust/bundle:v2", "--root-key", key}, exitError, "not a trust bundle directory"},
			{classRegistryDown, []string{"trust", "bundle", "push", tb, "oci://" + f.down + "/trust/bundle:v1", "--root-key", key}, exitRegistry, f.down},
		},
		"signet trust bundle pull": {
			{classMalformedRef, []string{"trust", "bundle", "pull", "oci://" + f.host + "/Trust/Bundle:v1", f.path("tb-pulled"), "--root", tbRoot}, exitUsage, "Trust/Bundle"},
			{classRegistryDown, []string{"trust", "bundle", "pull", "oci://" + f.down + "/trust/bundle:v1", f.path("tb-pulled"), "--root", tbRoot}, exitRegistry, f.down},
			{classBadSignature, []string{"trust", "bundle", "pull", "oci://" + f.host + "/team/app:v1", f.path("tb-pulled"), "--root", tbRoot}, exitInvalid, "trust bundle [not-signed]: the metadata of " + f.host + "/team/app signs no trust-bundles/v1"},
		},
		"signet trust bundle verify": {
			{classMalformedRef, []string{"trust", "bundle", "verify", "oci://" + f.host + "/Trust/Bundle:v1", "--root", tbRoot}, exitUsage, "Trust/Bundle"},
			{classBadFlagValue, []string{"trust", "bundle", "verify", "oci://" + f.host + "/trust/bundle:v1"}, exitUsage, "--root is required"},
			{classRegistryDown, []string{"trust", "bundle", "verify", "oci://" + f.down + "/trust/bundle:v1", "--root", tbRoot}, exitRegistry, f.down},
			{classBadSignature, []string{"trust", "bundle", "verify", "oci://" + f.host + "/team/app:v1", "--root", tbRoot}, exitInvalid, "trust bundle [not-signed]"},
			{classControl, []string{"trust", "bundle", "verify", "oci://" + f.host + "/trust/bundle:v1", "--root", tbRoot}, exitOK, "version 1"},
		},
		"signet trust bundle ls": {
			{classMalformedRef, []string{"trust", "bundle", "ls", "oci://" + f.host + "/Trust/Bundle:v1"}, exitUsage, "Trust/Bundle"},
			{classRegistryDown, []string{"trust", "bundle", "ls", "oci://" + f.down + "/trust/bundle:v1"}, exitRegistry, f.down},
			{classBadInput, []string{"trust", "bundle", "ls", f.dir}, exitError, "not a trust bundle directory"},
			{classControl, []string{"trust", "bundle", "ls", tb}, exitOK, "release.pub"},
		},
		"signet trust init": {
			{classBadFlagValue, []string{"trust", "init", "--mirror", "http://" + f.down}, exitUsage, "give both --mirror and --root"},
			{classBadInput, []string{"trust", "init", "--mirror", "http://" + f.down, "--root", f.path("root.json")}, exitError, "root.json"},
		},
		"signet verify": {
			{classMalformedRef, []string{"verify", "--key", pub, f.signed, f.bad}, exitUsage, "repository names must be lower case: Team/App"},
			{classMalformedRef, []string{"verify", "--policy", f.pol, f.bad}, exitUsage, "repository names must be lower case: Team/App"},
			{classKeyFile, []string{"verify", "--key", f.missing + ".pub", f.signed}, exitError, "missing.pub"},
			{classBadFlagValue, []string{"verify", "--key", pub, "--tlog", "sometimes", f.signed}, exitUsage, "sometimes"},
			{classBadPolicy, []string{"verify", "--policy", f.badPol, f.signed}, exitError, ""},
			{classRegistryDown, []string{"verify", "--key", pub, f.downImg}, exitRegistry, f.down},
			{classRegistryDown, []string{"verify", "--policy", f.pol, f.downImg}, exitRegistry, f.down},
			{classNoSignatures, []string{"verify", "--key", pub, f.unsigned}, exitNoSignatures, "no signatures found"},
			{classNoSignatures, []string{"verify", "--policy", f.pol, f.unsigned}, exitPolicyDenied, "signatures [not-found]"},
			{classBadSignature, []string{"verify", "--key", pub, f.forged}, exitInvalid, "NOT verified"},
			{classBadSignature, []string{"verify", "--policy", f.pol, f.forged}, exitPolicyDenied, "signatures [invalid]"},
			{classDenied, []string{"verify", "--policy", f.pol, f.elsewhere}, exitPolicyDenied, "no rule matches"},
			{classRevoked, []string{"verify", "--key", pub, "--recalls", f.recalls, f.signed}, exitRevoked, "recalled for the exit code test"},
			{classRevoked, []string{"verify", "--policy", f.pol, "--recalls", f.recalls, f.signed}, exitRevoked, "recall [revoked]"},
			{classBadInput, []string{"verify", "--key", pub, "--recalls", f.pol, f.signed}, exitError, "invalid recall list"},
			{classControl, []string{"verify", "--key", pub, f.signed}, exitOK, "verified"},
			{classControl, []string{"verify", "--policy", f.pol, f.signed}, exitOK, "ALLOWED"},
		},
		"signet verify-attestation": {
			{classMalformedRef, []string{"verify-attestation", "--key", pub, "--type", "vuln", f.bad}, exitUsage, "repository names must be lower case: Team/App"},
			{classKeyFile, []string{"verify-attestation", "--key", f.missing + ".pub", "--type", "vuln", f.signed}, exitError, "missing.pub"},
			{classBadFlagValue, []string{"verify-attestation", "--key", pub, "--type", "vuln", "--condition", "predicate.(", f.signed}, exitUsage, "invalid condition"},
			{classRegistryDown, []string{"verify-attestation", "--key", pub, "--type", "vuln", f.downImg}, exitRegistry, f.down},
			{classNoSignatures, []string{"verify-attestation", "--key", pub, "--type", "vuln", f.signed}, exitNoSignatures, ""},
			{classBadSignature, []string{"verify-attestation", "--key", pub, "--type", "vuln", f.forged}, exitInvalid, "NOT verified"},
			{classRevoked, []string{"verify-attestation", "--key", pub, "--type", "vuln", "--recalls", f.recalls, f.signed}, exitRevoked, "recalled for the exit code test"},
			{classControl, []string{"verify-attestation", "--key", opub, "--type", "vuln", f.forged}, exitOK, "verified"},
		},
		"signet verify-blob": {
			{classMalformedRef, []string{"verify-blob", "--key", opub, "--bundle", f.forgedBundle, "sha256:abc"}, exitUsage, "sha256:abc"},
			{classKeyFile, []string{"verify-blob", "--key", f.missing + ".pub", "--bundle", f.forgedBundle, f.blob}, exitError, "missing.pub"},
			{classBadInput, []string{"verify-blob", "--key", opub, "--bundle", f.path("none.json"), f.blob}, exitError, "none.json"},
			{classBadSignature, []string{"verify-blob", "--key", pub, "--bundle", f.forgedBundle, f.blob}, exitInvalid, "NOT verified"},
			{classControl, []string{"verify-blob", "--key", opub, "--bundle", f.forgedBundle, f.blob}, exitOK, "verified"},
		},
		"signet version": {{classBadFlagValue, []string{"version", "-o", "yaml"}, exitUsage, "yaml"}},
	}
}

// exempt are classes a command's flags suggest but it cannot meet, and why.
var exempt = map[string]map[string]string{
	"signet admission serve": {classRegistryDown: "it serves: a registry outage is answered per review, by the failure mode",
		classDenied: "it serves: denials are its answers"},
	"signet gate serve": {classRegistryDown: "it serves: a registry outage is recorded per push",
		classLogDown: "it serves: a log outage is recorded per push", classDenied: "it serves: denials are recorded per push"},
	"signet tag refresh": {classLogDown: "it re-signs the timestamp only; what is logged, a new targets version, is made by tag init and tag sign"},
	"signet trust bundle create": {
		classDenied: "it packs policies into a bundle: it judges no image"},
	"signet verify-blob": {classNoSignatures: "the bundle is given: an unreadable one is a bad input file, one that does not verify a bad signature"},
}

// requiredClasses are the classes a command's interface says it can meet.
func requiredClasses(c *cobra.Command) []string {
	has := func(flag string) bool { return c.Flags().Lookup(flag) != nil }
	var cs []string
	if strings.Contains(c.Use, "IMAGE") || strings.Contains(c.Use, "REPO") {
		cs = append(cs, classMalformedRef)
	}
	if has("key") {
		cs = append(cs, classKeyFile)
	}
	if has("policy") {
		cs = append(cs, classBadPolicy, classDenied)
	}
	if has("allow-insecure-registry") {
		cs = append(cs, classRegistryDown)
	}
	if has("tlog-url") {
		cs = append(cs, classLogDown)
	}
	if strings.HasPrefix(c.Name(), "verify") && has("key") {
		cs = append(cs, classNoSignatures, classBadSignature)
	}
	return cs
}

// TestExitCodesEveryCommand walks the command tree and runs every command
// against each error class it can meet — an unknown flag and a wrong number
// of arguments always; a malformed image reference, an unreadable key file,
// an invalid policy, a registry or log that is down, no signatures, a bad
// signature, a policy denial as its interface allows — and checks the exit
// code against the one table (exitcode.go).
func TestExitCodesEveryCommand(t *testing.T) {
	f := newExitFixture(t)
	rows := exitRows(t, f)
	seen := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := c.CommandPath()
		words := strings.Fields(path)[1:]
		seen[path] = true
		mine, listed := rows[path]
		if !listed {
			t.Errorf("%s has no rows in exitRows: add the error classes it can meet", path)
		}
		generic := []exitRow{{classUnknownFlag, with(words, "--no-such-flag"), exitUsage, "unknown flag: --no-such-flag"}}
		switch {
		case c.Args == nil:
			t.Errorf("%s accepts any arguments: give it an argument check", path)
		case c.Args(c, nil) != nil:
			generic = append(generic, exitRow{classWrongArgs, words, exitUsage, ""})
		case c.Args(c, []string{"x", "y", "z"}) != nil:
			generic = append(generic, exitRow{classWrongArgs, with(words, "x", "y", "z"), exitUsage, ""})
		}
		for _, class := range requiredClasses(c) {
			if _, ok := exempt[path][class]; !ok && !slices.ContainsFunc(mine, func(r exitRow) bool { return r.class == class }) {
				t.Errorf("%s can meet %q: add a row for it to exitRows (or to exempt, with the reason)", path, class)
			}
		}
		for _, r := range append(generic, mine...) {
			t.Run(strings.Join(append(words, r.class), " "), func(t *testing.T) {
				out, stderr, code := signet(t, r.args...)
				if code != r.want || !strings.Contains(out+stderr, r.text) {
					t.Errorf("signet %s: exit %d, want %d (%s) with %q:\n%s%s", strings.Join(r.args, " "), code, r.want, r.class, r.text, out, stderr)
				}
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(&streams{}))
	for path := range rows {
		if !seen[path] {
			t.Errorf("exitRows lists %s, which is not a command", path)
		}
	}
}

func with(a []string, more ...string) []string { return append(slices.Clone(a), more...) }

// TestExitCode maps each kind of error to its code: the table, one error at a time.
func TestExitCode(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, exitOK},
		{"usage", usageError{errors.New("bad flag")}, exitUsage},
		{"usage wrapping a registry error", usageError{oci.ErrRegistry}, exitUsage},
		{"registry", fmt.Errorf("resolving: %w: %w", oci.ErrRegistry, errors.New("500")), exitRegistry},
		{"image not found", fmt.Errorf("resolving: %w", oci.ErrNotFound), exitRegistry},
		{"log down while signing", fmt.Errorf("signing: %w: %w", sign.ErrTransparencyLog, fmt.Errorf("getting response: %w", refused)), exitRegistry},
		{"log refusing the entry", fmt.Errorf("signing: %w: %w", sign.ErrTransparencyLog, errors.New("unexpected response: 400")), exitError},
		{"timeout", fmt.Errorf("fetching: %w", timeoutError{}), exitRegistry},
		{"no signatures", &verify.Error{Image: "i", Digest: "d"}, exitNoSignatures},
		{"none valid", &verify.Error{Image: "i", Digest: "d", Reasons: []error{verify.ErrBadSignature}}, exitInvalid},
		{"none valid, one unreadable", &verify.Error{Image: "i", Digest: "d", Reasons: []error{verify.ErrBadSignature, fmt.Errorf("%w: %w", verify.ErrUnreadable, oci.ErrRegistry)}}, exitRegistry},
		{"policy denied", reported{errPolicyDenied}, exitPolicyDenied},
		{"bad file", fmt.Errorf("reading key: %w", os.ErrNotExist), exitError},
		{"already reported", reported{verify.ErrNoSignatures}, exitNoSignatures},
		{"several images", silentError{exitInvalid}, exitInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exitCode(tc.err); got != tc.want {
				t.Fatalf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// TestDecisionError: under a policy every denial is 6 whatever check failed;
// only a registry that could not answer is 5.
func TestDecisionError(t *testing.T) {
	check := func(name string, o verify.Outcome, c verify.Class) verify.PolicyCheck {
		return verify.PolicyCheck{Name: name, Outcome: o, Class: c}
	}
	for _, tc := range []struct {
		name string
		d    verify.Decision
		want int
	}{
		{"allowed", verify.Decision{Allowed: true}, exitOK},
		{"warn mode, would be denied", verify.Decision{Allowed: true, Class: verify.ClassInvalid}, exitOK},
		{"no signatures", verify.Decision{Class: verify.ClassNotFound, Checks: []verify.PolicyCheck{check("signatures", verify.Fail, verify.ClassNotFound)}}, exitPolicyDenied},
		{"bad signature", verify.Decision{Class: verify.ClassInvalid, Checks: []verify.PolicyCheck{check("signatures", verify.Fail, verify.ClassInvalid)}}, exitPolicyDenied},
		{"tag rule", verify.Decision{Class: verify.ClassPolicyDenied, Checks: []verify.PolicyCheck{check("tags", verify.Fail, verify.ClassPolicyDenied)}}, exitPolicyDenied},
		{"signed head not signed", verify.Decision{Class: verify.ClassNotFound, Checks: []verify.PolicyCheck{check("signed-head", verify.Fail, verify.ClassNotFound)}}, exitPolicyDenied},
		{"image not in the registry", verify.Decision{Class: verify.ClassNotFound, Checks: []verify.PolicyCheck{check("resolve", verify.Errored, verify.ClassNotFound)}}, exitRegistry},
		{"registry down", verify.Decision{Class: verify.ClassTransient, Checks: []verify.PolicyCheck{check("resolve", verify.Errored, verify.ClassTransient)}}, exitRegistry},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exitCode(decisionError(&tc.d)); got != tc.want {
				t.Fatalf("exit %d, want %d", got, tc.want)
			}
		})
	}
}

// generateKey runs 'signet keys generate --output-prefix prefix' (the
// password from $SIGNET_PASSWORD), failing the test when it fails.
func generateKey(t *testing.T, prefix string) {
	t.Helper()
	if _, stderr, code := signet(t, "keys", "generate", "--output-prefix", prefix); code != exitOK {
		t.Fatalf("keys generate --output-prefix %s: exit %d %s", prefix, code, stderr)
	}
}
