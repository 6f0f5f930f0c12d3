package oci

import (
	"encoding/json"
	"testing"
)

// FuzzParseBundleFile: whatever a bundle file holds, the parser returns
// bundles that are JSON objects, or an error; it never panics.
func FuzzParseBundleFile(f *testing.F) {
	const b = `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{}}`
	for _, s := range []string{b, b + "\n" + b, `{"bundle":` + b + `}`, `{"attestations":[{"bundle":` + b + `}]}`,
		`{"attestations":[{"bundle":null,"bundle_url":"u"}]}`, "\n\n{", `[]`, `{"attestations":{}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		arts, err := parseBundleFile("f", data)
		if err != nil {
			if len(arts) != 0 {
				t.Fatalf("artifacts with an error: %v", err)
			}
			return
		}
		if len(arts) == 0 {
			t.Fatal("no artifacts and no error")
		}
		for _, a := range arts {
			var obj map[string]json.RawMessage
			if json.Unmarshal(a.Content, &obj) != nil || !isBundle(obj) || a.Layout != LayoutFile || a.Kind != KindBundle {
				t.Fatalf("artifact %+v: %q", a, a.Content)
			}
		}
	})
}
