package migrate_test

import (
	"context"
	"crypto"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/migrate"
	"github.com/signet-dev/signet/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenCases are the imports compared with golden files: each fixture
// alone, and some together (their rules overlap).
func goldenCases(t *testing.T) map[string][]string {
	t.Helper()
	cases := map[string][]string{}
	for _, dir := range []string{"kyverno", "policy-controller"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no fixtures in testdata/%s: %v", dir, err)
		}
		for _, f := range files {
			cases[dir+"-"+strings.TrimSuffix(filepath.Base(f), ".yaml")] = []string{f}
		}
	}
	cases["combined-kyverno-and-policy-controller"] = []string{"testdata/kyverno/key.yaml", "testdata/policy-controller/github-actions.yaml"}
	cases["combined-same-pattern"] = []string{"testdata/policy-controller/key.yaml", "testdata/policy-controller/static-fail.yaml"}
	cases["combined-many"] = []string{"testdata/kyverno/keyless.yaml", "testdata/kyverno/policies-flux.yaml", "testdata/policy-controller/warn.yaml", "testdata/policy-controller/static-pass.yaml"}
	return cases
}

func read(t *testing.T, names ...string) []migrate.File {
	t.Helper()
	var out []migrate.File
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, migrate.File{Name: filepath.ToSlash(strings.TrimPrefix(n, "testdata/")), Data: b})
	}
	return out
}

// TestGolden imports every fixture and compares the policy (YAML) and the
// report with the golden files (go test ./migrate -run TestGolden -update
// rewrites them), and compiles every imported policy: what the importer
// writes must be a valid Signet policy.
func TestGolden(t *testing.T) {
	fakeKMS(t)
	for name, files := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			res, err := migrate.Import(read(t, files...))
			if err != nil && !errors.Is(err, migrate.ErrNoPolicies) {
				t.Fatal(err)
			}
			report := res.Report()
			golden(t, name+".report.txt", []byte(report))
			if res.Policy == nil {
				golden(t, name+".yaml", []byte("# nothing imported: "+err.Error()+"\n"))
				return
			}
			doc, err := res.YAML()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".yaml", doc)
			if _, err := policy.Compile(doc, t.TempDir(), keys.Loader{}); err != nil {
				t.Errorf("the imported policy does not compile: %v\n%s", err, doc)
			}
			js, err := res.JSON()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := policy.Compile(js, t.TempDir(), keys.Loader{}); err != nil {
				t.Errorf("the imported policy, as JSON, does not compile: %v", err)
			}
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./migrate -run TestGolden -update to write it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (go test ./migrate -run TestGolden -update rewrites it after review):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

var registerKMS sync.Once

// fakeKMS registers KMS providers for the schemes the fixtures name (and
// k8s://, which the admission webhook resolves), each answering with a
// test key of its own per key reference (a policy refuses two signers with
// one key), so the imported policies compile without a cloud or cluster.
func fakeKMS(t testing.TB) {
	t.Helper()
	registerKMS.Do(func() {
		var (
			mu   sync.Mutex
			byID = map[string]fakeSV{}
		)
		for _, scheme := range []string{"awskms://", "gcpkms://", "azurekms://", "hashivault://", "k8s://"} {
			kms.AddProvider(scheme, func(_ context.Context, id string, _ crypto.Hash, _ ...signature.RPCOption) (kms.SignerVerifier, error) {
				mu.Lock()
				defer mu.Unlock()
				if sv, ok := byID[id]; ok {
					return sv, nil
				}
				priv, err := keys.Generate(keys.ECDSAP256)
				if err != nil {
					return nil, err
				}
				sv, err := keys.SignerVerifier(priv)
				if err != nil {
					return nil, err
				}
				byID[id] = fakeSV{sv}
				return byID[id], nil
			})
		}
	})
}

type fakeSV struct{ signature.SignerVerifier }

func (fakeSV) CreateKey(context.Context, string) (crypto.PublicKey, error) { return nil, nil }
func (fakeSV) CryptoSigner(context.Context, func(error)) (crypto.Signer, crypto.SignerOpts, error) {
	return nil, nil, errors.New("unsupported")
}
func (fakeSV) SupportedAlgorithms() []string { return nil }
func (fakeSV) DefaultAlgorithm() string      { return "" }
