package registrytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
)

// Paged wraps a registry so that /v2/_catalog and /v2/<repo>/tags/list
// answer at most size names a page, after ?last=, with a Link header to the
// next page, as the distribution registry does (go-containerregistry's
// in-memory registry cuts the list at n and sends no Link).
func Paged(size int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			catalog := r.URL.Path == "/v2/_catalog"
			if r.Method != http.MethodGet || !catalog && !strings.HasSuffix(r.URL.Path, "/tags/list") {
				next.ServeHTTP(w, r)
				return
			}
			inner := r.Clone(r.Context())
			inner.URL.RawQuery = ""
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, inner)
			if rec.Code != http.StatusOK {
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return
			}
			var body map[string]any
			json.Unmarshal(rec.Body.Bytes(), &body)
			key := "tags"
			if catalog {
				key = "repositories"
			}
			var names []string
			for _, v := range asSlice(body[key]) {
				names = append(names, fmt.Sprint(v))
			}
			slices.Sort(names)
			if last := r.URL.Query().Get("last"); last != "" {
				i, _ := slices.BinarySearch(names, last)
				for i < len(names) && names[i] <= last {
					i++
				}
				names = names[i:]
			}
			if len(names) > size {
				names = names[:size]
				q := url.Values{"n": {fmt.Sprint(size)}, "last": {names[size-1]}}
				w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, q.Encode()))
			}
			if names == nil {
				names = []string{}
			}
			body[key] = names
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(body)
		})
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
