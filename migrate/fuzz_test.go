package migrate_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/migrate"
	"github.com/signet-dev/signet/policy"
)

// FuzzImport feeds the importer arbitrary documents (seeded with the
// fixtures): it must not panic, must fail only with ErrInvalid or
// ErrNoPolicies, and whatever policy it writes must compile.
func FuzzImport(f *testing.F) {
	for _, dir := range []string{"kyverno", "policy-controller"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
		if err != nil {
			f.Fatal(err)
		}
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte("apiVersion: v1\nkind: List\nitems: [{apiVersion: kyverno.io/v1, kind: ClusterPolicy}]\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	fakeKMS(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := migrate.Import([]migrate.File{{Name: "fuzz.yaml", Data: data}})
		if err != nil {
			if !errors.Is(err, migrate.ErrInvalid) && !errors.Is(err, migrate.ErrNoPolicies) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		_ = res.Report()
		doc, err := res.YAML()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := policy.Compile(doc, t.TempDir(), keys.Loader{}); err != nil {
			t.Fatalf("the imported policy does not compile: %v\n%s", err, doc)
		}
	})
}
