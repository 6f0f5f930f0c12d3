package kubepolicy_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/signet-dev/signet/kubepolicy"
	"github.com/signet-dev/signet/policy"
)

// FuzzParse feeds policy resources as the API server would send them
// (JSON) to Parse and to the validating webhook's compile: neither may
// panic, and every refusal is an invalid policy naming spec fields.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"apiVersion":"signet.dev/v1alpha1","kind":"SignetClusterPolicy","metadata":{"name":"p"},"spec":{"images":[{"pattern":"r.example/**"}]}}`,
		`{"apiVersion":"signet.dev/v1alpha1","kind":"SignetPolicy","metadata":{"name":"p","namespace":"a"},"spec":{"images":[{"pattern":"r/**","signers":[{"name":"a","key":"k8s://a/k"}]}]}}`,
		`{"apiVersion":"signet.dev/v1alpha1","kind":"SignetPolicy","metadata":{"name":"p","namespace":"a"},"spec":{"images":[{"pattern":"r/**","signers":[{"name":"a","key":"k8s://b/k"}],"tags":{"lock":"x","signedHeads":{"required":true,"root":"r.json"}}}],"receipts":{"gates":[{"name":"g","key":"/etc/passwd"}]}}}`,
		`{"apiVersion":"signet.dev/v1alpha1","kind":"SignetClusterPolicy","metadata":{"name":"p"},"spec":{"images":[{"pattern":"r/**","signers":[{"name":"a","publicKey":"x"}],"attestations":[{"predicateType":"vuln","condition":"predicate.x >"}]}],"extra":1}}`,
		`{"apiVersion":"signet.dev/v1alpha1","kind":"SignetClusterPolicy","metadata":{"name":"p"},"spec":[]}`,
		`{"kind":"SignetPolicy","metadata":7}`,
	} {
		f.Add([]byte(seed))
	}
	c := &kubepolicy.Compiler{Namespace: "signet-system"}
	f.Fuzz(func(t *testing.T, data []byte) {
		var obj map[string]any
		if json.Unmarshal(data, &obj) != nil || obj == nil {
			return
		}
		_, _, perr := kubepolicy.Parse(obj)
		_, err := c.Compile(context.Background(), obj)
		if (perr == nil) != (err == nil) && perr != nil {
			t.Fatalf("Parse refused (%v) what Compile took", perr)
		}
		if err == nil {
			return
		}
		if !errors.Is(err, policy.ErrInvalid) {
			t.Fatalf("not an invalid policy: %v", err)
		}
		var errs policy.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				if e.Path != "spec" && !strings.HasPrefix(e.Path, "spec.") {
					t.Fatalf("a problem outside spec: %q", e.Path)
				}
			}
		}
	})
}
