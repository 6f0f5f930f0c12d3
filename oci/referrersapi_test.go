package oci_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
)

func TestHasReferrersAPI(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	for _, tt := range []struct {
		name    string
		subject func(t *testing.T) name.Digest
		want    bool
		wantErr error
	}{
		{"referrers API", func(t *testing.T) name.Digest { return registrytest.New(t, true).PushImage(t, "team/app:v1") }, true, nil},
		{"fallback tag only", func(t *testing.T) name.Digest { return registrytest.New(t, false).PushImage(t, "team/app:v1") }, false, nil},
		{"registry down", func(t *testing.T) name.Digest {
			d, _ := name.NewDigest(down + "/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
			return d
		}, false, oci.ErrRegistry},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := oci.New(oci.WithRetries(1)).HasReferrersAPI(context.Background(), tt.subject(t))
			if got != tt.want || (tt.wantErr == nil) != (err == nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("HasReferrersAPI = %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
