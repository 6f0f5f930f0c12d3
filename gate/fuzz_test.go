package gate

import (
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
