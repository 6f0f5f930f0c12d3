package verify_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/internal/rekorv1test"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/verify"
)

// TestRotationTimeline: key A is retired at T and key B takes over (one
// signer entry per key version, each with its window, as a rotated KMS key
// is written). The log's clock is moved to lay the signatures out around
// T: what A signed before T and what B signed after stay valid; A's new
// signature, B's signature from before its window and B's unlogged one do
// not count. Then a recall list recalls one digest and revokes A from
// T-30m instead, and the verdicts follow.
func TestRotationTimeline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg, client, dir := registrytest.New(t, true), oci.New(), t.TempDir()
	rekor := rekorv1test.Start(t)
	logged, unlogged := map[string]*sign.Signer{}, map[string]*sign.Signer{}
	ids := map[string]string{}
	for _, n := range []string{"a", "b"} {
		priv, _ := keys.Generate(keys.ECDSAP256)
		pub, _ := keys.PublicKeyPEM(priv.Public())
		if err := os.WriteFile(filepath.Join(dir, n+".pub"), pub, 0o644); err != nil {
			t.Fatal(err)
		}
		ids[n], _ = keys.ID(priv.Public())
		sv, _ := keys.SignerVerifier(priv)
		lw, _ := tlog.Service{URL: rekor.URL, APIVersion: 1}.Writer(0)
		var err error
		if logged[n], err = sign.New(sv, client, sign.WithTransparencyLog(lw)); err != nil {
			t.Fatal(err)
		}
		if unlogged[n], err = sign.New(sv, client); err != nil {
			t.Fatal(err)
		}
	}
	trust, err := tlog.TrustedRoot(tlog.LogInfo{URL: rekor.URL, PublicKey: rekor.Key.Public(), APIVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	rotation := now.Add(-2 * time.Hour) // T
	// signAt signs a new image with key n, logged at at (unlogged: zero).
	signAt := func(tag, n string, at time.Time) string {
		img := reg.PushImage(t, "team/app:"+tag).String()
		s := unlogged[n]
		if !at.IsZero() {
			rekor.Shift.Store(int64(at.Sub(time.Now())))
			s = logged[n]
		}
		if _, err := s.SignImage(ctx, img, sign.Request{}); err != nil {
			t.Fatal(err)
		}
		return img
	}
	images := []struct {
		tag, key string
		at       time.Time
	}{
		{"a-before", "a", rotation.Add(-time.Hour)},
		{"b-after", "b", rotation.Add(time.Hour)},
		{"a-after", "a", rotation.Add(time.Hour)},
		{"b-before", "b", rotation.Add(-time.Hour)},
		{"b-unlogged", "b", time.Time{}},
	}
	refs := map[string]string{}
	for _, im := range images {
		refs[im.tag] = signAt(im.tag, im.key, im.at)
	}
	rfc := func(t time.Time) string { return t.Format(time.RFC3339) }
	doc := fmt.Sprintf(`apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "%s/**"
    signers:
      - {name: release-v1, key: a.pub, validUntil: "%s"}
      - {name: release-v2, key: b.pub, validFrom: "%s"}
`, reg.Host, rfc(rotation), rfc(rotation))
	decide := func(t *testing.T, doc string, opts ...verify.EngineOption) map[string]*verify.Decision {
		c, err := policy.Compile([]byte(doc), dir, keys.Loader{})
		if err != nil {
			t.Fatal(err)
		}
		e, err := verify.NewEngine(client, c, append(opts, verify.WithEngineTrustedRoot(trust))...)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*verify.Decision{}
		for _, im := range images {
			out[im.tag] = e.Decide(ctx, refs[im.tag])
		}
		return out
	}
	type want struct {
		class verify.Class
		says  string
	}
	check := func(t *testing.T, got map[string]*verify.Decision, wants map[string]want) {
		for _, im := range images {
			d, w := got[im.tag], wants[im.tag]
			at := "unlogged"
			if !im.at.IsZero() {
				at = "logged " + rfc(im.at)
			}
			t.Logf("%-10s key %s, %-30s -> allowed=%v class=%q %s", im.tag, im.key, at, d.Allowed, d.Class, d.Reason)
			switch {
			case w.class == "" && !d.Allowed:
				t.Errorf("%s: want allowed, got %s: %s", im.tag, d.Class, d.Reason)
			case d.Class != w.class:
				t.Errorf("%s: class %q, want %q: %s", im.tag, d.Class, w.class, d.Reason)
			case !strings.Contains(d.Reason, w.says) && !strings.Contains(fmt.Sprint(d.Checks), w.says):
				t.Errorf("%s: the verdict does not say %q: %s", im.tag, w.says, d.Reason)
			}
		}
	}
	t.Run("rotation by windows", func(t *testing.T) {
		check(t, decide(t, doc), map[string]want{
			"a-before":   {"", "release-v1"},
			"b-after":    {"", "release-v2"},
			"a-after":    {verify.ClassPolicyDenied, "a retired key's new signatures do not count"},
			"b-before":   {verify.ClassPolicyDenied, "counts from " + rfc(rotation) + " (validFrom)"},
			"b-unlogged": {verify.ClassPolicyDenied, "carries no trusted time"},
		})
	})
	t.Run("recall list: a digest recalled, key A revoked from T-30m", func(t *testing.T) {
		_, recalled, _ := strings.Cut(refs["b-after"], "@")
		list, err := policy.ParseRecalls(fmt.Appendf(nil, "apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: 1\n"+
			"digests: [{digest: %s, reason: built from a poisoned base}]\nkeys: [{keyId: %q, revokedFrom: %q, reason: key A exposed}]\n",
			recalled, ids["a"], rfc(rotation.Add(-30*time.Minute))))
		if err != nil {
			t.Fatal(err)
		}
		plain := fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    signers:\n      - {name: release-v1, key: a.pub}\n      - {name: release-v2, key: b.pub}\n", reg.Host+"/**")
		check(t, decide(t, plain, verify.WithEngineRecalls(list)), map[string]want{
			"a-before":   {"", "release-v1"},
			"b-after":    {verify.ClassRevoked, "built from a poisoned base"},
			"a-after":    {verify.ClassRevoked, "key A exposed"},
			"b-before":   {"", "release-v2"},
			"b-unlogged": {"", "release-v2"},
		})
	})
}
