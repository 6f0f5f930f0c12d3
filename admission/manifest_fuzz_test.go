package admission_test

import (
	"testing"

	"github.com/signet-dev/signet/admission"
)

// FuzzParseManifests: a file handed to 'signet admission review' either
// yields objects that each carry a request with a kind and an object, or
// an error; never a request the webhook would judge as nothing.
func FuzzParseManifests(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: r/a:1}]\n"))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  spec: {containers: [{name: c, image: x}]}\n---\nkind: PodList\nitems: [{spec: {}}]\n"))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{"kind":"Pod","version":"v1"},"object":{"kind":"Pod"}}}`))
	f.Add([]byte(`{"kind":"Pod"} {"kind":"Deployment","apiVersion":"apps/v1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := admission.ParseManifests(data)
		if err != nil {
			return
		}
		if len(objs) == 0 {
			t.Fatal("no error and no object: a file must not be allowed unread")
		}
		for _, o := range objs {
			if o.Request == nil || o.Request.Kind.Kind == "" {
				t.Fatalf("document %d%s: a request without a kind", o.Document, o.Path)
			}
		}
	})
}
