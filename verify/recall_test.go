package verify_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// TestEngineKeyTimeClasses: the policy engine's class and reason for a
// signature its key's window or a recall list refuses — policy-denied for
// a key outside its window, revoked for a revoked key or a recalled
// digest — and the controls that still pass.
func TestEngineKeyTimeClasses(t *testing.T) {
	t.Parallel()
	w := newKeyTimeWorld(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "scanner.pub"), w.pub, 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	at := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
	pub, _ := keys.ParsePublicKey(w.pub)
	id, _ := keys.ID(pub)
	cases := []struct {
		name    string
		how     string
		window  string // added to the signer
		recalls string // a recall list's entries (DIGEST: the image's)
		class   verify.Class
		says    string
	}{
		{name: "inside the window", how: "rekor v1", window: "validFrom: " + at(-time.Hour) + ", validUntil: " + at(time.Hour)},
		{name: "retired key, new signature", how: "rekor v1", window: "validUntil: " + at(-time.Hour), class: verify.ClassPolicyDenied, says: "a retired key's new signatures do not count"},
		{name: "window, no trusted time", how: "none", window: "validUntil: " + at(time.Hour), class: verify.ClassPolicyDenied, says: "carries no trusted time"},
		{name: "revoked after the signature", how: "tsa", recalls: "keys: [{keyId: \"" + id + "\", revokedFrom: " + at(time.Hour) + ", reason: rotated}]"},
		{name: "revoked before the signature", how: "tsa", recalls: "keys: [{keyId: \"" + id + "\", revokedFrom: " + at(-time.Hour) + ", reason: rotated}]",
			class: verify.ClassRevoked, says: `revoked from ` + at(-time.Hour) + ` ("rotated")`},
		{name: "revoked, no trusted time", how: "none", recalls: "keys: [{keyId: \"" + id + "\", revokedFrom: " + at(time.Hour) + ", reason: rotated}]",
			class: verify.ClassRevoked, says: "no trusted time to show it was made before then"},
		{name: "recalled digest", how: "rekor v1", recalls: "digests: [{digest: DIGEST, reason: bad base image}]",
			class: verify.ClassRevoked, says: "recall [revoked]: "},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			image := w.signed(t, fmt.Sprintf("team/app:ek-%d", i), tc.how, nil, nil)
			signer := "{name: scanner, key: scanner.pub}"
			if tc.window != "" {
				signer = "{name: scanner, key: scanner.pub, " + tc.window + "}"
			}
			doc := "apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: \"" + w.reg.Host + "/**\"\n    signers: [" + signer + "]\n"
			c, err := policy.Compile([]byte(doc), dir, keys.Loader{})
			if err != nil {
				t.Fatal(err)
			}
			opts := []verify.EngineOption{verify.WithEngineTrustedRoot(w.trust), verify.WithCache(10, time.Hour, time.Hour)}
			if tc.recalls != "" {
				_, digest, _ := strings.Cut(image, "@")
				opts = append(opts, verify.WithEngineRecalls(w.recalls(t, "apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: 1\n"+strings.ReplaceAll(tc.recalls, "DIGEST", digest)+"\n")))
			}
			e, err := verify.NewEngine(w.client, c, opts...)
			if err != nil {
				t.Fatal(err)
			}
			for round := range 2 { // the second from the cache: the same verdict
				d := e.Decide(context.Background(), image)
				switch {
				case tc.class == "" && !d.Allowed:
					t.Fatalf("round %d: want allowed, got %s: %s", round, d.Class, d.Reason)
				case d.Class != tc.class:
					t.Fatalf("round %d: class %q, want %q; reason: %s", round, d.Class, tc.class, d.Reason)
				case !strings.Contains(d.Reason, tc.says):
					t.Fatalf("round %d: the reason does not say %q: %s", round, tc.says, d.Reason)
				}
			}
		})
	}
}
