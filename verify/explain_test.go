package verify_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// TestEarlyFailureListsEveryCheck: a failure that ends a decision early (a
// tag rule, a lock, the registry) still lists every other check of the
// rule, as skipped and why, so an explanation shows what was not
// evaluated; the verdict, class and reason stay the first failure's.
func TestEarlyFailureListsEveryCheck(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	v1 := w.reg.PushImage(t, "team/app:v1")
	w.sign(t, "alice", v1.String())
	lock := &policy.LockFile{}
	lock.Set(w.reg.Host+"/team/app:v1", v1.DigestStr(), time.Now())
	lock.Set(w.reg.Host+"/team/app:v2", v1.DigestStr(), time.Now())
	if err := policy.WriteLock(filepath.Join(w.dir, "signet.lock"), lock); err != nil {
		t.Fatal(err)
	}
	w.reg.PushImage(t, "team/app:v2") // not what the lock pins
	w.reg.PushImage(t, "team/app:latest")
	doc := `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    mode: MODE
    signers: [{name: alice, key: alice.pub}]
    attestations:
      - {name: sbom, predicateType: cyclonedx, signers: [alice]}
    tags: {allowedTags: ["v*"], lock: signet.lock}
`
	for _, tc := range []struct {
		name, mode, image string
		allowed           bool
		failed            string   // the deciding check
		skipped           []string // in order
	}{
		{"tag refused", "enforce", "REG/team/app:latest", false, "tags", []string{"lock", "signatures", "attestation sbom"}},
		{"tag refused, warn mode", "warn", "REG/team/app:latest", true, "tags", []string{"lock", "signatures", "attestation sbom"}},
		{"lock: the tag moved", "enforce", "REG/team/app:v2", false, "lock", []string{"signatures", "attestation sbom"}},
		{"image missing", "enforce", "REG/team/app:v3", false, "resolve", []string{"lock", "signatures", "attestation sbom"}},
		{"every check evaluated", "enforce", "REG/team/app:v1", false, "attestation sbom", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := w.engine(t, strings.ReplaceAll(doc, "MODE", tc.mode))
			d := e.Decide(ctx, strings.ReplaceAll(tc.image, "REG", w.reg.Host))
			if d.Allowed != tc.allowed || !strings.HasPrefix(d.Reason, tc.failed+" [") {
				t.Fatalf("allowed %v reason %q, want allowed %v decided by %s", d.Allowed, d.Reason, tc.allowed, tc.failed)
			}
			var skipped []string
			for _, c := range d.Checks {
				if c.Outcome != verify.Skip {
					continue
				}
				skipped = append(skipped, c.Name)
				if want := "not evaluated: the " + tc.failed + " check failed first"; c.Message != want || c.Class != "" {
					t.Errorf("skipped %s: %q (class %q), want %q and no class", c.Name, c.Message, c.Class, want)
				}
			}
			if strings.Join(skipped, ", ") != strings.Join(tc.skipped, ", ") {
				t.Fatalf("skipped checks %q, want %q; checks: %+v", skipped, tc.skipped, d.Checks)
			}
		})
	}
}
