package gate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestEventsAnswers: what POST /events answers, and what it queues, for
// bodies and events the gate must not act on (or act on once): an event
// without an id (its id is derived from its content, so sent twice it is
// one job), pulls, deletes and blob pushes (ignored), too many events in
// one body, and bodies that are no notification (refused, nothing queued).
func TestEventsAnswers(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	event := func(id, action, mediaType string, i int) map[string]any {
		return map[string]any{"id": id, "timestamp": at, "action": action,
			"target": map[string]any{"mediaType": mediaType, "digest": digestN(i), "size": 100, "repository": "team/app", "tag": "v1"}}
	}
	envelope := func(events ...map[string]any) string {
		b, _ := json.Marshal(map[string]any{"events": events})
		return string(b)
	}
	manifest := "application/vnd.oci.image.manifest.v1+json"
	var many []map[string]any
	for i := range maxEvents + 1 {
		many = append(many, event(fmt.Sprintf("ev-%d", i), "push", manifest, i))
	}
	tests := []struct {
		name   string
		bodies []string // sent in order
		code   int      // the last one's answer
		queued int
	}{
		{"no id, sent twice", []string{envelope(event("", "push", manifest, 1)), envelope(event("", "push", manifest, 1))}, http.StatusOK, 1},
		{"no id, two images", []string{envelope(event("", "push", manifest, 1), event("", "push", manifest, 2))}, http.StatusOK, 2},
		{"a pull", []string{envelope(event("ev-pull", "pull", manifest, 1))}, http.StatusOK, 0},
		{"a delete", []string{envelope(event("ev-delete", "delete", manifest, 1))}, http.StatusOK, 0},
		{"a blob push", []string{envelope(event("ev-blob", "push", "application/octet-stream", 1))}, http.StatusOK, 0},
		{"an unknown action", []string{envelope(event("ev-x", "mount", manifest, 1))}, http.StatusOK, 0},
		{"too many events", []string{envelope(many...)}, http.StatusBadRequest, 0},
		{"events null", []string{`{"events": null}`}, http.StatusBadRequest, 0},
		{"not JSON", []string{`events: [push]`}, http.StatusBadRequest, 0},
		{"an event of the wrong shape", []string{`{"events": [{"id": 7, "action": ["push"]}]}`}, http.StatusBadRequest, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := testStore(t, t.TempDir())
			h := testGate(st).Handler()
			code := 0
			for _, body := range tt.bodies {
				req := httptest.NewRequest(http.MethodPost, "/events", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer s3cret")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				code = rec.Code
			}
			n, err := st.queueDepth(context.Background())
			if code != tt.code || n != tt.queued || err != nil {
				t.Fatalf("answered %d with %d queued (%v), want %d with %d queued", code, n, err, tt.code, tt.queued)
			}
		})
	}
}
