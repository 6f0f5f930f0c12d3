package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/doctor"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
)

// damagedFallback is an image in a registry without the referrers API
// whose fallback index lists a manifest that is not its referrer.
func damagedFallback(t *testing.T) string {
	reg := registrytest.New(t, false)
	img := reg.PushImage(t, "team/app:v1")
	other := reg.PushImage(t, "team/app:v2")
	d, err := remote.Get(other)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{d.Descriptor}})
	if err != nil {
		t.Fatal(err)
	}
	if err := oci.New().PutManifest(context.Background(), oci.FallbackTag(img), raw, types.OCIImageIndex); err != nil {
		t.Fatal(err)
	}
	return img.String()
}

// TestDoctorJSON: -o json carries the findings, the repair and the signed
// heads; exit 4 while damage remains, 0 once repaired.
func TestDoctorJSON(t *testing.T) {
	t.Setenv("SIGNET_HOME", t.TempDir())
	t.Setenv("SIGNET_PASSWORD", "pw")
	t.Setenv("COSIGN_PASSWORD", "")
	dir := t.TempDir()
	t.Chdir(dir) // tag init writes the trusted root into the working directory
	img := damagedFallback(t)
	repo, _, _ := strings.Cut(img, "@")
	key := filepath.Join(dir, "release")
	plainKeyPair(t, key)
	tagged := repo + ":v1"
	for _, args := range [][]string{
		{"sign", "--no-tlog", "--key", key + ".key", tagged},
		{"tag", "init", "--no-tlog", "--root-key", key + ".key", "--key", key + ".key", repo},
		{"tag", "sign", "--no-tlog", "--key", key + ".key", tagged},
	} {
		if out, stderr, code := signet(t, args...); code != exitOK {
			t.Fatalf("signet %v: exit %d\n%s%s", args, code, out, stderr)
		}
	}
	report := func(args ...string) (doctor.Report, int) {
		t.Helper()
		out, stderr, code := signet(t, append([]string{"doctor", "-o", "json"}, args...)...)
		var r doctor.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("doctor -o json %v: %v\n%s%s", args, err, out, stderr)
		}
		return r, code
	}
	r, code := report(tagged)
	fb := r.Subjects[0].Fallback
	// The signature just made is listed (with what sign wrote), after the
	// planted entry for another image.
	if code != exitInvalid || r.Healthy || r.ReferrersAPI || len(fb.Findings) != 1 || fb.Findings[0].Problem != doctor.OtherSubject || fb.Kinds[oci.KindBundle] != 1 {
		t.Fatalf("exit %d, report %+v; want exit 4 with one other-subject finding and one bundle", code, r)
	}
	if h := r.Heads; !h.Metadata || !h.Signed || !h.Current || h.Tag != "v1" {
		t.Fatalf("signed heads %+v, want tag v1 signed with this image as its head", h)
	}
	r, code = report("--fix", tagged)
	fix := r.Subjects[0].Fallback.Fix
	if code != exitOK || !r.Healthy || fix == nil || !fix.Fixed || len(fix.Changes) != 1 || !strings.HasPrefix(fix.Changes[0], "dropped ") || fix.Before == fix.After {
		t.Fatalf("--fix: exit %d, fix %+v; want one entry dropped", code, fix)
	}
	if r, code = report(tagged); code != exitOK || !r.Healthy || r.Subjects[0].Fallback.Entries != 1 {
		t.Fatalf("after --fix: exit %d, %+v; want healthy with the one signature", code, r.Subjects[0].Fallback)
	}
}

// TestDoctorHelp: --help shows what it checks and examples.
func TestDoctorHelp(t *testing.T) {
	out, _, code := signet(t, "doctor", "--help")
	for _, want := range []string{"referrers API", "--fix", "Examples:", "signet doctor --fix", "-o json"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Fatalf("doctor --help (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
}
