package policy_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/policy"
)

const recallHeader = "apiVersion: signet.dev/v1alpha1\nkind: RecallList\n"

var recalledDigest = "sha256:" + strings.Repeat("ab", 32)

// TestKeyWindowsCompile: validFrom and validUntil are RFC 3339 times on a
// key, in order; a keyless identity takes none.
func TestKeyWindowsCompile(t *testing.T) {
	t.Parallel()
	signer := func(extra string) string {
		return header + "images:\n  - pattern: a/**\n    signers: [{name: a, key: release.pub" + extra + "}]\n"
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	until := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	c, err := compile(t, signer(", validFrom: 2026-01-01T00:00:00Z, validUntil: 2026-07-01T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Rules[0].Signers[0]; !s.ValidFrom.Equal(from) || !s.ValidUntil.Equal(until) {
		t.Fatalf("window %s..%s, want %s..%s", s.ValidFrom, s.ValidUntil, from, until)
	}
	cases := []struct{ name, doc, want string }{
		{"not RFC 3339", signer(", validUntil: 2026-07-01"), `validUntil: "2026-07-01" is not an RFC 3339 time`},
		{"empty window", signer(", validFrom: 2026-07-01T00:00:00Z, validUntil: 2026-01-01T00:00:00Z"), "is not after validFrom"},
		{"keyless", header + "images:\n  - pattern: a/**\n    signers: [{name: a, validUntil: 2026-07-01T00:00:00Z, keyless: {subject: s, issuer: i}}]\n",
			"a keyless identity's certificate carries its own validity"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := fieldErrors(t, tc.doc)
			if len(errs) != 1 || !strings.Contains(errs[0], tc.want) {
				t.Fatalf("got %q, want one problem saying %q", errs, tc.want)
			}
		})
	}
}

// TestParseRecalls: what a recall list says, and every way one is refused.
func TestParseRecalls(t *testing.T) {
	t.Parallel()
	pub, err := keys.ParsePublicKey([]byte(pubPEM))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := keys.ID(pub)
	indented := "      " + strings.ReplaceAll(strings.TrimSpace(pubPEM), "\n", "\n      ")
	good := recallHeader + "version: 3\ndigests:\n  - {digest: " + recalledDigest + ", reason: bad base image}\nkeys:\n" +
		"  - publicKey: |\n" + indented + "\n    revokedFrom: 2026-03-01T00:00:00Z\n    reason: leaked\n"
	r, err := policy.ParseRecalls([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if reason, ok := r.Recalled(recalledDigest); !ok || reason != "bad base image" {
		t.Errorf("Recalled = %q, %v; want the reason", reason, ok)
	}
	if _, ok := r.Recalled("sha256:" + strings.Repeat("cd", 32)); ok {
		t.Error("another digest is recalled")
	}
	if rv, ok := r.Revoked(id); !ok || rv.Reason != "leaked" || !rv.From.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Revoked = %+v, %v", rv, ok)
	}
	if r.Version != 3 || len(r.Digest) != 64 {
		t.Errorf("version %d, digest %q", r.Version, r.Digest)
	}
	cases := []struct{ name, doc, want string }{
		{"wrong kind", "apiVersion: signet.dev/v1alpha1\nkind: Policy\nversion: 1\n", "kind must be"},
		{"no version", recallHeader, "version must be a positive number"},
		{"unknown field", recallHeader + "version: 1\ndigest: []\n", "field digest not found"},
		{"short digest", recallHeader + "version: 1\ndigests: [{digest: sha256:ab, reason: x}]\n", "digests[0]: \"sha256:ab\" is not sha256"},
		{"no reason", recallHeader + "version: 1\ndigests: [{digest: " + recalledDigest + "}]\n", "digests[0]: a reason is required"},
		{"twice", recallHeader + "version: 1\ndigests: [{digest: " + recalledDigest + ", reason: x}, {digest: " + recalledDigest + ", reason: y}]\n", "recalled twice"},
		{"key by both", recallHeader + "version: 1\nkeys: [{keyId: " + id + ", publicKey: x, revokedFrom: 2026-03-01T00:00:00Z, reason: x}]\n", "exactly one of keyId or publicKey"},
		{"key time", recallHeader + "version: 1\nkeys: [{keyId: " + id + ", revokedFrom: yesterday, reason: x}]\n", "revokedFrom \"yesterday\" is not an RFC 3339 time"},
		{"key reason", recallHeader + "version: 1\nkeys: [{keyId: " + id + ", revokedFrom: 2026-03-01T00:00:00Z}]\n", "keys[0]: a reason is required"},
		{"key id in another form", recallHeader + "version: 1\nkeys: [{keyId: \"SHA256:q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s\", revokedFrom: 2026-03-01T00:00:00Z, reason: x}]\n", "is not a key ID as signet prints it"},
		{"not YAML", "{", "invalid recall list"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.ParseRecalls([]byte(tc.doc))
			if !errors.Is(err, policy.ErrInvalidRecalls) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrInvalidRecalls saying %q", err, tc.want)
			}
		})
	}
}

// TestRecallsInThePolicyDigest: the recall list a policy names is read
// with it, and a changed list changes the policy digest (and with it every
// cache key and which receipts count).
func TestRecallsInThePolicyDigest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "release.pub"), []byte(pubPEM), 0o644)
	doc := []byte(header + "images:\n  - pattern: a/**\n    signers: [{name: a, key: release.pub}]\nrecalls: recalls.yaml\n")
	hashWith := func(list string) (*policy.Compiled, error) {
		if err := os.WriteFile(filepath.Join(dir, "recalls.yaml"), []byte(list), 0o644); err != nil {
			t.Fatal(err)
		}
		return policy.Compile(doc, dir, keys.Loader{})
	}
	a, err := hashWith(recallHeader + "version: 1\n")
	if err != nil {
		t.Fatal(err)
	}
	b, err := hashWith(recallHeader + "version: 2\ndigests: [{digest: " + recalledDigest + ", reason: x}]\n")
	if err != nil {
		t.Fatal(err)
	}
	if a.Hash == b.Hash {
		t.Error("a new recall list left the policy digest unchanged")
	}
	if _, ok := b.Recalls.Recalled(recalledDigest); !ok {
		t.Error("the policy's recall list does not recall the digest")
	}
	_, err = hashWith(recallHeader + "version: 0\n")
	if !errors.Is(err, policy.ErrInvalid) || !strings.Contains(err.Error(), "recalls: ") {
		t.Fatalf("got %v, want the policy refused at its recalls field", err)
	}
}

// FuzzParseRecalls: a recall list parses or is refused as
// ErrInvalidRecalls; what parses answers lookups without panicking.
func FuzzParseRecalls(f *testing.F) {
	f.Add([]byte(recallHeader + "version: 1\ndigests: [{digest: " + recalledDigest + ", reason: x}]\n"))
	f.Add([]byte(recallHeader + "version: 2\nkeys: [{keyId: abc, revokedFrom: 2026-03-01T00:00:00Z, reason: x}]\n"))
	f.Add([]byte(`{"apiVersion":"signet.dev/v1alpha1","kind":"RecallList","version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := policy.ParseRecalls(data)
		if err != nil {
			if !errors.Is(err, policy.ErrInvalidRecalls) {
				t.Fatalf("refused without ErrInvalidRecalls: %v", err)
			}
			return
		}
		if r.Version < 1 {
			t.Fatalf("accepted version %d", r.Version)
		}
		r.Recalled(recalledDigest)
		r.Revoked("abc")
	})
}
