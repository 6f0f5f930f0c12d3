package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/signet-dev/signet/internal/registrytest"
)

func TestInspectCommand(t *testing.T) {
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("SIGNET_HOME", t.TempDir())
	dir := t.TempDir()
	reg := registrytest.New(t, true)
	img := reg.PushImage(t, "team/app:v1")
	key := filepath.Join(dir, "release")
	generateKey(t, key)
	if _, stderr, code := signet(t, "sign", "--no-tlog", "--key", key+".key", img.String()); code != exitOK {
		t.Fatal(stderr)
	}
	if _, stderr, code := signet(t, "attest", "--no-tlog", "--key", key+".key", "--type", "cyclonedx", "--predicate", "../../attest/testdata/sbom.cdx.json", img.String()); code != exitOK {
		t.Fatal(stderr)
	}
	tag := reg.Host + "/team/app:v1"

	out, stderr, code := signet(t, "inspect", tag)
	if code != exitOK || !strings.Contains(out, "signature · referrers API") || !strings.Contains(out, "SBOM CycloneDX 1.5, 2 components") || strings.Contains(out, "\x1b[") {
		t.Fatalf("tree: %d\n%s\n%s", code, out, stderr)
	}

	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte(fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    signers: [{name: release, key: release.pub}]\n", reg.Host+"/team/**")), 0o644)
	html := filepath.Join(dir, "report.html")
	out, stderr, code = signet(t, "inspect", "--policy", pol, "-o", "json", "--html", html, tag)
	if code != exitOK {
		t.Fatalf("json: %d %s", code, stderr)
	}
	var rep struct {
		Subject struct {
			Verdict   struct{ Outcome string }
			Artifacts []struct {
				Kind    string
				Verdict *struct{ Outcome, Signer string }
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Subject.Verdict.Outcome != "allowed" || len(rep.Subject.Artifacts) != 2 || rep.Subject.Artifacts[0].Verdict.Signer != "release" {
		t.Fatalf("json report: %s", out)
	}
	if b, err := os.ReadFile(html); err != nil || !strings.Contains(string(b), "SBOM components") {
		t.Fatalf("html report: %v", err)
	}

	out, _, code = signet(t, "download", "signature", tag)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(lines) != 1 {
		t.Fatalf("download signature: %d\n%s", code, out)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON([]byte(lines[0])); err != nil {
		t.Fatalf("download signature printed no bundle: %v", err)
	}
	unsigned := reg.PushImage(t, "team/app:v2")
	if _, _, code := signet(t, "download", "signature", unsigned.String()); code != exitNoSignatures {
		t.Fatalf("no signatures: exit %d", code)
	}
	if _, _, code := signet(t, "inspect", reg.Host+"/team/missing:v1"); code != exitRegistry {
		t.Fatalf("missing image: exit %d", code)
	}
}
