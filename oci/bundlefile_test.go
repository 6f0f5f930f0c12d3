package oci_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/oci"
)

func TestReadBundleFile(t *testing.T) {
	t.Parallel()
	const b1 = `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{},"dsseEnvelope":{"payload":"MQ=="}}`
	const b2 = `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{},"dsseEnvelope":{"payload":"Mg=="}}`
	cases := []struct {
		name    string
		content string
		want    []string // bundle contents, in order
		sources []string
		err     string
	}{
		{"one bundle", b1, []string{b1}, []string{"F"}, ""},
		{"pretty-printed bundle", "{\n  \"mediaType\": \"m\",\n  \"verificationMaterial\": {}\n}\n", []string{"{\n  \"mediaType\": \"m\",\n  \"verificationMaterial\": {}\n}"}, nil, ""},
		{"JSON Lines (gh attestation download)", b1 + "\n\n" + b2 + "\n", []string{b1, b2}, []string{"F:1", "F:3"}, ""},
		{"CRLF JSON Lines", b1 + "\r\n" + b2 + "\r\n", []string{b1, b2}, nil, ""},
		{"objects with a bundle field", `{"bundle":` + b1 + `,"repository_id":1}` + "\n" + `{"bundle":` + b2 + `}`, []string{b1, b2}, nil, ""},
		{"GitHub attestations response", `{"attestations":[{"bundle":` + b1 + `,"repository_id":1},{"bundle":` + b2 + `}]}`, []string{b1, b2}, []string{"F#1", "F#2"}, ""},
		{"empty", " \n", nil, nil, "is empty"},
		{"not JSON on line 2", b1 + "\n{not json\n", nil, nil, "line 2 is not JSON"},
		{"not a bundle on line 3", b1 + "\n" + b2 + "\n" + `{"hello":"world"}`, nil, nil, `line 3: neither a Sigstore bundle`},
		{"array", `[` + b1 + `]`, nil, nil, "not a JSON object"},
		{"API response without bundles", `{"attestations":[]}`, nil, nil, "lists no attestation"},
		{"API response with only a bundle URL", `{"attestations":[{"bundle":null,"bundle_url":"https://example/x"}]}`, nil, nil, "attestation 1: no \"bundle\", only a \"bundle_url\""},
		{"bundle field that is no bundle", `{"bundle":{"a":1}}`, nil, nil, `"bundle" is not a Sigstore bundle`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "F")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			arts, err := oci.ReadBundleFile(path)
			if tc.err != "" {
				if !errors.Is(err, oci.ErrBundleFile) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want ErrBundleFile saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(arts) != len(tc.want) {
				t.Fatalf("%d artifacts, want %d", len(arts), len(tc.want))
			}
			for i, a := range arts {
				if string(a.Content) != tc.want[i] || a.Kind != oci.KindBundle || a.Layout != oci.LayoutFile || a.Manifest.Hex != "" {
					t.Errorf("artifact %d: %+v (%s)", i, a, a.Content)
				}
				if tc.sources != nil && a.Annotations[oci.AnnotationBundleFile] != strings.Replace(tc.sources[i], "F", path, 1) {
					t.Errorf("artifact %d from %q, want %q", i, a.Annotations[oci.AnnotationBundleFile], tc.sources[i])
				}
			}
		})
	}
}

func TestReadBundleFileTooLarge(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "big.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(oci.MaxBundleFileBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := oci.ReadBundleFile(path); !errors.Is(err, oci.ErrBundleFile) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("got %v, want a refusal of the size", err)
	}
	if _, err := oci.ReadBundleFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v for a missing file", err)
	}
}

// TestReadBundleFileTooMany: a file of more bundles than a registry's
// referrers list may hold is refused, not verified bundle by bundle for
// every image.
func TestReadBundleFileTooMany(t *testing.T) {
	t.Parallel()
	const b = `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{},"dsseEnvelope":{"payload":"MQ=="}}` + "\n"
	path := filepath.Join(t.TempDir(), "many.jsonl")
	if err := os.WriteFile(path, []byte(strings.Repeat(b, 1001)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := oci.ReadBundleFile(path); !errors.Is(err, oci.ErrBundleFile) || !strings.Contains(err.Error(), "holds 1001 bundles, more than the 1000") {
		t.Fatalf("got %v, want a refusal of the count", err)
	}
	if err := os.WriteFile(path, []byte(strings.Repeat(b, 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	if arts, err := oci.ReadBundleFile(path); err != nil || len(arts) != 1000 {
		t.Fatalf("1000 bundles: %d, %v", len(arts), err)
	}
}
