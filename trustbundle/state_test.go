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
