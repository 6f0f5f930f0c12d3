package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/signet-dev/signet/gate"
	"github.com/signet-dev/signet/internal/registrytest"
)

func TestGateBackfill(t *testing.T) {
	reg := registrytest.NewWrapped(t, false, registrytest.Paged(2))
	img, _ := random.Image(128, 1)
	reg.Push(t, "team/app:v1", img)
	reg.Push(t, "team/app:v2", img) // the same image: one job
	sig := reg.PushImage(t, "team/app:v3")
	reg.PushImage(t, "team/app:sha256-"+strings.TrimPrefix(sig.DigestStr(), "sha256:")+".sig")
	reg.PushImage(t, "team/lib:v1")
	reg.PushImage(t, "other/x:v1")
	state := t.TempDir()
	out, stderr, code := signet(t, "gate", "backfill", "--registry", reg.Host, "--state", state, "--max-workers", "2")
	if code != exitOK || !strings.Contains(out, "3 repositories, 5 tags (1 signature/attestation tag skipped), 4 images: 4 queued, 0 already queued or judged") ||
		!strings.Contains(stderr, "backfill: repositories 3/3, tags 5/5") {
		t.Fatalf("first backfill: exit %d, want 0 with 4 queued and progress on stderr:\n%s%s", code, out, stderr)
	}
	out, _, code = signet(t, "gate", "backfill", "--registry", reg.Host, "--state", state, "-o", "json")
	var res gate.BackfillResult
	if err := json.Unmarshal([]byte(out), &res); code != exitOK || err != nil || res.Queued != 0 || res.Known != 4 || res.Images != 4 {
		t.Fatalf("second backfill: exit %d, %v, %+v; want nothing queued, 4 known:\n%s", code, err, res, out)
	}
	out, _, code = signet(t, "gate", "backfill", "--registry", reg.Host, "--state", t.TempDir(), "--repository", "team/*", "--repository", "nothing")
	if code != exitOK || !strings.Contains(out, "2 repositories") || !strings.Contains(out, "3 queued") {
		t.Fatalf("--repository team/*: exit %d, want 2 repositories and 3 queued:\n%s", code, out)
	}
	if _, stderr, code := signet(t, "gate", "backfill", "--registry", reg.Host, "--max-workers", "0"); code != exitUsage || !strings.Contains(stderr, "--max-workers") {
		t.Fatalf("--max-workers 0: exit %d, want %d:\n%s", code, exitUsage, stderr)
	}
}

func TestGateBackfillRegistryError(t *testing.T) {
	deny := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/_catalog" {
				http.Error(w, `{"errors":[{"code":"DENIED","message":"catalogue access denied"}]}`, http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	reg := registrytest.NewWrapped(t, false, deny)
	_, stderr, code := signet(t, "gate", "backfill", "--registry", reg.Host, "--state", t.TempDir())
	if code != exitRegistry || !strings.Contains(stderr, "listing the repositories of "+reg.Host) || !strings.Contains(stderr, "catalogue access denied") {
		t.Fatalf("a registry refusing its catalogue: exit %d, want %d with the registry's message:\n%s", code, exitRegistry, stderr)
	}
}
