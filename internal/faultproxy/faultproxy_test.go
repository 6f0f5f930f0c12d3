package faultproxy_test

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/signet-dev/signet/internal/faultproxy"
)

func TestRules(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	p := faultproxy.New(t, u.Host)
	get := func() int {
		resp, err := http.Get("http://" + p.Host + "/x")
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		rule faultproxy.Rule
		want []int
	}{
		{faultproxy.Rule{Kind: faultproxy.Status, Code: 502, First: 2}, []int{502, 502, 200}},
		{faultproxy.Rule{Kind: faultproxy.Status, Code: 503, Probability: 1}, []int{503, 503}},
		{faultproxy.Rule{Kind: faultproxy.TooMany, RetryAfter: "1"}, []int{429}},
		{faultproxy.Rule{Kind: faultproxy.Reset}, []int{-1}},
		{faultproxy.Rule{Kind: faultproxy.Status, Code: 500, Method: "POST"}, []int{200}},
		{faultproxy.Rule{Kind: faultproxy.Throttle, RetryAfter: "1"}, []int{200, 429, 503, 200, 429, 503, 200}},
		{faultproxy.Rule{Kind: faultproxy.Throttle, Every: 2}, []int{200, 429, 200, 429}},
	} {
		p.Set(tc.rule)
		for i, want := range tc.want {
			if got := get(); got != want {
				t.Fatalf("%+v: request %d answered %d, want %d", tc.rule, i, got, want)
			}
		}
	}
}

// TestCounts: every request is counted by kind, held ones too, and a reset
// starts again from zero.
func TestCounts(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	p := faultproxy.New(t, u.Host)
	p.SetLatency(time.Millisecond)
	for _, path := range []string{"/v2/", "/v2/a/manifests/v1", "/v2/a/manifests/v1", "/v2/a/blobs/sha256:00", "/v2/a/referrers/sha256:00", "/v2/a/tags/list", "/x"} {
		resp, err := http.Get("http://" + p.Host + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s through a proxy with latency answered %d, want 200", path, resp.StatusCode)
		}
	}
	want := map[string]int{"ping": 1, "GET manifest": 2, "GET blob": 1, "GET referrers": 1, "GET tags": 1, "GET other": 1}
	if got := p.Counts(); !maps.Equal(got, want) {
		t.Errorf("counts %v, want %v", got, want)
	}
	if p.Total() != 7 {
		t.Errorf("total %d, want 7", p.Total())
	}
	p.ResetCounts()
	if p.Total() != 0 {
		t.Errorf("total %d after a reset, want 0", p.Total())
	}
}
