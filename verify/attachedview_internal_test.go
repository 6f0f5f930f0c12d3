package verify

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestReduceStatement(t *testing.T) {
	big := `"` + strings.Repeat("x", summaryMemberBytes+10) + `"`
	tests := []struct {
		name   string
		raw    string
		reason string // "" when reduced
	}{
		{"kept and left out", `{"_type":"t","subject":[{"name":"a"}],"predicate":{"small":1,"big":[` + big + `]}}`, ""},
		{"not an object", `[1]`, "not a JSON object"},
		{"predicate twice", `{"predicate":{"a":1},"predicate":{"a":2}}`, "two members named predicate"},
		{"no predicate", `{"_type":"t"}`, "no predicate"},
		{"predicate not an object", `{"predicate":[1,2]}`, "its predicate"},
		{"data after the end", `{"predicate":{}} {}`, "data after its end"},
		{"truncated", `{"predicate":{"a":[1,2`, "cannot be read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, summary, err := reduceStatement([]byte(tc.raw))
			if tc.reason != "" {
				if !errors.Is(err, errStatementShape) || !strings.Contains(err.Error(), tc.reason) {
					t.Fatalf("want refused (%q), got %v", tc.reason, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o := omittedOf(summary); len(o) != 1 || o[0] != "big" {
				t.Fatalf("want big left out, got %v", o)
			}
			var st map[string]any
			if err := json.Unmarshal(got, &st); err != nil {
				t.Fatal(err)
			}
			if want := map[string]any{"small": float64(1)}; !reflect.DeepEqual(st["predicate"], want) || st["_type"] != "t" {
				t.Fatalf("want the small member and the statement's own members kept, got %v", st)
			}
		})
	}
}

// FuzzReduceStatement: what a condition sees of a statement over the memory
// cap agrees with the whole statement: each member kept (of the statement
// and of its predicate) is the member the whole statement has, and a
// member is either kept or named in summary.omitted.
func FuzzReduceStatement(f *testing.F) {
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"00"}}],"predicateType":"x","predicate":{"a":1,"b":[1,2],"c":{"d":"e"}}}`))
	f.Add([]byte(`{"predicate":{"a":1,"a":2,"b":{"c":1,"c":[2]}},"x":null}`))
	f.Add([]byte(`{"predicate":{"\u0061":"\ud83d\ude00"},"predicateType":1e400}`))
	f.Add([]byte(`{"predicate":{"ok":true,"big":[` + strings.Repeat(`"xxxxxxxx",`, summaryMemberBytes/10) + `-1E+400]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		reduced, summary, err := reduceStatement(data)
		if err != nil {
			return
		}
		var whole, part map[string]any
		wholeErr := json.Unmarshal(data, &whole)
		if err := json.Unmarshal(reduced, &part); err != nil {
			return // refused as the whole is
		}
		if wholeErr != nil {
			t.Fatalf("a condition would read a statement json.Unmarshal refuses (%v): %s", wholeErr, data)
		}
		for k, v := range part {
			if k == "predicate" {
				continue
			}
			if !reflect.DeepEqual(v, whole[k]) {
				t.Fatalf("statement member %q: reduced %v, whole %v", k, v, whole[k])
			}
		}
		wp, _ := whole["predicate"].(map[string]any)
		pp, _ := part["predicate"].(map[string]any)
		omitted := omittedOf(summary)
		for k, v := range wp {
			kept, ok := pp[k]
			if !ok {
				if !strings.Contains(strings.Join(omitted, "\x00")+"\x00", k+"\x00") {
					t.Fatalf("predicate member %q neither kept nor omitted", k)
				}
				continue
			}
			if !reflect.DeepEqual(kept, v) {
				for _, o := range omitted {
					if o == k {
						return // a repeated member, one copy left out: refused if read
					}
				}
				t.Fatalf("predicate member %q: reduced %v, whole %v", k, kept, v)
			}
		}
	})
}

// BenchmarkReduceStatement: streaming over a 20 MB statement (an SBOM of
// small components), as a condition over a large attached attestation does.
func BenchmarkReduceStatement(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://cyclonedx.org/bom","predicate":{"bomFormat":"CycloneDX","components":[`)
	for i := 0; sb.Len() < 20<<20; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"type":"library","name":"package-1","version":"1.0.0","purl":"pkg:generic/package-1@1.0.0","licenses":[{"license":{"id":"Apache-2.0"}}]}`)
	}
	sb.WriteString(`]}}`)
	raw := []byte(sb.String())
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for range b.N {
		if _, _, err := reduceStatement(raw); err != nil {
			b.Fatal(err)
		}
	}
}
