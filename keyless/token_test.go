package keyless_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/signet-dev/signet/keyless"
)

func TestTokenSources(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer runtime-secret" || r.URL.Query().Get("audience") != "sigstore" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		fmt.Fprint(w, `{"value":"gh-token"}`)
	}))
	defer gh.Close()
	file := filepath.Join(t.TempDir(), "token")
	os.WriteFile(file, []byte("file-token\n"), 0o600)
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cases := []struct {
		name        string
		src         keyless.Sources
		token, from string
		err         error
	}{
		{"flag", keyless.Sources{Flag: "literal"}, "literal", "--identity-token", nil},
		{"file", keyless.Sources{Flag: file}, "file-token", "file " + file, nil},
		{"gitlab", keyless.Sources{Getenv: env(map[string]string{"SIGSTORE_ID_TOKEN": "gl-token"})}, "gl-token", "SIGSTORE_ID_TOKEN", nil},
		{"github", keyless.Sources{Getenv: env(map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": gh.URL + "/token?x=1", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runtime-secret"})}, "gh-token", "GitHub Actions", nil},
		{"interactive", keyless.Sources{Interactive: func(context.Context) (string, error) { return "browser-token", nil }}, "browser-token", "browser sign-in", nil},
		{"none", keyless.Sources{}, "", "", keyless.ErrNoToken},
	}
	for _, tc := range cases {
		tok, from, err := keyless.Token(ctx, tc.src)
		if tok != tc.token || from != tc.from || !errors.Is(err, tc.err) {
			t.Errorf("%s: got %q %q %v", tc.name, tok, from, err)
		}
	}
	_, _, err := keyless.Token(ctx, keyless.Sources{Getenv: env(map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": gh.URL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "wrong"})})
	if err == nil {
		t.Error("refused GitHub token request: no error")
	}
}
