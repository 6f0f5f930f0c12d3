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
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// Sign an image in a throwaway registry and verify it as a deploy step would.
func Example() {
	ctx := context.Background()
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(true)))
	defer srv.Close()
	ref, _ := name.NewTag(strings.TrimPrefix(srv.URL, "http://") + "/team/app:v1")
	img, _ := random.Image(64, 1)
	_ = remote.Write(ref, img)

	priv, _ := keys.Generate(keys.ECDSAP256)
	sv, _ := keys.SignerVerifier(priv)
	client := oci.New()
	signer, _ := sign.New(sv, client)
	if _, err := signer.SignImage(ctx, ref.String(), sign.Request{}); err != nil {
		fmt.Println(err)
		return
	}

	v, _ := verify.New(client, []verify.Key{{Name: "release", PublicKey: priv.Public()}})
	res, err := v.Verify(ctx, ref.String(), verify.Request{})
	fmt.Println("verified:", res.Verified, err)
	fmt.Println("found in:", res.Signatures[0].Layout)
	// Output:
	// verified: true <nil>
	// found in: referrers-api
}
