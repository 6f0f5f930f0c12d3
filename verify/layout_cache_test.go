package verify_test

import (
	"context"
	"testing"
	"time"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/verify"
)

// TestLayoutVerdictNotServedForTheRegistry: an image signed only in a
// layout (named in the registry's repository with --layout-repository) is
// allowed there, and that cached verdict is not served for the registry's
// image of the same digest, which carries no signature: one engine, one
// cache, layout first, then registry, by digest and by tag.
func TestLayoutVerdictNotServedForTheRegistry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	img := w.reg.PushImage(t, "team/app:v1") // unsigned in the registry
	dir := t.TempDir()
	registrytest.CopyToLayout(t, dir, img, registrytest.LayoutCopy{Tag: "v1"})
	ref := "oci-layout:" + dir + ":v1"
	w2 := *w
	w2.client = oci.New(oci.WithLayoutDirs(true), oci.WithLayoutRepository(w.reg.Host+"/team/app"))
	w2.sign(t, "alice", ref)
	w2.attest(t, "alice", ref, "cyclonedx", "sbom.cdx.json")
	e := w2.engine(t, layoutPolicy, verify.WithCache(100, time.Hour, time.Hour))
	for _, layoutRef := range []string{ref, "oci-layout:" + dir + "@" + img.DigestStr()} {
		if d := e.Decide(ctx, layoutRef); !d.Allowed {
			t.Fatalf("%s: got %s, want allowed from the layout", layoutRef, d.Reason)
		}
	}
	for i, regRef := range []string{img.String(), w.reg.Host + "/team/app:v1"} {
		// The first registry decision is no cache hit; the second may be
		// served the first's (registry) verdict.
		if d := e.Decide(ctx, regRef); d.Allowed || (i == 0 && d.Cached) {
			t.Fatalf("%s: allowed=%v cached=%v (%s); want refused, not served the layout's verdict", regRef, d.Allowed, d.Cached, d.Reason)
		}
	}
}
