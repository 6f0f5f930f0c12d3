package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
)

// TestSignEmbedBundle: signet sign embeds the bundle in its referrer
// manifest by default and not with --embed-bundle=false; either way the
// signature verifies.
func TestSignEmbedBundle(t *testing.T) {
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("SIGNET_HOME", t.TempDir())
	key := filepath.Join(t.TempDir(), "release")
	generateKey(t, key)
	reg := registrytest.New(t, true)
	ctx := context.Background()
	for _, tc := range []struct {
		flags []string
		want  bool
	}{{nil, true}, {[]string{"--embed-bundle=false"}, false}} {
		d := reg.PushImage(t, "team/app:v1")
		args := append(append([]string{"sign", "--no-tlog", "--key", key + ".key"}, tc.flags...), d.String())
		if _, stderr, code := signet(t, args...); code != exitOK {
			t.Fatalf("%v: %s", args, stderr)
		}
		c := oci.New()
		idx, _, err := c.Referrers(ctx, d)
		if err != nil || len(idx.Manifests) != 1 {
			t.Fatalf("%v: referrers %v, %v", tc.flags, idx, err)
		}
		got, err := c.Get(ctx, d.Context().Digest(idx.Manifests[0].Digest.String()))
		if err != nil {
			t.Fatal(err)
		}
		var m v1.Manifest
		if err := json.Unmarshal(got.Raw, &m); err != nil || len(m.Layers) != 1 {
			t.Fatalf("%v: referrer manifest %s: %v", tc.flags, got.Raw, err)
		}
		if embedded := m.Layers[0].Data != nil; embedded != tc.want {
			t.Errorf("sign %v: bundle embedded %v, want %v", tc.flags, embedded, tc.want)
		}
		if _, stderr, code := signet(t, "verify", "--key", key+".pub", d.String()); code != exitOK {
			t.Errorf("verify after sign %v: exit %d\n%s", tc.flags, code, stderr)
		}
	}
}
