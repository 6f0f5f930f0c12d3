package admission_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// TestPlatformsAnyWarns: an index admitted under platforms: any with an
// unsigned platform is allowed with a warning naming that platform; under
// every it is denied naming it.
func TestPlatformsAnyWarns(t *testing.T) {
	t.Parallel()
	e := setup(t, "enforce")
	idx, plats := e.reg.PushPlatforms(t, "team/multi:v1", v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64"})
	dir := t.TempDir()
	priv, _ := keys.Generate(keys.ECDSAP256)
	pub, _ := keys.PublicKeyPEM(priv.Public())
	if err := os.WriteFile(filepath.Join(dir, "release.pub"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	sv, _ := keys.SignerVerifier(priv)
	s, _ := sign.New(sv, oci.New())
	if _, err := s.SignImage(context.Background(), plats["linux/amd64"].String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode    string
		allowed bool
	}{{"any", true}, {"every", false}} {
		doc := fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    platforms: %s\n    signers: [{name: release, key: release.pub}]\n", e.reg.Host+"/team/**", tc.mode)
		c, err := policy.Compile([]byte(doc), dir, keys.Loader{})
		if err != nil {
			t.Fatal(err)
		}
		eng, err := verify.NewEngine(oci.New(), c)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewTLSServer(admission.New(eng).Handler())
		t.Cleanup(srv.Close)
		resp, _ := post(t, &env{srv: srv}, "/validate", review("Pod", workload("Pod", idx.String())))
		if resp.Allowed != tc.allowed {
			t.Fatalf("%s: allowed %v, want %v: %+v", tc.mode, resp.Allowed, tc.allowed, resp.Result)
		}
		if tc.allowed && (len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "linux/arm64 are not verified")) {
			t.Errorf("%s: warnings %q, want one naming linux/arm64", tc.mode, resp.Warnings)
		}
		if !tc.allowed && !strings.Contains(resp.Result.Message, "linux/arm64") {
			t.Errorf("%s: denial %q does not name linux/arm64", tc.mode, resp.Result.Message)
		}
	}
}
