// Package keyless finds the OIDC identity token a keyless signature is
// bound to: given explicitly, from the CI environment (GitHub Actions'
// token endpoint, GitLab CI's SIGSTORE_ID_TOKEN), or from an interactive
// browser flow when a person signs.
package keyless

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// ErrNoToken means no source gave an identity token.
var ErrNoToken = errors.New("no OIDC identity token: pass --identity-token, set SIGSTORE_ID_TOKEN, run in GitHub Actions with id-token: write, or sign interactively in a terminal")

// Sources are the places a token may come from, tried in order.
type Sources struct {
	// Flag is --identity-token: a token, or a file holding one.
	Flag string
	// Getenv reads the environment (os.Getenv); nil means none.
	Getenv func(string) string
	// HTTP fetches GitHub Actions' token. Default http.DefaultClient.
	HTTP *http.Client
	// Interactive runs a browser flow; nil when no person is there.
	Interactive func(ctx context.Context) (string, error)
	// Audience for CI token requests. Default "sigstore".
	Audience string
}

// Token returns a token and where it came from.
func Token(ctx context.Context, s Sources) (string, string, error) {
	if s.Flag != "" {
		if b, err := os.ReadFile(s.Flag); err == nil {
			return strings.TrimSpace(string(b)), "file " + s.Flag, nil
		}
		return s.Flag, "--identity-token", nil
	}
	get := s.Getenv
	if get == nil {
		get = func(string) string { return "" }
	}
	if t := get("SIGSTORE_ID_TOKEN"); t != "" {
		return t, "SIGSTORE_ID_TOKEN", nil
	}
	if u, bearer := get("ACTIONS_ID_TOKEN_REQUEST_URL"), get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"); u != "" && bearer != "" {
		t, err := gitHubActions(ctx, s.client(), u, bearer, s.audience())
		return t, "GitHub Actions", err
	}
	if s.Interactive != nil {
		t, err := s.Interactive(ctx)
		return t, "browser sign-in", err
	}
	return "", "", ErrNoToken
}

func (s Sources) client() *http.Client {
	if s.HTTP != nil {
		return s.HTTP
	}
	return http.DefaultClient
}

func (s Sources) audience() string {
	if s.Audience != "" {
		return s.Audience
	}
	return "sigstore"
}

// gitHubActions asks the Actions runtime for a token with the audience.
func gitHubActions(ctx context.Context, c *http.Client, reqURL, bearer, audience string) (string, error) {
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", fmt.Errorf("ACTIONS_ID_TOKEN_REQUEST_URL: %w", err)
	}
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("fetching the GitHub Actions identity token: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("fetching the GitHub Actions identity token: HTTP %d (does the job have permissions: id-token: write?)", resp.StatusCode)
	}
	var body struct {
		Value string `json:"value"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil || body.Value == "" {
		return "", fmt.Errorf("fetching the GitHub Actions identity token: no token in the answer")
	}
	return body.Value, nil
}
