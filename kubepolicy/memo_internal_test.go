package kubepolicy

import (
	"context"
	"testing"
)

type oneKey struct{ pem []byte }

func (k *oneKey) PublicKey(context.Context, string, string) ([]byte, error) { return k.pem, nil }

// TestMemo: a resync compiles only what changed — the resource or the key
// its Secret holds — and forgets what is gone.
func TestMemo(t *testing.T) {
	key := &oneKey{placeholderKey()}
	c := &Compiler{Secrets: key, Namespace: "signet-system", memo: newMemo()}
	obj := func(pattern string) map[string]any {
		return map[string]any{"apiVersion": "signet.dev/v1alpha1", "kind": "SignetClusterPolicy", "metadata": map[string]any{"name": "p"},
			"spec": map[string]any{"images": []any{map[string]any{"pattern": pattern,
				"signers": []any{map[string]any{"name": "r", "key": "k8s://release"}}}}}}
	}
	compile := func(o map[string]any) *Compiled {
		t.Helper()
		res, err := c.Compile(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := compile(obj("a/**"))
	c.memo.next()
	if again := compile(obj("a/**")); again.Policy != first.Policy {
		t.Fatal("an unchanged policy was compiled again")
	}
	if other := compile(obj("b/**")); other.Policy == first.Policy {
		t.Fatal("a changed policy was not compiled again")
	}
	c.memo.next()
	key.pem = []byte("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE4sijuNUlxVxVVhPxMX5F/5w2GbBK\nOluVKTWJrAGV8oBbp832UcNYtnYxpqd52XFoxkYDZdVzOmTZEcAlSiuLzA==\n-----END PUBLIC KEY-----\n")
	if rotated := compile(obj("a/**")); rotated.Policy == first.Policy || rotated.Policy.Hash == first.Policy.Hash {
		t.Fatal("a rotated key was not compiled")
	}
	c.memo.next()
	c.memo.next()
	if len(c.memo.prev) != 0 || len(c.memo.cur) != 0 {
		t.Fatalf("the memo keeps %d and %d policies no sync used", len(c.memo.prev), len(c.memo.cur))
	}
}
