package gate

import (
	"context"
	"strings"
	"testing"
)

// TestClassify: a pushed manifest is placed by what it is. Runnable images
// are images whatever subject field or tag they carry; only manifests of
// Sigstore layers alone are signatures.
func TestClassify(t *testing.T) {
	t.Parallel()
	subject := `"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","size":1},`
	const (
		ociImage    = "application/vnd.oci.image.manifest.v1+json"
		dockerImage = "application/vnd.docker.distribution.manifest.v2+json"
	)
	g := &Gate{}
	for _, tc := range []struct {
		name, mediaType, tag, body string
		want                       kind
	}{
		{"an OCI image", ociImage, "v1",
			`{"config":{"mediaType":"application/vnd.oci.image.config.v1+json"},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip"}]}`, kindImage},
		{"a Docker image", dockerImage, "v1",
			`{"config":{"mediaType":"application/vnd.docker.container.image.v1+json"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip"}]}`, kindImage},
		{"an image with a subject", ociImage, "v1",
			`{` + subject + `"config":{"mediaType":"application/vnd.oci.image.config.v1+json"},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip"}]}`, kindImage},
		{"an image with a subject and a signature layer too", ociImage, "sha256-" + strings.Repeat("a", 64) + ".sig",
			`{` + subject + `"config":{"mediaType":"application/vnd.oci.image.config.v1+json"},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json"},{"mediaType":"application/vnd.oci.image.layer.v1.tar"}]}`, kindImage},
		{"an image whose layer has no media type", ociImage, "sha256-" + strings.Repeat("a", 64) + ".sig",
			`{"config":{"mediaType":"application/vnd.oci.image.config.v1+json"},"layers":[{"mediaType":""}]}`, kindImage},
		{"an image that calls itself a bundle", ociImage, "v1",
			`{` + subject + `"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json","config":{"mediaType":"application/vnd.oci.empty.v1+json"},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip"}]}`, kindImage},
		{"an image that claims the summary annotation", ociImage, "v1",
			`{` + subject + `"annotations":{"dev.sigstore.bundle.predicateType":"https://slsa.dev/verification_summary/v1"},"config":{"mediaType":"application/vnd.oci.image.config.v1+json"},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar"}]}`, kindImage},
		{"an image index", "application/vnd.oci.image.index.v1+json", "v1",
			`{"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + strings.Repeat("b", 64) + `","platform":{"os":"linux","architecture":"amd64"}}]}`, kindImage},
		{"an image manifest that lists manifests", ociImage, "v1",
			`{"manifests":[],"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json"}]}`, kindImage},
		{"an artifact (an SBOM)", ociImage, "sbom",
			`{` + subject + `"artifactType":"application/spdx+json","config":{"mediaType":"application/vnd.oci.empty.v1+json"},"layers":[{"mediaType":"application/spdx+json"}]}`, kindImage},
		{"an empty manifest", ociImage, "v1", `{}`, kindImage},
		{"a schema 1 image whose layers field lists only signature layers", "application/vnd.docker.distribution.manifest.v1+prettyjws", "v1",
			`{"schemaVersion":1,"fsLayers":[{"blobSum":"sha256:` + strings.Repeat("c", 64) + `"}],"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json"}]}`, kindImage},
		{"signature layers in a manifest of no known type", "", "v1",
			`{"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json"}]}`, kindImage},

		{"a Signet/cosign v3 bundle referrer", ociImage, "",
			`{` + subject + `"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json","config":{"mediaType":"application/vnd.oci.empty.v1+json"},"layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}]}`, kindSignature},
		{"a legacy .sig image", ociImage, "sha256-" + strings.Repeat("a", 64) + ".sig",
			`{"config":{"mediaType":"application/vnd.oci.image.config.v1+json"},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json"},{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json"}]}`, kindSignature},
		{"a legacy .att image", dockerImage, "sha256-" + strings.Repeat("a", 64) + ".att",
			`{"config":{"mediaType":"application/vnd.docker.container.image.v1+json"},"layers":[{"mediaType":"application/vnd.dsse.envelope.v1+json"}]}`, kindSignature},
		{"a verification summary", ociImage, "",
			`{` + subject + `"annotations":{"dev.sigstore.bundle.predicateType":"https://slsa.dev/verification_summary/v1"},"config":{"mediaType":"application/vnd.oci.empty.v1+json"},"layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}]}`, kindSummary},
		{"an empty fallback index", "application/vnd.oci.image.index.v1+json", "sha256-" + strings.Repeat("a", 64),
			`{"manifests":[]}`, kindReferrers},
		{"a fallback-shaped index of an index", "application/vnd.oci.image.index.v1+json", "sha256-" + strings.Repeat("a", 64),
			`{"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:` + strings.Repeat("b", 64) + `"}]}`, kindImage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseManifest([]byte(tc.body), tc.mediaType)
			if err != nil {
				t.Fatal(err)
			}
			got, err := g.classify(context.Background(), &job{Repository: "team/app", Tag: tc.tag}, m)
			if err != nil || got != tc.want {
				t.Fatalf("got kind %d (%v), want %d", got, err, tc.want)
			}
		})
	}
}
