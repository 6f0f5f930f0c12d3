package attest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseDetachedPredicate(t *testing.T) {
	good := `{"predicateType":"https://cyclonedx.org/bom","digest":"sha256:` + strings.Repeat("ab", 32) +
		`","size":12,"mediaType":"application/vnd.cyclonedx+json","artifact":"sha256:` + strings.Repeat("cd", 32) + `"}`
	tests := []struct {
		name, in, reason string
	}{
		{"good", good, ""},
		{"unknown field", strings.Replace(good, `"size"`, `"extra":1,"size"`, 1), "unknown field"},
		{"no predicate type", strings.Replace(good, "https://cyclonedx.org/bom", "", 1), "names no predicateType"},
		{"nested", strings.Replace(good, "https://cyclonedx.org/bom", DetachedPredicateType, 1), "cannot itself be detached"},
		{"short digest", strings.Replace(good, strings.Repeat("ab", 32), "ab", 1), "is not sha256"},
		{"upper-case digest", strings.Replace(good, strings.Repeat("ab", 32), strings.Repeat("AB", 32), 1), "is not sha256"},
		{"bad artifact", strings.Replace(good, "sha256:"+strings.Repeat("cd", 32), "latest", 1), "artifact"},
		{"negative size", strings.Replace(good, `"size":12`, `"size":-1`, 1), "negative"},
		{"bad media type", strings.Replace(good, "application/vnd.cyclonedx+json", "cyclonedx", 1), "not type/subtype"},
		{"trailing data", good + "{}", "data after"},
		{"not an object", `[]`, "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseDetachedPredicate([]byte(tc.in))
			if tc.reason == "" {
				if err != nil || p.Size != 12 {
					t.Fatalf("want parsed, got %+v, %v", p, err)
				}
				return
			}
			if !errors.Is(err, ErrDetachedPredicate) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("want %q, got %v", tc.reason, err)
			}
		})
	}
}

func FuzzParseDetachedPredicate(f *testing.F) {
	f.Add([]byte(`{"predicateType":"https://cyclonedx.org/bom","digest":"sha256:` + strings.Repeat("ab", 32) +
		`","size":12,"mediaType":"application/vnd.cyclonedx+json","artifact":"sha256:` + strings.Repeat("cd", 32) + `"}`))
	f.Add([]byte(`{"size":1e30}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseDetachedPredicate(data)
		if err != nil {
			if !errors.Is(err, ErrDetachedPredicate) {
				t.Fatalf("error %v is not ErrDetachedPredicate", err)
			}
			return
		}
		// What parsed re-encodes to what parses the same.
		b, _ := json.Marshal(p)
		q, err := ParseDetachedPredicate(b)
		if err != nil || *q != *p {
			t.Fatalf("round trip: %+v, %v", q, err)
		}
	})
}
