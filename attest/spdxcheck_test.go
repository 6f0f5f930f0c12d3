package attest_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/attest"
)

// TestSPDXRequiredFields: an SPDX JSON document missing a field the SPDX 2.3
// schema requires is refused, naming it; tools-golang alone parses it.
func TestSPDXRequiredFields(t *testing.T) {
	t.Parallel()
	good := string(read(t, "sbom.spdx.json"))
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"valid", "", "", ""},
		{"package without downloadLocation", `"versionInfo": "1.3.1", "downloadLocation": "NOASSERTION", `, `"versionInfo": "1.3.1", `,
			`packages[1] (name "zlib"): required field "downloadLocation" is missing`},
		{"no creators", `"creators": ["Tool: signet-test"]`, `"creators": []`, `creationInfo.creators: has 0 items, fewer than the 1 it needs`},
		{"no creation info", `"creationInfo": {"created": "2026-11-30T10:00:00Z", "creators": ["Tool: signet-test"]},`, ``,
			`required field "creationInfo" is missing`},
		{"file without checksums", `"packages": [`, `"files": [{"SPDXID": "SPDXRef-File-a", "fileName": "./a"}], "packages": [`,
			`files[0]: required field "checksums" is missing`},
		{"relationship without type", `"packages": [`, `"relationships": [{"spdxElementId": "SPDXRef-DOCUMENT", "relatedSpdxElement": "SPDXRef-Package-zlib"}], "packages": [`,
			`relationships[0]: required field "relationshipType" is missing`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(good, tc.old, tc.new, 1)
			if tc.old != "" && doc == good {
				t.Fatal("the test's edit did not apply")
			}
			_, err := attest.BuildPredicate("spdxjson", []byte(doc), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("a valid document was refused: %v", err)
				}
				return
			}
			if !errors.Is(err, attest.ErrInvalidPredicate) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant ErrInvalidPredicate saying %q", err, tc.want)
			}
		})
	}
}
