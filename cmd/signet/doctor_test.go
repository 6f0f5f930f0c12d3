package main

import (
	"context"
	"encoding/json"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
)

// damagedFallback is an image in a registry without the referrers API
// whose fallback index lists a manifest that is not its referrer.
func damagedFallback(t *testing.T) string {
	reg := registrytest.New(t, false)
	img := reg.PushImage(t, "team/app:v1")
	other := reg.PushImage(t, "team/app:v2")
	d, err := remote.Get(other)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{d.Descriptor}})
	if err != nil {
		t.Fatal(err)
	}
	if err := oci.New().PutManifest(context.Background(), oci.FallbackTag(img), raw, types.OCIImageIndex); err != nil {
		t.Fatal(err)
	}
	return img.String()
}
