package kubepolicy_test

import (
	"context"
	"fmt"

	"github.com/signet-dev/signet/kubepolicy"
)

// A SignetPolicy may take keys only from Secrets of its own namespace; the
// validating webhook checks that without reading any Secret.
func ExampleCompiler_Compile() {
	obj := map[string]any{
		"apiVersion": "signet.dev/v1alpha1",
		"kind":       "SignetPolicy",
		"metadata":   map[string]any{"name": "strict", "namespace": "team-a"},
		"spec": map[string]any{"images": []any{map[string]any{
			"pattern": "registry.example.com/team-a/**",
			"signers": []any{map[string]any{"name": "release", "key": "k8s://team-b/release"}},
		}}},
	}
	c := &kubepolicy.Compiler{Namespace: "signet-system"} // no Secrets: keys are checked for form only
	_, err := c.Compile(context.Background(), obj)
	fmt.Println(err)
	// Output:
	// invalid policy: spec.images[0].signers[0].key: a SignetPolicy may read Secrets only in its own namespace (team-a), and k8s://team-b/release names Secret team-b/release; put the Secret in team-a and write key: k8s://team-a/release
}
