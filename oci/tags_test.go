package oci_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/signet-dev/signet/oci"
)

// pagedTags serves /v2/team/app/tags/list two tags a page, linking to the
// next page as registries do; loop makes the last page link to itself.
func pagedTags(t *testing.T, tags []string, loop bool) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/team/app/tags/list" {
			return // the /v2/ ping
		}
		start, _ := strconv.Atoi(r.URL.Query().Get("page"))
		end := min(start+2, len(tags))
		switch {
		case end < len(tags):
			rw.Header().Set("Link", fmt.Sprintf(`</v2/team/app/tags/list?page=%d>; rel="next"`, end))
		case loop:
			rw.Header().Set("Link", fmt.Sprintf(`</v2/team/app/tags/list?page=%d>; rel="next"`, start))
		}
		json.NewEncoder(rw).Encode(map[string]any{"name": "team/app", "tags": tags[start:end]})
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://") + "/team/app"
}

func TestTags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tags := []string{"a", "b", "c", "d", "e"}
	got, err := oci.New().Tags(ctx, pagedTags(t, tags, false), 0)
	if err != nil || !slices.Equal(got, tags) {
		t.Errorf("Tags = %v, %v; want every page: %v", got, err, tags)
	}
	// A registry that pages forever is refused, not listed in part.
	if got, err := oci.New().Tags(ctx, pagedTags(t, tags, true), 10); err == nil || !strings.Contains(err.Error(), "more than 10 tags") {
		t.Errorf("Tags of an endless list = %v, %v; want an error", got, err)
	}
	if _, err := oci.New().Tags(ctx, "127.0.0.1:1/team/app", 0); !errors.Is(err, oci.ErrRegistry) {
		t.Errorf("Tags of a registry that is down: %v, want ErrRegistry", err)
	}
	if _, err := oci.New().Tags(ctx, "Team/App", 0); !errors.Is(err, oci.ErrInvalidReference) {
		t.Errorf("Tags of an invalid repository: %v, want ErrInvalidReference", err)
	}
}
