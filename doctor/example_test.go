package doctor_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/doctor"
	"github.com/signet-dev/signet/localregistry"
	"github.com/signet-dev/signet/oci"
)

// A signature listed in the fallback index without its artifactType and
// annotations, as older cosign wrote it: doctor finds it and repairs it.
func ExampleRun() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, _ := localregistry.Start(ctx, "127.0.0.1:0", localregistry.WithReferrers(false))
	ref, _ := name.NewTag(srv.Addr + "/team/app:v1")
	img, _ := random.Image(64, 1)
	_ = remote.Write(ref, img)
	c := oci.New()
	target, _ := c.Resolve(ctx, ref.String())
	sig, _ := c.AttachBundle(ctx, target, []byte(`{}`), map[string]string{"dev.sigstore.bundle.content": "dsse-envelope"})
	old, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{sig.Descriptor}})
	_ = c.PutManifest(ctx, oci.FallbackTag(target.Digest), old, types.OCIImageIndex)

	r, err := doctor.Run(ctx, c, ref.String(), doctor.Options{Fix: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fb := r.Subjects[0].Fallback
	fmt.Println("referrers API:", r.ReferrersAPI)
	for _, f := range fb.Findings {
		fmt.Println("found:", f.Problem)
	}
	fmt.Println("fixed:", fb.Fix.Fixed, "healthy:", r.Healthy)
	// Output:
	// referrers API: false
	// found: no-artifact-type
	// found: no-annotations
	// fixed: true healthy: true
}
