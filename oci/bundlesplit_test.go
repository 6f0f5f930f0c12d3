package oci_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
)

func TestSplitBundle(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the payload's text; "" when the bundle is left whole
	}{
		{"plain", `{"dsseEnvelope":{"payload":"QUJD","payloadType":"t"}}`, "QUJD"},
		{"decoys", `{"a":[1,{"payload":"eA=="}],"b":{"dsseEnvelope":{"payload":"eA=="}},"dsseEnvelope":{"signatures":[{"sig":"}","payload":"eA=="}],"payload":"QUJD"}}`, "QUJD"},
		{"whitespace", " \n{ \"dsseEnvelope\" :\t{ \"payload\" : \"QUI=\" } } ", "QUI="},
		{"empty payload", `{"dsseEnvelope":{"payload":""}}`, ""},
		{"payload twice", `{"dsseEnvelope":{"payload":"QUJD","payload":"QUJD"}}`, ""},
		{"payload key twice", `{"dsseEnvelope":{"payload":null,"payload":"QUJD"}}`, ""},
		{"escape in payload", `{"dsseEnvelope":{"payload":"QU\/D"}}`, ""},
		{"newline in payload", "{\"dsseEnvelope\":{\"payload\":\"QU\nJD\"}}", ""},
		{"url-safe", `{"dsseEnvelope":{"payload":"QU-_"}}`, ""},
		{"unpadded", `{"dsseEnvelope":{"payload":"QUI"}}`, ""},
		{"padding bits", `{"dsseEnvelope":{"payload":"QUJ="}}`, ""},
		{"text after padding", `{"dsseEnvelope":{"payload":"QQ==QUJD"}}`, ""},
		{"envelope twice", `{"dsseEnvelope":{"payload":"QUJD"},"dsseEnvelope":{}}`, ""},
		{"proto name", `{"dsse_envelope":{"payload":"QUJD"}}`, ""},
		{"proto name beside", `{"dsseEnvelope":{"payload":"QUJD"},"dsse_envelope":{}}`, ""},
		{"escaped envelope name", `{"dsse\u0045nvelope":{"payload":"QUJD"}}`, ""},
		{"escaped payload name", `{"dsseEnvelope":{"pay\u006coad":"QUJD"}}`, ""},
		{"cut short", `{"dsseEnvelope":{"payload":"QUJD"`, ""},
		{"no envelope", `{"messageSignature":{}}`, ""},
		{"envelope not an object", `{"dsseEnvelope":["QUJD"]}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parts, err := oci.SplitBundle(strings.NewReader(tc.in), int64(len(tc.in)))
			leftWhole := tc.want == "" && tc.name != "empty payload"
			if leftWhole {
				if !errors.Is(err, oci.ErrNotSplit) {
					t.Fatalf("got parts %+v, err %v; want the bundle left whole", parts, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := base64.StdEncoding.EncodeToString(parts.Payload); got != tc.want {
				t.Errorf("payload %q, want %q", got, tc.want)
			}
			if string(parts.JSON[parts.At-1:parts.At+1]) != `""` {
				t.Errorf("the payload string is not emptied at %d: %s", parts.At, parts.JSON)
			}
			if got := string(parts.Join()); got != tc.in {
				t.Errorf("joined %q, want %q", got, tc.in)
			}
		})
	}
}

// FuzzSplitBundle: a split bundle joins back to what was read, and reading
// it a byte at a time splits it the same way.
func FuzzSplitBundle(f *testing.F) {
	f.Add([]byte(`{"dsseEnvelope":{"payload":"QUJD","payloadType":"t","signatures":[{"sig":"AAAA"}]}}`))
	f.Add([]byte(`{"a":"\"{","dsseEnvelope":{"x":[{"payload":"eA=="}],"payload":"QQ=="}}`))
	f.Add([]byte(`{"dsseEnvelope":{"payload":"QU\"JD"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		parts, err := oci.SplitBundle(bytes.NewReader(data), int64(len(data)))
		slow, serr := oci.SplitBundle(iotest.OneByteReader(bytes.NewReader(data)), 0)
		if (err == nil) != (serr == nil) {
			t.Fatalf("whole: %v, byte by byte: %v", err, serr)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(parts.Join(), data) || !bytes.Equal(slow.Join(), data) {
			t.Fatalf("joined parts differ from the input")
		}
		if parts.At != slow.At || !bytes.Equal(parts.JSON, slow.JSON) || !bytes.Equal(parts.Payload, slow.Payload) {
			t.Fatalf("byte-by-byte split differs")
		}
		// What a JSON parser reads as the envelope's payload is what was
		// cut (the splitter refuses a repeated member, so the parser's
		// choice among repeats does not matter).
		var top map[string]json.RawMessage
		var env map[string]any
		if json.Unmarshal(data, &top) != nil || json.Unmarshal(top["dsseEnvelope"], &env) != nil {
			return
		}
		text, _ := env["payload"].(string)
		if want, err := base64.StdEncoding.DecodeString(text); err != nil || !bytes.Equal(want, parts.Payload) {
			t.Fatalf("cut payload %q, a JSON parser reads %q", parts.Payload, text)
		}
	})
}

// bigBundle is a bundle over the split threshold.
func bigBundle(t *testing.T, escapedKey bool) []byte {
	t.Helper()
	payload := bytes.Repeat([]byte(`{"x":"0123456789abcdef"},`), 80_000) // ~2 MB
	key := "dsseEnvelope"
	if escapedKey {
		key = `dsse\u0045nvelope`
	}
	return []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","` + key + `":{"payload":"` +
		base64.StdEncoding.EncodeToString(payload) + `","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AAAA"}]}}`)
}

// TestLargeBundleIsReadSplit: a large bundle comes from the registry split
// (its payload decoded as it streamed), and joins back to the blob.
func TestLargeBundleIsReadSplit(t *testing.T) {
	t.Parallel()
	for _, escaped := range []bool{false, true} {
		ctx := context.Background()
		reg := registrytest.New(t, true)
		d := reg.PushImage(t, "app:v1")
		c := oci.New()
		target, err := c.Resolve(ctx, d.String())
		if err != nil {
			t.Fatal(err)
		}
		b := bigBundle(t, escaped)
		if _, err := c.AttachBundle(ctx, target, b, nil); err != nil {
			t.Fatal(err)
		}
		arts, err := oci.New().Discover(ctx, target)
		if err != nil || len(arts) != 1 || arts[0].Err != nil {
			t.Fatalf("artifacts %+v, %v", arts, err)
		}
		a := arts[0]
		switch {
		case escaped && (a.Parts != nil || !bytes.Equal(a.Content, b)):
			t.Errorf("an escaped envelope name was not read whole")
		case !escaped && (a.Parts == nil || a.Content != nil):
			t.Errorf("a large bundle was not read split")
		}
		if !bytes.Equal(a.BundleJSON(), b) {
			t.Errorf("BundleJSON differs from the blob (escaped name %v)", escaped)
		}
	}
}

// TestLargeBundleCorruptedOrLongIsRefused: a split read checks the blob's
// digest and size as a whole read does.
func TestLargeBundleCorruptedOrLongIsRefused(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"corrupt", "corrupt unsplittable", "long", "short"} {
		t.Run(how, func(t *testing.T) {
			ctx := context.Background()
			var evil atomic.Value
			reg := registrytest.NewWrapped(t, true, func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					d, _ := evil.Load().(string)
					if d == "" || !strings.HasSuffix(r.URL.Path, "/blobs/"+d) || r.Method != http.MethodGet {
						h.ServeHTTP(w, r)
						return
					}
					b := bigBundle(t, false)
					switch how {
					case "corrupt":
						if b[len(b)/2] = 'A'; bytes.Equal(b, bigBundle(t, false)) {
							b[len(b)/2] = 'B' // another base64 letter
						}
					case "corrupt unsplittable":
						// URL-safe base64 the splitter leaves whole: the
						// whole read that follows checks the digest too.
						b[len(b)/2] = '-'
					case "long":
						b = append(b, ' ')
					case "short":
						b = b[:len(b)-1]
					}
					w.Write(b)
				})
			})
			d := reg.PushImage(t, "app:v1")
			c := oci.New()
			target, _ := c.Resolve(ctx, d.String())
			b := bigBundle(t, false)
			if _, err := c.AttachBundle(ctx, target, b, nil); err != nil {
				t.Fatal(err)
			}
			h, _, _ := v1.SHA256(bytes.NewReader(b))
			evil.Store(h.String())
			arts, err := oci.New().Discover(ctx, target)
			if err != nil {
				t.Fatal(err)
			}
			if len(arts) != 1 || arts[0].Err == nil || arts[0].Parts != nil || arts[0].Content != nil {
				t.Fatalf("a %s blob was accepted: %+v", how, arts)
			}
			t.Log(arts[0].Err)
		})
	}
}

// TestSplitBundleHoldsWhatItRead: a large bundle whose DSSE payload is
// small (its bytes elsewhere, as in a bundle made to waste memory) is not
// held in buffers sized for the payload it might have had: the buffer
// the bundle's size reserved for the payload is let go, and the JSON is
// not held with room for more. Discover keeps every artifact it read, so
// such spare room would be held once per referrer.
func TestSplitBundleHoldsWhatItRead(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload int // bytes of decoded payload
		other   int // bytes of another string in the bundle
	}{
		{"small payload", 3, 4 << 20},
		{"large payload", 3 << 20, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := `{"x":"` + strings.Repeat("y", tc.other) + `","dsseEnvelope":{"payload":"` +
				base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("z"), tc.payload)) + `"}}`
			parts, err := oci.SplitBundle(strings.NewReader(in), int64(len(in)))
			if err != nil {
				t.Fatal(err)
			}
			if len(parts.Payload) != tc.payload {
				t.Fatalf("payload of %d bytes, want %d", len(parts.Payload), tc.payload)
			}
			if c := cap(parts.Payload); c > len(parts.Payload)+len(parts.Payload)/4+64<<10 {
				t.Errorf("a payload of %d bytes is held in %d", len(parts.Payload), c)
			}
			if c := cap(parts.JSON); c > len(parts.JSON)+len(parts.JSON)/4+64<<10 {
				t.Errorf("JSON of %d bytes is held in %d", len(parts.JSON), c)
			}
		})
	}
}
