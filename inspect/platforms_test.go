package inspect_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/signet-dev/signet/inspect"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// TestInspectPlatformVerdicts: with a policy whose rule checks an index
// platform by platform, each platform shows the index decision's verdict
// on it, and its signature the check that used it.
func TestInspectPlatformVerdicts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registrytest.New(t, true)
	client := oci.New()
	idx, plats := reg.PushPlatforms(t, "team/app:v1", v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64"})
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pub, _ := keys.PublicKeyPEM(priv.Public())
	if err := os.WriteFile(filepath.Join(dir, "release.pub"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	sv, _ := keys.SignerVerifier(priv)
	s, err := sign.New(sv, client)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{idx.String(), plats["linux/amd64"].String()} {
		if _, err := s.SignImage(ctx, d, sign.Request{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		mode, index, amd64, arm64 string
	}{
		{"every", "denied", "verified", "refused"},
		{"any", "allowed", "verified", "unverified"},
		{"index", "allowed", "allowed", "denied"}, // each platform judged on its own, by digest
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			c, err := policy.Compile([]byte(`apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "`+reg.Host+`/team/**"
    platforms: `+tc.mode+`
    signers: [{name: release, key: release.pub}]
`), dir, keys.Loader{})
			if err != nil {
				t.Fatal(err)
			}
			e, err := verify.NewEngine(client, c)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := inspect.Inspect(ctx, client, idx.String(), inspect.Options{Engine: e})
			if err != nil {
				t.Fatal(err)
			}
			if got := rep.Subject.Verdict.Outcome; got != tc.index {
				t.Errorf("index: %s, want %s", got, tc.index)
			}
			want := map[string]string{"linux/amd64": tc.amd64, "linux/arm64": tc.arm64}
			for _, p := range rep.Subject.Platforms {
				if p.Verdict == nil || p.Verdict.Outcome != want[p.Platform] {
					t.Errorf("platform %s: %+v, want %s", p.Platform, p.Verdict, want[p.Platform])
					continue
				}
				if tc.mode != "index" && !strings.HasPrefix(p.Verdict.Check, "platform "+p.Platform+" of the index") {
					t.Errorf("platform %s: check %q does not say it is the index's", p.Platform, p.Verdict.Check)
				}
				if p.Platform == "linux/amd64" && tc.mode != "index" && (len(p.Artifacts) != 1 || p.Artifacts[0].Verdict.Outcome != "verified") {
					t.Errorf("linux/amd64's signature: %+v, want verified", p.Artifacts)
				}
			}
		})
	}
}
