package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/notarytest"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/internal/sigstoretest"
	"github.com/signet-dev/signet/notary"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
)

// TestSignNotation signs in Notation format from the command line (COSE,
// with a timestamp from the test TSA) and verifies what was attached.
func TestSignNotation(t *testing.T) {
	t.Setenv("SIGNET_HOME", t.TempDir())
	t.Setenv("SIGNET_PASSWORD", "")
	dir := t.TempDir()
	reg := registrytest.New(t, false)
	img := reg.PushImage(t, "team/app:v1")
	pki := notarytest.New(t, "Acme CA", "Release")
	key, chain, tsaRoot := filepath.Join(dir, "release.key"), filepath.Join(dir, "chain.pem"), filepath.Join(dir, "tsa.pem")
	pki.WriteKey(t, key)
	write(t, chain, string(notarytest.PEM(pki.Chain...)))
	tsa := sigstoretest.Start(t)
	write(t, tsaRoot, string(notarytest.PEM(tsa.TSARoot())))

	out, stderr, code := signet(t, "sign", "--format", "notation", "--envelope", "cose", "--key", key, "--certificate-chain", chain,
		"--timestamp-url", tsa.TSAURL, "--timestamp-root", tsaRoot, "--expiry", "24h", "-a", "git=abc", "-o", "json", img.String())
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	var res []sign.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 || len(res[0].Signed) != 1 || res[0].Signed[0].Attached[0].Layout != oci.LayoutFallbackTag {
		t.Fatalf("json %s: %v", out, err)
	}
	ctx := context.Background()
	client := oci.New()
	target, err := client.Resolve(ctx, img.String())
	if err != nil {
		t.Fatal(err)
	}
	arts, err := client.Discover(ctx, target)
	if err != nil || len(arts) != 1 || arts[0].Kind != oci.KindNotation || arts[0].MediaType != notary.MediaTypeCOSE {
		t.Fatalf("artifacts %+v %v", arts, err)
	}
	v, err := notary.NewVerifier([]notary.Principal{{Name: "release", Certificates: []*x509.Certificate{pki.CA}, TSA: []*x509.Certificate{tsa.TSARoot()}, Revocation: "skip"}})
	if err != nil {
		t.Fatal(err)
	}
	o, err := v.Verify(ctx, sign.ManifestDescriptor(target), img.String(), arts[0].Content, arts[0].MediaType)
	if err != nil || o.Timestamp.IsZero() {
		t.Fatalf("verify: %+v %v", o, err)
	}
	info, err := notary.Describe(arts[0].Content, arts[0].MediaType)
	if err != nil || info.Target.Annotations["git"] != "abc" || info.Expiry.IsZero() {
		t.Fatalf("describe: %+v %v", info, err)
	}
}

func TestSignNotationRefusals(t *testing.T) {
	t.Setenv("SIGNET_HOME", t.TempDir())
	t.Setenv("SIGNET_PASSWORD", "")
	dir := t.TempDir()
	reg := registrytest.New(t, true)
	img := reg.PushImage(t, "team/app:v1").String()
	pki, other := notarytest.New(t, "Acme CA", "Release"), notarytest.New(t, "Other CA", "Other")
	key, chain, otherChain := filepath.Join(dir, "release.key"), filepath.Join(dir, "chain.pem"), filepath.Join(dir, "other.pem")
	pki.WriteKey(t, key)
	write(t, chain, string(notarytest.PEM(pki.Chain...)))
	write(t, otherChain, string(notarytest.PEM(other.Chain...)))
	notation := []string{"sign", "--format", "notation", "--key", key, "--certificate-chain", chain}
	tests := []struct {
		name string
		args []string
		want int
		text string
	}{
		{"legacy layout", append(notation, "--registry-layout", "legacy", img), exitUsage, "--registry-layout legacy: signatures in Notation format are stored as OCI referrers only"},
		{"both layouts", append(notation, "--registry-layout", "both", img), exitUsage, "stored as OCI referrers only"},
		{"key not the leaf's", []string{"sign", "--format", "notation", "--key", key, "--certificate-chain", otherChain, img}, exitError, `the key does not match the chain's first certificate "CN=Other,O=Acme,ST=WA,C=US"`},
		{"no chain", []string{"sign", "--format", "notation", "--key", key, img}, exitUsage, "--format notation needs --key and --certificate-chain"},
		{"chain without notation", []string{"sign", "--key", key, "--certificate-chain", chain, img}, exitUsage, "--certificate-chain is for --format notation"},
		{"a log", append(notation, "--tlog-url", "http://127.0.0.1:1", img), exitUsage, "--tlog-url is for Sigstore signatures"},
		{"bad envelope", append(notation, "--envelope", "xml", img), exitUsage, `unknown --envelope "xml"`},
		{"bad format", []string{"sign", "--format", "gpg", "--key", key, img}, exitUsage, `unknown --format "gpg"`},
		{"TSA without roots", append(notation, "--timestamp-url", "http://127.0.0.1:1", img), exitUsage, "--timestamp-url and --timestamp-root go together"},
		{"unreadable chain", []string{"sign", "--format", "notation", "--key", key, "--certificate-chain", filepath.Join(dir, "none.pem"), img}, exitError, "none.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, code := signet(t, tt.args...)
			if code != tt.want || !strings.Contains(stderr, tt.text) {
				t.Fatalf("exit %d, want %d with %q\n%s%s", code, tt.want, tt.text, out, stderr)
			}
		})
	}
	arts, err := oci.New().Discover(context.Background(), mustTarget(t, img))
	if err != nil || len(arts) != 0 {
		t.Fatalf("something was attached: %+v %v", arts, err)
	}
}

func mustTarget(t *testing.T, ref string) *oci.Target {
	t.Helper()
	tg, err := oci.New().Resolve(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}
