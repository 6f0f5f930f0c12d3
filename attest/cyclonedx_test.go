package attest_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/attest"
)

// bom returns a CycloneDX BOM of the given version with the components
// given as JSON, and extra top-level fields appended.
func bom(version, components string, extra ...string) string {
	fields := []string{`"bomFormat": "CycloneDX"`, fmt.Sprintf(`"specVersion": %q`, version), `"version": 1`,
		`"serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"`, `"components": [` + components + `]`}
	return "{" + strings.Join(append(fields, extra...), ", ") + "}"
}

// TestCycloneDXSchema: a BOM is checked against the CycloneDX schema of the
// version it declares, and a refusal says where and what.
func TestCycloneDXSchema(t *testing.T) {
	t.Parallel()
	lib := `{"type": "library", "name": "openssl", "version": "3.0.13"}`
	for _, tc := range []struct {
		name, doc string
		want      string // "" when valid
	}{
		{"testdata", string(read(t, "sbom.cdx.json")), ""},
		{"1.4", bom("1.4", lib), ""},
		{"1.6", bom("1.6", lib), ""},
		{"specVersion last", `{"bomFormat": "CycloneDX", "components": [` + lib + `], "version": 1, "specVersion": "1.6"}`, ""},
		{"a license id newer than the bundled SPDX list", bom("1.6", `{"type": "library", "name": "x", "licenses": [{"license": {"id": "MIT-Khronos-old"}}]}`), ""},
		{"1.5 expression with bom-ref (a later fix to the 1.5 schema)", bom("1.5", `{"type": "library", "name": "x", "licenses": [{"expression": "MIT OR Apache-2.0", "bom-ref": "l1"}]}`), ""},
		{"1.5 without version (a later fix to the 1.5 schema)", `{"bomFormat": "CycloneDX", "specVersion": "1.5"}`, ""},
		{"signature algorithm by name (one of two forms)", bom("1.6", `{"type": "application", "name": "x", "signature": {"algorithm": "ES256", "value": "abc"}}`), ""},

		{"component without type", bom("1.5", `{"name": "openssl"}`),
			`not valid CycloneDX 1.5 (checked against its JSON schema): components[0] (name "openssl"): required field "type" is missing`},
		{"component without type, specVersion last", `{"bomFormat": "CycloneDX", "version": 1, "components": [` + lib + `, {"name": "zlib"}], "specVersion": "1.6"}`,
			`CycloneDX 1.6 (checked against its JSON schema): components[1] (name "zlib"): required field "type" is missing`},
		{"1.4 without version", `{"bomFormat": "CycloneDX", "specVersion": "1.4"}`, `required field "version" is missing at the top level`},
		{"type not in the enum", bom("1.6", `{"type": "libary", "name": "x"}`), `components[0] (name "x").type: "libary" is not one of "application", "framework", "library"`},
		{"type of the wrong kind", bom("1.5", `{"type": 3, "name": "x"}`), `components[0] (name "x").type: must be a string, not the number 3`},
		{"misspelt field", bom("1.6", `{"type": "library", "nmae": "x"}`), `components[0]: field "nmae" is not allowed here (did you mean "name"?)`},
		{"misspelt top-level field", bom("1.6", lib, `"dependecies": []`), `field "dependecies" is not allowed at the top level (did you mean "dependencies"?)`},
		{"serial number in upper case", strings.Replace(bom("1.6", lib), "3e671687", "3E671687", 1), `serialNumber: "urn:uuid:3E671687`},
		{"a component twice", bom("1.6", lib+", "+lib), `components[1] (name "openssl"): repeats components[0]`},
		{"nested component", bom("1.6", `{"type": "library", "name": "a", "components": [{"type": "file"}]}`), `components[0] (name "a").components[0]: required field "name" is missing`},
		{"bad timestamp", bom("1.6", lib, `"metadata": {"timestamp": "yesterday"}`), `metadata.timestamp: "yesterday" is not a date and time`},
		{"hash that is not hex", bom("1.6", `{"type": "library", "name": "x", "hashes": [{"alg": "SHA-256", "content": "zz"}]}`), `components[0] (name "x").hashes[0].content: "zz" does not match`},
		{"license choice mixing forms", bom("1.6", `{"type": "library", "name": "x", "licenses": [{"expression": "MIT"}, {"license": {"id": "MIT"}}]}`), `components[0] (name "x").licenses`},
		{"version 1.2", `{"bomFormat": "CycloneDX", "specVersion": "1.2"}`, `specVersion "1.2": Signet accepts CycloneDX 1.4, 1.5 or 1.6`},
		{"specVersion a number", `{"bomFormat": "CycloneDX", "specVersion": 1.6}`, `specVersion is 1.6; it is a string such as "1.6"`},
		{"no specVersion", `{"bomFormat": "CycloneDX"}`, `specVersion is missing`},
		{"no bomFormat", `{"specVersion": "1.6"}`, `bomFormat is missing`},
		{"specVersion twice", `{"bomFormat": "CycloneDX", "specVersion": "1.5", "specVersion": "1.6"}`, `field "specVersion" appears twice`},
		{"trailing data", bom("1.6", lib) + "{}", `trailing data after the BOM`},
		{"not JSON", `{"bomFormat": "CycloneDX", "components": [{"name": }]}`, `components[0]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := attest.CheckCycloneDX(strings.NewReader(tc.doc))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("a valid BOM was refused: %v", err)
				}
				return
			}
			if !errors.Is(err, attest.ErrInvalidPredicate) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant ErrInvalidPredicate saying %q", err, tc.want)
			}
		})
	}
}

// TestCycloneDXStreamedSchema: a large BOM, checked while streaming, is held
// to the schema too — here its last component lacks the type it must have,
// and specVersion comes after the components.
func TestCycloneDXStreamedSchema(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "big.cdx.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	const n = 5000
	fmt.Fprint(w, `{"bomFormat": "CycloneDX", "version": 1, "components": [`)
	for i := range n {
		typ := `"type": "library", `
		if i == n-1 {
			typ = ""
		}
		fmt.Fprintf(w, `{%s"name": "pkg-%d", "version": "1.0.%d", "purl": "pkg:generic/pkg-%d@1.0.%d"},`, typ, i, i, i, i)
	}
	fmt.Fprint(w, `{"type": "library", "name": "last"}], "specVersion": "1.6"}`)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = attest.Check(attest.Request{Type: "cyclonedx", PredicatePath: path}, attest.WithStreamingThreshold(1))
	want := fmt.Sprintf(`components[%d] (name "pkg-%d"): required field "type" is missing`, n-1, n-1)
	if !errors.Is(err, attest.ErrInvalidPredicate) || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v\nwant ErrInvalidPredicate saying %q", err, want)
	}
}
