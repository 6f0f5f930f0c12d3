package trustbundle

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A state directory that cannot be written refuses (fail closed): without
// it a rollback cannot be told.
func TestStateUnwritable(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.publish(1, "v1")
	for name, setup := range map[string]func(t *testing.T) string{
		"a file": func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "state")
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		},
		"bundles a file": func(t *testing.T) string {
			p := t.TempDir()
			if err := os.WriteFile(filepath.Join(p, "bundles"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		},
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := w.verifier(setup(t)).Verify(context.Background(), w.tag.String()); err == nil {
				t.Fatalf("accepted with a state it cannot keep: %+v", got)
			}
		})
	}
}

// A directory holding an older pulled bundle (its metadata with it) is
// refused by a verifier that has trusted a newer one.
func TestVerifyDirOlderThanTrusted(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.publish(1, "v1")
	old := t.TempDir()
	if _, err := w.verifier("").PullDir(context.Background(), w.tag.String(), old); err != nil {
		t.Fatal(err)
	}
	w.publish(2, "v2")
	v := w.verifier(t.TempDir())
	if got, err := v.Verify(context.Background(), w.tag.String()); err != nil || got.Version != 2 {
		t.Fatalf("%+v %v", got, err)
	}
	_, err := v.VerifyDir(context.Background(), old)
	wantClass(t, err, ClassRollback)
}
