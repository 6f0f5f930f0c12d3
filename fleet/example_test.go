package fleet_test

import (
	"context"
	"fmt"
	"os"

	"github.com/signet-dev/signet/fleet"
	"github.com/signet-dev/signet/verify"
)

// byName decides by the image's name; a stand-in for a *verify.Engine.
type byName map[string]bool

func (b byName) DecideAll(_ context.Context, images []string) []*verify.Decision {
	out := make([]*verify.Decision, len(images))
	for i, img := range images {
		out[i] = &verify.Decision{Image: img, Allowed: b[img], Mode: "enforce"}
		if !b[img] {
			out[i].Class, out[i].Reason = verify.ClassNotFound, "signatures [not-found]: no signatures found"
		}
	}
	return out
}

func Example() {
	ws := []fleet.Workload{
		{Namespace: "shop", APIVersion: "apps/v1", Kind: "Deployment", Name: "web", Images: []fleet.Image{{Container: "app", Ref: "registry.example.com/web:1"}}},
		{Namespace: "shop", APIVersion: "v1", Kind: "Pod", Name: "debug", Images: []fleet.Image{{Container: "sh", Ref: "busybox:1"}}},
	}
	current := byName{"registry.example.com/web:1": true, "busybox:1": true}
	next := byName{"registry.example.com/web:1": true}
	r := fleet.Check(context.Background(), ws, next, fleet.WithCurrent(current))
	r.WriteTable(os.Stdout)
	fmt.Println("gate:", r.Gate())
	// Output:
	// NAMESPACE  WORKLOAD        CONTAINER  IMAGE                       TODAY    NEW      CHANGE        REASON
	// shop       Pod/debug       sh         busybox:1                   allowed  denied   newly-denied  signatures [not-found]: no signatures found
	// shop       Deployment/web  app        registry.example.com/web:1  allowed  allowed  unchanged     -
	// 2 workloads, 2 images: 1 would be newly denied (in 1 workload), 0 newly allowed, 0 still denied, 1 unchanged
	// gate: true
}
