//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	signetkeys "github.com/signet-dev/signet/keys"
)

// localKMSVersion is the pinned local-kms (an AWS KMS-compatible server).
const localKMSVersion = "v0.0.0-20260228092603-2a5e92d09ab6"

// localKMS is a running local-kms behind a TLS front (sigstore's AWS KMS
// client speaks https to an endpoint in the key URI).
type localKMS struct {
	api     string // local-kms itself, plain http
	host    string // the TLS front, host:port for awskms:// URIs
	caFile  string // the TLS front's certificate, for AWS_CA_BUNDLE
	created []string
}

// startLocalKMS runs local-kms (it binds every interface: call it only in a
// private network namespace) and a TLS front on 127.0.0.1.
func startLocalKMS(t *testing.T) *localKMS {
	t.Helper()
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(stateDir, "local-kms")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "PORT="+splitPort(addr), "KMS_DATA_PATH="+data, "KMS_REGION=eu-west-2",
		"KMS_ACCOUNT_ID=111122223333", "KMS_SEED_PATH="+filepath.Join(data, "no-seed.yaml"))
	if _, err := startProcessEnv("local-kms", env, filepath.Join(binDir, "local-kms-"+localKMSVersion, "local-kms")); err != nil {
		t.Fatal(err)
	}
	k := &localKMS{api: "http://" + addr}
	if err := waitHTTP(k.api+"/", 404, 405); err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(k.api)
	front := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
	t.Cleanup(front.Close)
	k.host = strings.TrimPrefix(front.URL, "https://")
	k.caFile = filepath.Join(t.TempDir(), "kms-ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: front.Certificate().Raw})
	if err := os.WriteFile(k.caFile, cert, 0o644); err != nil {
		t.Fatal(err)
	}
	return k
}

// call makes one KMS API call (AWS JSON 1.1) and decodes the answer into out.
func (k *localKMS) call(t *testing.T, action string, in, out any) {
	t.Helper()
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest(http.MethodPost, k.api+"/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "TrentService."+action)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("local-kms %s: %v", action, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("local-kms %s: %s: %s", action, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("local-kms %s: %v: %s", action, err, b)
		}
	}
}

// newVersion creates a P-256 signing key and points alias at it, as
// rotating a KMS key to a new version does; it returns the key's ID.
func (k *localKMS) newVersion(t *testing.T, alias string) string {
	t.Helper()
	var created struct{ KeyMetadata struct{ KeyId string } }
	k.call(t, "CreateKey", map[string]string{"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"}, &created)
	action := "UpdateAlias"
	if len(k.created) == 0 {
		action = "CreateAlias"
	}
	k.call(t, action, map[string]string{"AliasName": alias, "TargetKeyId": created.KeyMetadata.KeyId}, nil)
	k.created = append(k.created, created.KeyMetadata.KeyId)
	return created.KeyMetadata.KeyId
}

// TestKMSRotation signs with a real KMS server: key version 1 behind
// alias/release signs, the alias is rotated to version 2, and a policy with
// one signer per version, each with its window, judges the signatures by
// their RFC 3161 timestamps from a real timestamp authority. Then a recall
// list revokes version 1 from the rotation and recalls one digest.
func TestKMSRotation(t *testing.T) {
	if !inPrivateNetwork(t, "TestKMSRotation") {
		return
	}
	kms := startLocalKMS(t)
	tsaURL, chain := startTSA(t)
	reg := ggcrReg.get(t, startGGCR)
	dir := t.TempDir()
	tsaFile, tr := filepath.Join(dir, "tsa.pem"), filepath.Join(dir, "trusted_root.json")
	os.WriteFile(tsaFile, chain, 0o644)
	env := toolEnv("SIGNET_PASSWORD="+password, "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_REGION=eu-west-2",
		"AWS_CA_BUNDLE="+kms.caFile, "AWS_EC2_METADATA_DISABLED=true")
	run := func(args ...string) result { return runCLI(t, env, tool("signet", ""), args...) }
	expect(t, "signet trust create", run("trust", "create", "--out", tr, "--tsa", "url="+tsaURL+",certificate-chain="+tsaFile), 0)

	alias := "awskms://" + kms.host + "/alias/release"
	uri := func(id string) string { return "awskms://" + kms.host + "/" + id }
	sign := func(what, key string, timestamped bool) string {
		img := pushImage(t, reg.host, "team/app:"+what).String()
		args := []string{"sign", "--no-tlog", "--key", key}
		if timestamped {
			args = append(args, "--timestamp-url", tsaURL)
		}
		expect(t, "signet sign "+what, run(append(args, img)...), 0)
		return img
	}
	v1 := kms.newVersion(t, "alias/release")
	old := sign("old", alias, true)
	// The rotation instant T lies strictly between the timestamps.
	time.Sleep(1100 * time.Millisecond)
	rotation := time.Now().UTC().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(rotation.Add(1100 * time.Millisecond)))
	v2 := kms.newVersion(t, "alias/release")
	fresh := sign("new", alias, true)
	stale := sign("stale", uri(v1), true)
	untimed := sign("untimed", alias, false)

	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, fmt.Appendf(nil, `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "%s/**"
    signers:
      - {name: release-v1, key: "%s", validUntil: "%s"}
      - {name: release-v2, key: "%s", validFrom: "%s"}
`, reg.host, uri(v1), rotation.Format(time.RFC3339), uri(v2), rotation.Format(time.RFC3339)), 0o644)
	verifyPol := func(img string, extra ...string) result {
		return run(append([]string{"verify", "--policy", pol, "--trusted-root", tr}, append(extra, img)...)...)
	}
	t.Logf("rotation at %s: alias/release moved from %s to %s", rotation.Format(time.RFC3339), v1, v2)
	for _, c := range []struct {
		what, img string
		code      int
		says      string
	}{
		{"version 1, timestamped before the rotation", old, 0, "ALLOWED"},
		{"version 2 through the alias, after", fresh, 0, "ALLOWED"},
		{"version 1 by its own URI, after (retired)", stale, 6, "a retired key's new signatures do not count"},
		{"version 2, no timestamp", untimed, 6, "carries no trusted time"},
	} {
		r := verifyPol(c.img)
		t.Logf("%-45s -> exit %d", c.what, r.code)
		expect(t, c.what, r, c.code, c.says)
	}

	// The recall list: version 1 revoked from the rotation, fresh recalled.
	pemV1 := run("keys", "public", "--key", uri(v1))
	expect(t, "signet keys public", pemV1, 0, "PUBLIC KEY")
	pub, err := signetkeys.ParsePublicKey([]byte(pemV1.out))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := signetkeys.ID(pub)
	recalls := filepath.Join(dir, "recalls.yaml")
	_, freshDigest, _ := strings.Cut(fresh, "@")
	os.WriteFile(recalls, fmt.Appendf(nil, "apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: 1\n"+
		"digests: [{digest: %s, reason: built from a poisoned base}]\nkeys: [{keyId: %q, revokedFrom: %q, reason: version 1 exposed}]\n",
		freshDigest, id, rotation.Format(time.RFC3339)), 0o644)
	for _, c := range []struct {
		what, img string
		code      int
		says      string
	}{
		{"recalls: version 1, before the revocation", old, 0, "ALLOWED"},
		{"recalls: the recalled digest", fresh, 7, "built from a poisoned base"},
		{"recalls: version 1, after the revocation", stale, 7, "version 1 exposed"},
	} {
		r := verifyPol(c.img, "--recalls", recalls)
		t.Logf("%-45s -> exit %d", c.what, r.code)
		expect(t, c.what, r, c.code, c.says)
	}
	// --key with the alias (now version 2) and the recall list.
	expect(t, "verify --key alias --recalls, recalled digest", run("verify", "--key", alias, "--trusted-root", tr, "--recalls", recalls, fresh), 7, "recalled")
}
