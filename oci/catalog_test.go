package oci_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
)

func TestCatalog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registrytest.NewWrapped(t, false, registrytest.Paged(2))
	want := []string{"a/one", "a/two", "b", "c", "d"}
	for _, r := range want {
		reg.PushImage(t, r+":v1")
	}
	got, err := oci.New().Catalog(ctx, reg.Host, 2, 0)
	slices.Sort(got)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Catalog = %v, %v; want every page: %v", got, err, want)
	}
	if got, err := oci.New().Catalog(ctx, reg.Host, 2, 3); err == nil || !strings.Contains(err.Error(), "more than 3 repositories") {
		t.Errorf("Catalog over the cap = %v, %v; want an error", got, err)
	}
	// A registry whose catalogue links to itself forever is refused.
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/_catalog" {
			w.Header().Set("Link", `</v2/_catalog?n=1&last=x>; rel="next"`)
			w.Write([]byte(`{"repositories":["x"]}`))
		}
	}))
	t.Cleanup(loop.Close)
	if _, err := oci.New().Catalog(ctx, strings.TrimPrefix(loop.URL, "http://"), 1, 10); err == nil || !strings.Contains(err.Error(), "more than 10") {
		t.Errorf("Catalog of an endless list: %v, want an error", err)
	}
	if _, err := oci.New().Catalog(ctx, "127.0.0.1:1", 0, 0); !errors.Is(err, oci.ErrRegistry) {
		t.Errorf("Catalog of a registry that is down: %v, want ErrRegistry", err)
	}
}

func TestAttachedTag(t *testing.T) {
	t.Parallel()
	hex := strings.Repeat("ab", 32)
	for tag, want := range map[string]bool{
		"v1": false, "latest": false, "sha256-" + hex: true, "sha256-" + hex + ".sig": true,
		"sha256-" + hex + ".att": true, "sha256-" + hex + ".sbom": true, "sha256-" + hex + ".txt": false, "sha256-abc.sig": false,
	} {
		if got := oci.AttachedTag(tag); got != want {
			t.Errorf("AttachedTag(%q) = %v, want %v", tag, got, want)
		}
	}
}
