package policy_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/policy"
)

var pubPEM = func() string {
	b, err := os.ReadFile("../keys/testdata/cosign.pub")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

func compile(t *testing.T, doc string) (*policy.Compiled, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "release.pub"), []byte(pubPEM), 0o644); err != nil {
		t.Fatal(err)
	}
	return policy.Compile([]byte(doc), dir, keys.Loader{})
}

const header = "apiVersion: signet.dev/v1alpha1\nkind: Policy\n"

func TestMatchingPrecedence(t *testing.T) {
	t.Parallel()
	c, err := compile(t, header+`images:
  - pattern: "registry.example.com/**"
    signers: [{name: a, key: release.pub}]
  - pattern: "registry.example.com/team/**"
    signers: [{name: a, key: release.pub}]
  - pattern: "registry.example.com/team/app:*"
    signers: [{name: a, key: release.pub}]
  - pattern: "registry.example.com/team/*"
    signers: [{name: a, key: release.pub}]
`)
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{
		"registry.example.com/team/app:v1":       "registry.example.com/team/app:*",
		"registry.example.com/team/sub/app:v1":   "registry.example.com/team/**",
		"registry.example.com/other/app:v1":      "registry.example.com/**",
		"registry.example.com/team/db@" + digest: "registry.example.com/team/*",
		"other.example.com/team/app:v1":          "",
	} {
		r, err := c.Match(ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		got := ""
		if r != nil {
			got = r.Pattern
		}
		if got != want {
			t.Errorf("%s: rule %q, want %q", ref, got, want)
		}
	}
}

func TestErrorsNameFieldAndLine(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, doc string
		want      []string
	}{
		{"unknown field", header + "images:\n  - pattern: a/**\n    signerz: []\n", []string{"line 5", "signerz"}},
		{"bad CEL at load", header + `images:
  - pattern: a/**
    signers: [{name: a, key: release.pub}]
    attestations:
      - predicateType: vuln
        condition: "predicate.("
`, []string{"line 8", "images[0].attestations[0].condition", "invalid condition"}},
		{"non-bool CEL", header + `images:
  - pattern: a/**
    signers: [{name: a, key: release.pub}]
    attestations: [{predicateType: vuln, condition: "1 + 1"}]
`, []string{"images[0].attestations[0].condition", "not a bool"}},
		{"threshold 0 without attestations", header + `images:
  - pattern: a/**
    threshold: 0
    signers: [{name: a, key: release.pub}]
`, []string{"images[0].threshold", "would admit any image"}},
		{"threshold without signers", header + `images:
  - pattern: a/**
    threshold: 0
`, []string{"images[0].threshold", "no signers to count"}},
		{"threshold too high", header + `images:
  - pattern: a/**
    threshold: 3
    signers: [{name: a, key: release.pub}]
`, []string{"line 5", "images[0].threshold", "between 0 (attestations only) and 1, the number of signers listed"}},
		{"unknown signer in attestation", header + `images:
  - pattern: a/**
    signers: [{name: a, key: release.pub}]
    attestations: [{predicateType: cyclonedx, signers: [b]}]
`, []string{"images[0].attestations[0].signers[0]", `no signer named "b"`}},
		{"missing key file", header + `images:
  - pattern: a/**
    signers: [{name: a, key: nope.pub}]
`, []string{"line 5", "images[0].signers[0].key"}},
		{"bad mode and version", "apiVersion: v2\nkind: Policy\nimages:\n  - pattern: a/**\n    mode: strict\n", []string{"line 1: apiVersion", "line 5: images[0].mode"}},
		{"bad predicate type", header + `images:
  - pattern: a/**
    signers: [{name: a, key: release.pub}]
    attestations: [{predicateType: sbomz}]
`, []string{"predicateType", "neither one of"}},
		{"bad maxAge", header + `images:
  - pattern: a/**
    signers: [{name: a, key: release.pub}]
    attestations: [{predicateType: vuln, maxAge: 7d}]
`, []string{"maxAge", "positive duration"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compile(t, tc.doc)
			if !errors.Is(err, policy.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestJSONAndInlineKeys(t *testing.T) {
	t.Parallel()
	c, err := compile(t, `{"apiVersion":"signet.dev/v1alpha1","kind":"Policy","defaultAction":"allow",
 "images":[{"pattern":"r/**","signers":[{"name":"inline","publicKey":`+strings.ReplaceAll(strings.TrimSpace(`"`+strings.ReplaceAll(pubPEM, "\n", `\n`)+`"`), "\n", "")+`}]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if !c.DefaultAllow || c.Rules[0].Signers[0].PublicKey == nil || c.Hash == "" {
		t.Fatalf("%+v", c)
	}
}

func FuzzCompile(f *testing.F) {
	f.Add([]byte(header + "images:\n  - pattern: a/**\n    signers: [{name: a, publicKey: \"x\"}]\n"))
	f.Add([]byte(header + "images:\n  - pattern: a/**\n    tags: {digestRequired: true, allowedTags: ['v*']}\n"))
	f.Add([]byte(`{"apiVersion":"signet.dev/v1alpha1","kind":"Policy","images":[]}`))
	f.Add([]byte(header + "images:\n  - pattern: a/**\n    signers: [{name: n, notation: {certificates: \"-----BEGIN CERTIFICATE-----\\nMAA=\\n-----END CERTIFICATE-----\\n\", subject: 'CN=a\\,b,O=\\\"q\\\",ST=s+x,C=US'}}]\n"))
	f.Add([]byte(header + "images:\n  - pattern: a/**\n    signers: [{name: g, github: {workflow: a/b/.github/workflows/c.yml@refs/heads/main, owner: a, host: h.ghe.com}}]\n"))
	f.Add([]byte(header + "images:\n  - pattern: a/**\n    platforms: every\n    platformFilter: [linux/amd64, linux/arm/v7]\n    signers: [{name: a, publicKey: \"x\"}]\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := policy.Compile(doc, t.TempDir(), keys.Loader{})
		if err != nil {
			if !errors.Is(err, policy.ErrInvalid) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if len(c.Rules) == 0 {
			t.Fatal("compiled a policy with no rules")
		}
	})
}

func TestExamplePoliciesCompile(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../examples/policies/*.yaml")
	files = append(files, "../examples/registry-gate/policy.yaml")
	if len(files) < 5 {
		t.Fatalf("found %d example policies", len(files))
	}
	for _, f := range files {
		if _, err := policy.Load(f, keys.Loader{}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
