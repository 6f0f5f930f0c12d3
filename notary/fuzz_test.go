package notary

import (
	"context"
	"testing"
)

// FuzzDescribe feeds Describe arbitrary envelopes of both media types: it
// must return an Info or an error, and an Info names a target.
func FuzzDescribe(f *testing.F) {
	f.Add([]byte(`{"payload":"e30","protected":"e30","header":{"x5c":[]},"signature":""}`), true)
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40}, false)
	f.Fuzz(func(t *testing.T, env []byte, jws bool) {
		mt := MediaTypeCOSE
		if jws {
			mt = MediaTypeJWS
		}
		info, err := Describe(env, mt)
		if err == nil && info.Envelope == "" {
			t.Fatal("an Info without an envelope kind")
		}
		if v, err := NewVerifier(nil); err == nil {
			if out, err := v.Verify(context.Background(), target, "", env, mt); err == nil {
				t.Fatalf("verified with no principals: %+v", out)
			}
		}
	})
}
