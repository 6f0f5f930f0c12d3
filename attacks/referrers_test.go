package attacks

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/oci"
)

// Rows on how a client lists referrers when it reads the referrers API and
// the fallback tag at once (oci.referrersOrFallback). The fallback tag is a
// tag: anyone with push access writes it. Its index may be listed only where
// go-containerregistry would read it itself, and what one repository's
// answer teaches the client must not change how another one is read. The
// registries here are hand-made: real ones do not give these answers.

const (
	onTagHex = "3333333333333333333333333333333333333333333333333333333333333333" // what the attacker's fallback tag lists
	onAPIHex = "4444444444444444444444444444444444444444444444444444444444444444" // what the referrers API lists
)

func listingOf(hex string) []byte {
	b, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{{
		MediaType: types.OCIManifestSchema1, Size: 10, Digest: v1.Hash{Algorithm: "sha256", Hex: hex}, ArtifactType: "application/x-attack",
	}}})
	return b
}

// handMadeRegistry serves every fallback tag with the attacker's listing,
// and the referrers API of repository "odd" with status and contentType,
// of "good" with an OCI index listing onAPIHex. With tokenRealm, it asks
// for a bearer token at a realm whose path holds /referrers/ (answered 200
// JSON), and answers the API of repository "tok" 403.
func handMadeRegistry(w *world, status int, contentType string, tokenRealm bool) string {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case tokenRealm && p == "/referrers/token":
			rw.Header().Set("Content-Type", "application/json")
			rw.Write([]byte(`{"token":"t","access_token":"t"}`))
		case tokenRealm && r.Header.Get("Authorization") == "":
			rw.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/referrers/token",service="hand-made"`)
			rw.WriteHeader(http.StatusUnauthorized)
		case p == "/v2/":
			rw.WriteHeader(http.StatusOK)
		case strings.Contains(p, "/manifests/sha256-"):
			rw.Header().Set("Content-Type", string(types.OCIImageIndex))
			rw.Write(listingOf(onTagHex))
		case strings.HasPrefix(p, "/v2/tok/referrers/"):
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(http.StatusForbidden)
			rw.Write([]byte(`{"errors":[{"code":"DENIED","message":"not for you"}]}`))
		case strings.HasPrefix(p, "/v2/odd/referrers/"):
			rw.Header().Set("Content-Type", contentType)
			rw.WriteHeader(status)
			if status == http.StatusOK {
				rw.Write(listingOf(onAPIHex))
			}
		case strings.HasPrefix(p, "/v2/good/referrers/"):
			rw.Header().Set("Content-Type", string(types.OCIImageIndex))
			rw.Write(listingOf(onAPIHex))
		default:
			rw.WriteHeader(http.StatusNotFound)
		}
	}))
	w.t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// listed lists repo's referrers of a made-up digest with c: allowed means
// the attacker's fallback-tag listing was taken for them.
func (w *world) listed(c *oci.Client, host, repo string) verdict {
	d, err := name.NewDigest(host + "/" + repo + "@sha256:" + strings.Repeat("1", 64))
	if err != nil {
		w.t.Fatal(err)
	}
	im, layout, err := c.Referrers(w.ctx, d)
	if err != nil {
		return verdict{class: "registry", reason: err.Error()}
	}
	for _, m := range im.Manifests {
		if m.Digest.Hex == onTagHex {
			return verdict{allowed: true, class: string(layout), reason: "the fallback tag's listing"}
		}
	}
	return verdict{class: "not-listed", reason: "the referrers API's listing (" + string(layout) + ")"}
}

// afterOdd lists repository "good" with a client that listed "odd" first.
func afterOdd(status int, contentType string) func(w *world) verdict {
	return func(w *world) verdict {
		host := handMadeRegistry(w, status, contentType, false)
		c := oci.New(oci.WithRetries(1))
		w.listed(c, host, "odd")
		return w.listed(c, host, "good")
	}
}

func init() {
	register(
		row{name: "referrers API denied while the token realm's path holds /referrers/: the pushed fallback tag is not listed instead",
			entry: entryReferrers,
			run: func(w *world) verdict {
				return w.listed(oci.New(oci.WithRetries(1)), handMadeRegistry(w, 0, "", true), "tok")
			},
			want: refusedAs("registry", "DENIED")},
		row{name: "one repository answers the referrers API 404: another repository of the registry is still read through the API",
			entry: entryReferrers, run: afterOdd(http.StatusNotFound, "application/json"),
			want: refusedAs("not-listed", "the referrers API's listing")},
		row{name: "one repository answers the referrers API 406: another repository of the registry is still read through the API",
			entry: entryReferrers, run: afterOdd(http.StatusNotAcceptable, "application/json"),
			want: refusedAs("not-listed", "the referrers API's listing")},
		row{name: "one repository answers an index with a charset: another repository of the registry is still read through the API",
			entry: entryReferrers, run: afterOdd(http.StatusOK, string(types.OCIImageIndex)+"; charset=utf-8"),
			want: refusedAs("not-listed", "the referrers API's listing")},
		row{name: "control: a repository without the referrers API is listed from its fallback tag",
			entry: entryReferrers,
			run: func(w *world) verdict {
				return w.listed(oci.New(oci.WithRetries(1)), handMadeRegistry(w, http.StatusNotFound, "application/json", false), "odd")
			},
			want: allowed()},
	)
}
