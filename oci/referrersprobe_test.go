package oci_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/oci"
)

const (
	subjHex  = "1111111111111111111111111111111111111111111111111111111111111111"
	otherHex = "2222222222222222222222222222222222222222222222222222222222222222"
	onTagHex = "3333333333333333333333333333333333333333333333333333333333333333"
	onAPIHex = "4444444444444444444444444444444444444444444444444444444444444444"
)

func indexListing(hex string) []byte {
	im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{{
		MediaType: types.OCIManifestSchema1, Size: 10, Digest: v1.Hash{Algorithm: "sha256", Hex: hex}, ArtifactType: "application/x-review",
	}}}
	b, _ := json.Marshal(im)
	return b
}

// fakeRegistry (a hand-made registry, for answers the real ones do not
// give): repository "tok" has a bearer token realm whose path holds
// "/referrers/" and answers its referrers API 403; repository "odd"
// answers its referrers API with apiStatus/apiType; repository "good"
// answers it 200 with an OCI index listing onAPIHex. Every fallback tag
// lists onTagHex.
type fakeRegistry struct {
	apiStatus int
	apiType   string
	mu        sync.Mutex
	log       []string
}

func (f *fakeRegistry) handler(auth bool) http.Handler {
	var srv string
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.log = append(f.log, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		if srv == "" {
			srv = "http://" + r.Host
		}
		p := r.URL.Path
		switch {
		case auth && p == "/referrers/token":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"token":"t","access_token":"t"}`))
		case auth && r.Header.Get("Authorization") == "":
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv+`/referrers/token",service="fake"`)
			w.WriteHeader(http.StatusUnauthorized)
		case p == "/v2/":
			w.WriteHeader(http.StatusOK)
		case strings.Contains(p, "/manifests/sha256-"):
			w.Header().Set("Content-Type", string(types.OCIImageIndex))
			w.Write(indexListing(onTagHex))
		case strings.HasPrefix(p, "/v2/tok/referrers/"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"errors":[{"code":"DENIED","message":"no"}]}`))
		case strings.HasPrefix(p, "/v2/odd/referrers/"):
			w.Header().Set("Content-Type", f.apiType)
			w.WriteHeader(f.apiStatus)
			if f.apiStatus == http.StatusOK {
				w.Write(indexListing(onAPIHex))
			}
		case strings.HasPrefix(p, "/v2/good/referrers/"):
			w.Header().Set("Content-Type", string(types.OCIImageIndex))
			w.Write(indexListing(onAPIHex))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
}

func has(im *v1.IndexManifest, hex string) bool {
	if im == nil {
		return false
	}
	for _, m := range im.Manifests {
		if m.Digest.Hex == hex {
			return true
		}
	}
	return false
}

// TestReferrersProbeTokenRealm: the API answers 403, on which
// go-containerregistry fails rather than read the fallback tag; a bearer
// token realm whose path holds "/referrers/" (answered 200 JSON) must not
// be taken for the API's answer and make the listing the tag's index.
// (Found by review: the probe recorded every URL with /referrers/ in it.)
func TestReferrersProbeTokenRealm(t *testing.T) {
	f := &fakeRegistry{}
	s := httptest.NewServer(f.handler(true))
	defer s.Close()
	host := strings.TrimPrefix(s.URL, "http://")
	d, err := name.NewDigest(host + "/tok@sha256:" + subjHex)
	if err != nil {
		t.Fatal(err)
	}
	_, ggErr := remote.Referrers(d)
	t.Logf("go-containerregistry: err=%v", ggErr)
	im, layout, err := oci.New().Referrers(context.Background(), d)
	t.Logf("signet: layout=%s err=%v listsTag=%v", layout, err, has(im, onTagHex))
	t.Logf("requests: %v", f.log)
	if ggErr != nil && err == nil {
		t.Errorf("go-containerregistry refuses the listing (%v) but signet lists the fallback tag's index (%s)", ggErr, layout)
	}
}

// TestReferrersWayPerRepository: one repository's answer to the referrers
// API (404, 406, or an index with a parameter in its content type) does
// not make the client read another repository of the same registry, which
// has the API, from its fallback tag: a registry may route repositories to
// different backends. (Found by review.)
func TestReferrersWayPerRepository(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		ct     string
	}{
		{"406", http.StatusNotAcceptable, "application/json"},
		{"200 index with charset", http.StatusOK, string(types.OCIImageIndex) + "; charset=utf-8"},
		{"404", http.StatusNotFound, "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeRegistry{apiStatus: tc.status, apiType: tc.ct}
			s := httptest.NewServer(f.handler(false))
			defer s.Close()
			host := strings.TrimPrefix(s.URL, "http://")
			odd, _ := name.NewDigest(host + "/odd@sha256:" + subjHex)
			good, _ := name.NewDigest(host + "/good@sha256:" + otherHex)
			c := oci.New()
			if _, _, err := c.Referrers(context.Background(), odd); err != nil {
				t.Fatal(err)
			}
			im, layout, err := c.Referrers(context.Background(), good)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("good repository after odd: layout=%s listsAPI=%v listsTag=%v", layout, has(im, onAPIHex), has(im, onTagHex))
			if !has(im, onAPIHex) {
				t.Errorf("another repository's referrers were read from its fallback tag, not the API")
			}
		})
	}
}
