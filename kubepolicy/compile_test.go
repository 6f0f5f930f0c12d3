package kubepolicy_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/kubepolicy"
	"github.com/signet-dev/signet/policy"
)

// newKey returns a fresh public key as PEM.
func newKey(t testing.TB) string {
	t.Helper()
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := keys.PublicKeyPEM(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return string(pub)
}

// secrets is a fake Secret store that records what was read.
type secrets struct {
	mu    sync.Mutex
	keys  map[string]string // namespace/name: cosign.pub
	reads []string
}

func (s *secrets) PublicKey(_ context.Context, namespace, name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads = append(s.reads, namespace+"/"+name)
	k, ok := s.keys[namespace+"/"+name]
	if !ok {
		return nil, fmt.Errorf("the Secret %s/%s does not exist", namespace, name)
	}
	return []byte(k), nil
}

// object is a policy resource of kind with spec (YAML).
func object(t testing.TB, kind, namespace, name, spec string) map[string]any {
	t.Helper()
	obj := map[string]any{"apiVersion": "signet.dev/v1alpha1", "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": namespace, "generation": int64(3)}}
	if spec != "" {
		var s any
		if err := yaml.Unmarshal([]byte(spec), &s); err != nil {
			t.Fatal(err)
		}
		obj["spec"] = s
	}
	return obj
}

// quoted quotes a PEM key for a YAML flow mapping.
func quoted(pem string) string { return fmt.Sprintf("%q", pem) }

func TestCompile(t *testing.T) {
	pem := newKey(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "cosign.pub")
	os.WriteFile(keyFile, []byte(pem), 0o644)
	t.Chdir(dir) // a relative key path would find cosign.pub here: it must not be read
	store := &secrets{keys: map[string]string{
		"signet-system/release": pem,
		"team-a/release":        pem,
		"team-b/release":        pem,
		"team-a/notakey":        "password=hunter2",
	}}
	c := &kubepolicy.Compiler{Secrets: store, Namespace: "signet-system"}
	signer := func(key string) string {
		return "{images: [{pattern: 'registry.example.com/**', signers: [{name: release, " + key + "}]}]}"
	}
	cases := []struct {
		name, kind, namespace, spec string
		// wantErr is the field and message expected ("" for none).
		wantErr string
		// reads are the Secrets that may be read.
		reads []string
	}{
		{"inline key", kubepolicy.ClusterKind, "", signer("publicKey: " + quoted(pem)), "", nil},
		{"secret", kubepolicy.ClusterKind, "", signer("key: 'k8s://signet-system/release'"), "", []string{"signet-system/release"}},
		// Attack: a cluster policy's key is trusted everywhere; read from
		// team-b, whoever writes Secrets there could replace it.
		{"cluster policy: another namespace's secret", kubepolicy.ClusterKind, "", signer("key: 'k8s://team-b/release'"),
			"spec.images[0].signers[0].key: a SignetClusterPolicy may read Secrets only in the webhook's namespace (signet-system)", nil},
		{"secret in the webhook's namespace", kubepolicy.ClusterKind, "", signer("key: 'k8s://release'"), "", []string{"signet-system/release"}},
		{"namespaced: own secret", kubepolicy.NamespacedKind, "team-a", signer("key: 'k8s://team-a/release'"), "", []string{"team-a/release"}},
		{"namespaced: another namespace's secret", kubepolicy.NamespacedKind, "team-a", signer("key: 'k8s://team-b/release'"),
			"spec.images[0].signers[0].key: a SignetPolicy may read Secrets only in its own namespace (team-a)", nil},
		{"namespaced: short form is the webhook's namespace", kubepolicy.NamespacedKind, "team-a", signer("key: 'k8s://release'"),
			"names Secret signet-system/release; put the Secret in team-a and write key: k8s://team-a/release", nil},
		{"namespaced: KMS", kubepolicy.NamespacedKind, "team-a", signer("key: 'awskms:///arn:aws:kms:eu-west-1:1:key/x'"),
			"a SignetPolicy cannot use a KMS key", nil},
		{"key file next to the webhook", kubepolicy.ClusterKind, "", signer("key: cosign.pub"), "spec.images[0].signers[0].key: a policy resource cannot read key files", nil},
		{"absolute key file", kubepolicy.ClusterKind, "", signer("key: " + keyFile), "cannot read key files", nil},
		{"env key", kubepolicy.ClusterKind, "", signer("key: 'env://HOME'"), "cannot read key files", nil},
		{"secret path escape", kubepolicy.ClusterKind, "", signer("key: 'k8s://../etc/passwd'"), `".." is not a namespace name`, nil},
		{"secret with three parts", kubepolicy.ClusterKind, "", signer("key: 'k8s://a/b/c'"), `"b/c" is not a Secret name`, nil},
		{"missing secret", kubepolicy.ClusterKind, "", signer("key: 'k8s://signet-system/gone'"), "the Secret signet-system/gone does not exist", []string{"signet-system/gone"}},
		{"secret without a key", kubepolicy.NamespacedKind, "team-a", signer("key: 'k8s://team-a/notakey'"),
			"in the Secret team-a/notakey, cosign.pub is not a PEM public key", []string{"team-a/notakey"}},
		{"lock file", kubepolicy.ClusterKind, "", "{images: [{pattern: p, tags: {lock: signet.lock}}]}", "spec.images[0].tags.lock: a lock file cannot be read", nil},
		{"root file", kubepolicy.ClusterKind, "", "{images: [{pattern: p, tags: {signedHeads: {required: true, root: root.json}}}]}",
			"spec.images[0].tags.signedHeads.root: a root.json file cannot be read", nil},
		{"root digest", kubepolicy.ClusterKind, "", "{images: [{pattern: p, tags: {signedHeads: {required: true, root: 'sha256:" + strings.Repeat("ab", 32) + "'}}}]}", "", nil},
		// Attack: a resource naming a file would read the webhook's disk.
		{"notation trust store file", kubepolicy.ClusterKind, "", signer("notation: {trustStore: /etc/ssl/certs/ca-certificates.crt}"),
			"spec.images[0].signers[0].notation.trustStore: a policy resource cannot read certificate files of the webhook: put the PEM certificates inline as certificates", nil},
		{"notation TSA file", kubepolicy.NamespacedKind, "team-a", signer("notation: {certificates: x, tsa: /etc/ssl/certs/ca-certificates.crt}"),
			"spec.images[0].signers[0].notation.tsa: a policy resource cannot read certificate files", nil},
		{"github trusted root file", kubepolicy.ClusterKind, "", signer("github: {workflow: a/b/.github/workflows/c.yml, trustedRoot: /etc/signet/root.json}"),
			"spec.images[0].signers[0].github.trustedRoot: a policy resource cannot read a trusted root file of the webhook", nil},
		{"keyless trusted root file", kubepolicy.ClusterKind, "", signer("keyless: {issuer: i, subject: s, trustedRoot: root.json}"),
			"spec.images[0].signers[0].keyless.trustedRoot: a policy resource cannot read a trusted root file", nil},
		{"github", kubepolicy.NamespacedKind, "team-a", signer("github: {workflow: a/b/.github/workflows/c.yml@refs/heads/main}"), "", nil},
		{"gate key file", kubepolicy.ClusterKind, "", "{images: [{pattern: p}], receipts: {gates: [{name: g, key: gate.pub}]}}", "spec.receipts.gates[0].key: a policy resource cannot read key files", nil},
		// Attack: glob matching backtracks; *a*a*a… against a long name of
		// a's takes seconds at 24 stars and hours at 40, so one Pod in the
		// namespace would stall the webhook for every namespace.
		{"pattern with too many wildcards", kubepolicy.NamespacedKind, "team-a",
			"{images: [{pattern: 'registry.example.com/" + strings.Repeat("*a", 40) + "'}]}",
			"spec.images[0].pattern: has 40 wildcards, and a policy resource's pattern may have at most 8", nil},
		{"pattern with eight wildcards", kubepolicy.NamespacedKind, "team-a",
			"{images: [{pattern: 'registry.example.com/**/" + strings.Repeat("*a", 6) + ":v?'}]}", "", nil},
		{"allowed tags with too many wildcards", kubepolicy.NamespacedKind, "team-a",
			"{images: [{pattern: p, tags: {allowedTags: ['v" + strings.Repeat("*1", 30) + "']}}]}",
			"spec.images[0].tags.allowedTags[0]: has 30 wildcards", nil},
		{"bad pattern", kubepolicy.ClusterKind, "", "{images: [{pattern: 'registry.example.com/[a'}]}", "spec.images[0].pattern:", nil},
		{"bad condition", kubepolicy.ClusterKind, "",
			"{images: [{pattern: p, signers: [{name: r, publicKey: " + quoted(pem) + "}], attestations: [{predicateType: vuln, condition: 'predicate.('}]}]}",
			"spec.images[0].attestations[0].condition:", nil},
		{"unknown field", kubepolicy.ClusterKind, "", "{images: [{pattern: p}], defaultActoin: allow}", "spec: unknown field defaultActoin (the fields of spec are defaultAction, images, receipts)", nil},
		{"unknown nested field", kubepolicy.ClusterKind, "", "{images: [{pattern: p, sigers: []}]}", "spec.images[0]: unknown field sigers; did you mean signers?", nil},
		{"document fields in spec", kubepolicy.ClusterKind, "", "{apiVersion: x, images: [{pattern: p}]}", "spec: unknown field apiVersion", nil},
		{"wrong kind of value", kubepolicy.ClusterKind, "", "{images: [{pattern: p, threshold: many}]}", "spec.images[0].threshold: must be a whole number", nil},
		{"no images", kubepolicy.ClusterKind, "", "{defaultAction: allow}", "spec.images: at least one image rule is required", nil},
		{"no spec", kubepolicy.ClusterKind, "", "", "spec: missing", nil},
		{"spec not a mapping", kubepolicy.ClusterKind, "", "[1, 2]", "spec: not a mapping of fields", nil},
		{"huge spec", kubepolicy.ClusterKind, "", "{images: [{pattern: '" + strings.Repeat("a", kubepolicy.MaxSpecBytes) + "'}]}", "split it into several policies", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store.reads = nil
			res, err := c.Compile(context.Background(), object(t, tc.kind, tc.namespace, "p", tc.spec))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("compiled; want %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("want %q in\n%v", tc.wantErr, err)
			case err != nil && !errors.Is(err, policy.ErrInvalid):
				t.Fatalf("%v is not ErrInvalid", err)
			case err != nil && strings.Contains(err.Error(), "hunter2"):
				t.Fatalf("the error quotes the Secret: %v", err)
			case err == nil && (res.Policy == nil || len(res.Policy.Hash) != 64 || res.Generation != 3):
				t.Fatalf("compiled %+v", res)
			}
			if strings.Join(store.reads, ",") != strings.Join(tc.reads, ",") {
				t.Fatalf("read Secrets %v, want %v", store.reads, tc.reads)
			}
		})
	}
}

// TestCompileReportsEveryProblem: one refusal lists all of them.
func TestCompileReportsEveryProblem(t *testing.T) {
	c := &kubepolicy.Compiler{Namespace: "signet-system"}
	_, err := c.Compile(context.Background(), object(t, kubepolicy.NamespacedKind, "team-a", "p",
		"{images: [{pattern: 'a/[', signers: [{name: r, key: 'k8s://team-b/k'}]}, {pattern: b, mode: block}]}"))
	var errs policy.Errors
	if !errors.As(err, &errs) || len(errs) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
	for i, want := range []string{"spec.images[0].signers[0].key", "spec.images[0].pattern", "spec.images[1].mode"} {
		if errs[i].Path != want || errs[i].Line != 0 {
			t.Errorf("problem %d at %s line %d, want %s", i, errs[i].Path, errs[i].Line, want)
		}
	}
}

// TestDigestCoversSecretKeys: the policy digest changes when the Secret's
// key does, though the resource did not.
func TestDigestCoversSecretKeys(t *testing.T) {
	store := &secrets{keys: map[string]string{"signet-system/release": newKey(t)}}
	c := &kubepolicy.Compiler{Secrets: store, Namespace: "signet-system"}
	obj := object(t, kubepolicy.ClusterKind, "", "p", "{images: [{pattern: p, signers: [{name: r, key: 'k8s://release'}]}]}")
	a, err := c.Compile(context.Background(), obj)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := c.Compile(context.Background(), obj)
	store.keys["signet-system/release"] = newKey(t)
	b, err := c.Compile(context.Background(), obj)
	if err != nil {
		t.Fatal(err)
	}
	if a.Policy.Hash != again.Policy.Hash || a.Policy.Hash == b.Policy.Hash {
		t.Fatalf("digests %s, %s (same resource, same key), %s (rotated key)", a.Policy.Hash, again.Policy.Hash, b.Policy.Hash)
	}
	if a.Policy.Source.Metadata.Name != "SignetClusterPolicy p" {
		t.Fatalf("name %q", a.Policy.Source.Metadata.Name)
	}
}

func TestParseWhatIsNotAPolicy(t *testing.T) {
	cases := map[string]map[string]any{
		"other kind":         {"apiVersion": "signet.dev/v1alpha1", "kind": "Policy", "metadata": map[string]any{"name": "p"}, "spec": map[string]any{}},
		"other version":      {"apiVersion": "signet.dev/v1", "kind": "SignetPolicy", "metadata": map[string]any{"name": "p", "namespace": "a"}},
		"no name":            {"apiVersion": "signet.dev/v1alpha1", "kind": "SignetClusterPolicy"},
		"no namespace":       {"apiVersion": "signet.dev/v1alpha1", "kind": "SignetPolicy", "metadata": map[string]any{"name": "p"}},
		"metadata not a map": {"apiVersion": "signet.dev/v1alpha1", "kind": "SignetPolicy", "metadata": "x"},
	}
	for name, obj := range cases {
		t.Run(name, func(t *testing.T) {
			if _, _, err := kubepolicy.Parse(obj); !errors.Is(err, policy.ErrInvalid) {
				t.Fatalf("want ErrInvalid, got %v", err)
			}
		})
	}
}
