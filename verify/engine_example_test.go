package verify_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// Decide for an image with a policy, as an admission controller would.
func ExampleEngine() {
	ctx := context.Background()
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ref, _ := name.NewTag(host + "/team/app:v1")
	img, _ := random.Image(64, 1)
	_ = remote.Write(ref, img)

	priv, _ := keys.Generate(keys.ECDSAP256)
	sv, _ := keys.SignerVerifier(priv)
	signer, _ := sign.New(sv, oci.New())
	_, _ = signer.SignImage(ctx, ref.String(), sign.Request{})

	pub, _ := keys.PublicKeyPEM(priv.Public())
	doc := fmt.Sprintf(`apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "%s/team/**"
    signers:
      - name: release
        publicKey: |
%s`, host, indent(string(pub), "          "))
	compiled, err := policy.Compile([]byte(doc), ".", keys.Loader{})
	if err != nil {
		fmt.Println(err)
		return
	}
	engine, _ := verify.NewEngine(oci.New(), compiled)
	d := engine.Decide(ctx, ref.String())
	fmt.Println("allowed:", d.Allowed)
	for _, c := range d.Checks {
		fmt.Println(c.Name, c.Outcome)
	}
	// Output:
	// allowed: true
	// match pass
	// signatures pass
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = pre + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}
