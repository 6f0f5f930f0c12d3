package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/proto"

	"github.com/signet-dev/signet/attest"
)

func TestReadDetached(t *testing.T) {
	doc := []byte(`{"bomFormat":"CycloneDX","components":[{"name":"a","licenses":[{"license":{"id":"MIT"}}]},{"name":"b"}]}`)
	sum := sha256.Sum256(doc)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	tests := []struct {
		name   string
		body   []byte
		size   int64
		memCap int64
		reason string
	}{
		{"whole", doc, int64(len(doc)), 1 << 20, ""},
		{"summarized", doc, int64(len(doc)), 10, ""},
		{"other bytes", bytes.Replace(doc, []byte("MIT"), []byte("BSD"), 1), int64(len(doc)), 1 << 20, "hashes to"},
		{"other bytes, summarized", bytes.Replace(doc, []byte("MIT"), []byte("BSD"), 1), int64(len(doc)), 10, "hashes to"},
		{"longer", append(bytes.Clone(doc), ' '), int64(len(doc)), 1 << 20, "more than"},
		{"shorter", doc[:len(doc)-1], int64(len(doc)), 10, "bytes, the signed statement says"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &attest.DetachedPredicate{Digest: digest, Size: tc.size}
			got, err := readDetached(bytes.NewReader(tc.body), p, tc.memCap)
			if tc.reason != "" {
				if !errors.Is(err, ErrDetachedPredicate) || !strings.Contains(err.Error(), tc.reason) {
					t.Fatalf("want %q, got %v", tc.reason, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := got.summary["counts"].(map[string]any)["components"]; n != int64(2) {
				t.Fatalf("want 2 components, got %v", n)
			}
			if l := got.summary["licenses"].([]any); len(l) != 1 || l[0] != "MIT" {
				t.Fatalf("want licenses [MIT], got %v", l)
			}
		})
	}
}

// TestSummaryLicensesOverCap: past the cap the summary has no licenses at
// all, so a condition never passes on a partial list.
func TestSummaryLicensesOverCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"components":[`)
	for i := range summaryLicenses + 1 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"licenses":[{"license":{"id":"L` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + `-` + hex.EncodeToString([]byte{byte(i >> 8), byte(i)}) + `"}}]}`)
	}
	b.WriteString(`]}`)
	_, s, err := summarize(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s["licenses"]; ok {
		t.Fatalf("want no licenses past %d, got %d", summaryLicenses, len(s["licenses"].([]any)))
	}
}

func FuzzSummarize(f *testing.F) {
	f.Add([]byte(`{"bomFormat":"CycloneDX","metadata":{"timestamp":"2026-01-01T00:00:00Z"},"components":[{"licenses":[{"expression":"MIT OR Apache-2.0"}]}]}`))
	f.Add([]byte(`{"packages":[{"licenseConcluded":"MIT"}],"a":[[]],"b":{"c":[1]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		reduced, summary, err := summarize(bytes.NewReader(data))
		if err != nil {
			return
		}
		if reduced == nil || summary["counts"] == nil {
			t.Fatalf("summary without counts: %v %v", reduced, summary)
		}
	})
}

// FuzzUnmarshalBundle: the scan that cuts a large bundle's payload out gives
// what protojson gives for the whole bundle, or leaves it to protojson.
func FuzzUnmarshalBundle(f *testing.F) {
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"dsseEnvelope":{"payload":"eyJhIjoxfQ==","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AAAA"}]}}`))
	f.Add([]byte(`{"dsseEnvelope":{"payload":"eyJh\nIjoxfQ==","payload":""}}`))
	// A second envelope under the proto name, a payload inside a signature,
	// escaped keys, URL-safe or unpadded base64, non-zero padding bits,
	// whitespace, payload after the signatures, a repeated envelope.
	f.Add([]byte(`{"dsseEnvelope":{"payload":"QUJD","payloadType":"t","signatures":[{"sig":"AAAA"}]},"dsse_envelope":{"payload":"REVG"}}`))
	f.Add([]byte(`{"dsseEnvelope":{"signatures":[{"sig":"AAAA","payload":"REVG"}],"payloadType":"t","payload":"QUJD"}}`))
	f.Add([]byte(`{"dsseEnvelope":{"pay\u006coad":"QUJD","payload":"REVG","payloadType":"t","signatures":[]}}`))
	f.Add([]byte(`{"dsse\u0045nvelope":{"payload":"QUJD"},"dsseEnvelope":{"payload":"REVG","payloadType":"t","signatures":[]}}`))
	f.Add([]byte(`{"dsseEnvelope":{"payload":"QU-_","payloadType":"t","signatures":[]}}`))
	f.Add([]byte(`{"dsseEnvelope":{"payload":"QUI","payloadType":"t","signatures":[]}}`))
	f.Add([]byte(`{"dsseEnvelope":{"payload":"QUJ=","payloadType":"t","signatures":[]}}`))
	f.Add([]byte(" \n{ \"dsseEnvelope\" :\t{ \"payload\" : \"QUJD\" , \"payloadType\":\"t\",\"signatures\":[] } } "))
	f.Add([]byte(`{"dsseEnvelope":{"payload":"QUJD","payloadType":"t","signatures":[]},"dsseEnvelope":{"payload":"REVG","payloadType":"t","signatures":[]}}`))
	f.Add([]byte(`{"messageSignature":{},"dsseEnvelope":{"payload":"QUJD","payloadType":"t","signatures":[]}}`))
	f.Add([]byte(`{"dsseEnvelope":{"payload":"QUJD","payloadType":"t","signatures":[]}} x`))
	f.Add([]byte(`{"x":tru"dsseEnvelope":{"payload":"QUJD"}}`))
	// Reviewed attacks (each read alike, or left whole): a byte-order mark,
	// a NUL, a comment, a case variant of either name, an extension-style
	// name, a name with a space, the envelope in another member, a top
	// level that is an array, invalid UTF-8 in a name or before a quote, a
	// payload under payload_type's proto name beside the real one, an
	// escaped slash in the payload, an unclosed string swallowing the rest.
	env := `{"payload":"QUJD","payloadType":"t","signatures":[{"sig":"AAAA"}]}`
	for _, in := range []string{
		"\xef\xbb\xbf{\"dsseEnvelope\":" + env + "}",
		"{\"a\":\"\x00\",\"dsseEnvelope\":" + env + "}",
		"{/*c*/\"dsseEnvelope\":" + env + "}",
		`{"DsseEnvelope":` + env + `}`,
		`{"dsseenvelope":` + env + `}`,
		`{"[dsseEnvelope]":` + env + `}`,
		`{"dsseEnvelope ":` + env + `}`,
		`{"dsseEnvelope":{"payload ":"QUJD","payload":"","payloadType":"t","signatures":[]}}`,
		`{"dsseEnvelope":{"Payload":"QUJD","payload":"","payloadType":"t","signatures":[]}}`,
		`{"verificationMaterial":{"dsseEnvelope":` + env + `},"dsseEnvelope":{"payload":"","payloadType":"t","signatures":[]}}`,
		`[{"dsseEnvelope":` + env + `}]`,
		"{\"dsse\xffEnvelope\":" + env + "}",
		"{\"a\":\"\xc2\",\"dsseEnvelope\":" + env + "}",
		`{"dsseEnvelope":{"payload_type":"QUJD","payload":"QUJD","payloadType":"t","signatures":[]}}`,
		`{"dsseEnvelope":{"payload":"QU\/D","payloadType":"t","signatures":[]}}`,
		`{"a":"\\","dsseEnvelope":` + env + `}`,
		`{"a":"\"","dsseEnvelope":{"payload":"","payloadType":"t","signatures":[]},"b":"\",\"x\":{\"payload\":\"QUJD\"}"}`,
		`{"dsseEnvelope":{"payload":"","payloadType":"t","signatures":[]}}`,
		`{"dsseEnvelope":{"payload":null,"payloadType":"t","signatures":[]}}`,
	} {
		f.Add([]byte(in))
	}
	old := bigBundleBytes
	bigBundleBytes = 0 // every input takes the scan
	f.Cleanup(func() { bigBundleBytes = old })
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ferr := unmarshalBundle(data)
		var whole bundle.Bundle
		werr := whole.UnmarshalJSON(data)
		if (ferr == nil) != (werr == nil) {
			t.Fatalf("scan says %v, protojson %v", ferr, werr)
		}
		if ferr == nil && !proto.Equal(fast.Bundle, whole.Bundle) {
			t.Fatalf("the bundles differ")
		}
	})
}
