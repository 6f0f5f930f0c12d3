package oci_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
)

type recordingTransport struct {
	mu   sync.Mutex
	seen map[string]int // by method
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.seen[req.Method]++
	r.mu.Unlock()
	return remote.DefaultTransport.RoundTrip(req)
}

// TestWritesUseTheClientsTransport: an upload after a read goes through the
// transport given to the client (its TLS settings, and the client's retries
// and per-host bound around it), not go-containerregistry's default — the
// writes took the default once the client had read (it reuses its reader
// for reads only).
func TestWritesUseTheClientsTransport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registrytest.New(t, true)
	d := reg.PushImage(t, "team/app:v1")
	rt := &recordingTransport{seen: map[string]int{}}
	c := oci.New(oci.WithTransport(rt))
	if _, err := c.Resolve(ctx, d.String()); err != nil {
		t.Fatal(err)
	}
	layer, err := random.Layer(64, "application/octet-stream")
	if err != nil {
		t.Fatal(err)
	}
	repo, _ := name.NewRepository(reg.Host + "/team/app")
	if err := c.PutBlob(ctx, repo, layer); err != nil {
		t.Fatal(err)
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.seen[http.MethodPost] == 0 || rt.seen[http.MethodPut] == 0 {
		t.Errorf("the client's transport saw %v for a read then an upload, want the upload's POST and PUT among them", rt.seen)
	}
}
