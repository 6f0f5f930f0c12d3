package gate

import (
	"context"
	"strings"
	"testing"
	"time"
)

// FuzzParseEnvelope: whatever arrives at /events, parsing it and turning its
// events into jobs never panics, and a job always names a valid digest and
// repository.
func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(`{"events":[{"id":"1","action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` +
		"0000000000000000000000000000000000000000000000000000000000000000" + `","repository":"team/app","tag":"v1"}}]}`))
	f.Add([]byte(`{"events":[]}`))
	f.Add([]byte(`{"events":[{"action":"pull"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := ParseEnvelope(body)
		if err != nil {
			return
		}
		for _, e := range events {
			j, _ := e.job(time.Unix(0, 0))
			if j != nil && (!digestRe.MatchString(j.Digest) || !validRepository(j.Repository) || j.ID == "") {
				t.Fatalf("bad job %+v", j)
			}
		}
	})
}

// FuzzClassify: whatever a pushed manifest says, one that a runtime could
// run (an index, or a layer it unpacks) is never taken for a signature or
// a summary, so it is always judged.
func FuzzClassify(f *testing.F) {
	f.Add([]byte(`{"config":{"mediaType":"application/vnd.oci.image.config.v1+json"},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip"}]}`), "application/vnd.oci.image.manifest.v1+json", "v1")
	f.Add([]byte(`{"layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}],"subject":{"digest":"sha256:`+strings.Repeat("a", 64)+`"}}`), "application/vnd.oci.image.manifest.v1+json", "")
	f.Add([]byte(`{"manifests":[]}`), "application/vnd.oci.image.index.v1+json", "v1")
	f.Fuzz(func(t *testing.T, raw []byte, mediaType, tag string) {
		m, err := parseManifest(raw, mediaType)
		if err != nil || (m.isIndex() && fallbackTag.MatchString(tag)) {
			return // the fallback index is read from the registry
		}
		k, err := (&Gate{}).classify(context.Background(), &job{Tag: tag}, m)
		if err != nil {
			t.Fatal(err)
		}
		if m.runnable() && k != kindImage {
			t.Fatalf("a runnable manifest classed %d: %s", k, raw)
		}
	})
}
