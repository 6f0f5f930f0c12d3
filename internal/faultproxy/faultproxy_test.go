package faultproxy_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

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
