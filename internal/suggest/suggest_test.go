package suggest

import "testing"

func TestNearest(t *testing.T) {
	t.Parallel()
	schema := []string{"result", "scanner", "uri", "version", "id", "critical"}
	for in, want := range map[string]string{"reslt": "result", "Result": "result", "scnaner": "scanner", "ur": "uri",
		"critcal": "critical", "ids": "id", "xyz": "", "xy": "", "versions": "version", "summary": ""} {
		if got := Nearest(in, schema); got != want {
			t.Errorf("Nearest(%q) = %q, want %q", in, got, want)
		}
	}
	fields := []string{"transparencyLog", "signers", "workflowRepository", "digestRequired", "key"}
	for in, want := range map[string]string{"transparencyLogs": "transparencyLog", "workflowRepo": "workflowRepository",
		"digest_required": "digestRequired", "keyy": "key", "kee": "key", "colour": "", "key": ""} {
		if got := Nearest(in, fields); got != want {
			t.Errorf("Nearest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDistance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "abc", 0}, {"abc", "acb", 1}, {"kitten", "sitting", 3}, {"é", "e", 1}} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
