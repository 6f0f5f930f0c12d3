package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/registrytest"
)

// TestInputsCheckedBeforeTheKey: attest and sign refuse a bad predicate or
// image reference before they read (or ask for) the key's password, so a
// typo costs no password prompt and no key decryption. The password is
// unset and there is no terminal: reaching the key would fail with "no
// password" instead of naming the bad input.
func TestInputsCheckedBeforeTheKey(t *testing.T) {
	t.Setenv("SIGNET_HOME", t.TempDir())
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("COSIGN_PASSWORD", "")
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	generateKey(t, key)
	os.Unsetenv("SIGNET_PASSWORD")
	os.Unsetenv("COSIGN_PASSWORD")
	reg := registrytest.New(t, true)
	img := reg.PushImage(t, "team/app:v1").String()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := write("empty.json", "")
	blank := write("blank.json", " \n\t\n")
	noType := write("notype.cdx.json", `{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"name": "openssl"}]}`)
	good := "../../attest/testdata/sbom.cdx.json"

	// How a malformed reference exits is the exit-code table's business;
	// here it only has to fail.
	const anyFailure = -1
	cases := []struct {
		name string
		args []string
		code int
		text []string
	}{
		{"empty predicate", []string{"attest", "--no-tlog", "--key", key + ".key", "--type", "vuln", "--predicate", empty, img},
			exitError, []string{"empty.json", "the predicate file is empty"}},
		{"blank predicate", []string{"attest", "--no-tlog", "--key", key + ".key", "--type", "cyclonedx", "--predicate", blank, img},
			exitError, []string{"the predicate file holds only white space"}},
		{"empty statement", []string{"attest", "--no-tlog", "--key", key + ".key", "--statement", empty, img},
			exitError, []string{"the statement file is empty"}},
		{"component without type", []string{"attest", "--no-tlog", "--key", key + ".key", "--type", "cyclonedx", "--predicate", noType, img},
			exitError, []string{"CycloneDX 1.5", `components[0] (name "openssl")`, `required field "type" is missing`}},
		{"attest: malformed reference", []string{"attest", "--no-tlog", "--key", key + ".key", "--type", "cyclonedx", "--predicate", good, reg.Host + "/Team/App:v1"},
			anyFailure, []string{"Team/App"}},
		{"sign: malformed reference", []string{"sign", "--no-tlog", "--key", key + ".key", img, reg.Host + "/Team/App:v1"},
			anyFailure, []string{"Team/App"}},
		// The control: with good inputs the key is reached, and without a
		// password it cannot be used.
		{"good inputs reach the key", []string{"attest", "--no-tlog", "--key", key + ".key", "--type", "cyclonedx", "--predicate", good, img},
			exitError, []string{"no password"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := signet(t, tc.args...)
			for _, want := range tc.text {
				if !strings.Contains(stderr, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			if tc.name != "good inputs reach the key" && strings.Contains(stderr, "password") {
				t.Errorf("the key was reached before the inputs were checked")
			}
			if code == exitOK || (tc.code != anyFailure && code != tc.code) || t.Failed() {
				t.Fatalf("exit %d (want %d):\n%s\n%s", code, tc.code, out, stderr)
			}
		})
	}
	// Nothing was attached by the refused commands.
	if out, _, code := signet(t, "download", "attestation", img); code != exitNoSignatures {
		t.Fatalf("a refused attest attached something: %d\n%s", code, out)
	}
}

// TestConditionFieldTypo: verify-attestation refuses a condition that names
// a field its --type's predicate cannot have, as a usage error before it
// looks at the registry, with the field most likely meant.
func TestConditionFieldTypo(t *testing.T) {
	t.Setenv("SIGNET_HOME", t.TempDir())
	t.Setenv("SIGNET_PASSWORD", "pw")
	key := filepath.Join(t.TempDir(), "k")
	generateKey(t, key)
	// No registry listens here: the condition is refused before it is needed.
	img := "127.0.0.1:1/team/app@sha256:" + strings.Repeat("0", 64)
	for _, tc := range []struct {
		typ, cond, want string
	}{
		{"vuln", "predicate.scanner.reslt.summary.critical == 0", "refers to predicate.scanner.reslt, which a vuln predicate does not have; did you mean predicate.scanner.result?"},
		{"cyclonedx", `predicate.components.exists(c, c.nme == "openssl")`, "did you mean c.name?"},
		{"slsaprovenance1", `predicate.runDetails.builder.ids == "x"`, "did you mean predicate.runDetails.builder.id?"},
	} {
		out, stderr, code := signet(t, "verify-attestation", "--key", key+".pub", "--type", tc.typ, "--condition", tc.cond, img)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s %s: exit %d (want %d), output lacks %q:\n%s\n%s", tc.typ, tc.cond, code, exitUsage, tc.want, out, stderr)
		}
	}
}
