package admission_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/signet-dev/signet/admission"
)

// TestReviewObjects: every item of a List becomes its own request, however
// the List is spelled, with its path in the document.
func TestReviewObjects(t *testing.T) {
	t.Parallel()
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns"}}`
	for _, tc := range []struct {
		name, doc string
		want      []string // path kind (apiVersion) name
		err       string
	}{
		{"object", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"}}`, []string{" Deployment apps/v1 d"}, ""},
		{"List", `{"apiVersion":"v1","kind":"List","items":[` + pod + `,{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j"}}]}`,
			[]string{"/items/0 Pod v1 p", "/items/1 Job batch/v1 j"}, ""},
		{"List in a List", `{"kind":"List","items":[{"kind":"List","items":[` + pod + `]}]}`, []string{"/items/0/items/0 Pod v1 p"}, ""},
		{"PodList items take their kind from the List", `{"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"p"}}]}`, []string{"/items/0 Pod v1 p"}, ""},
		{"any object with items is a List to kubectl", `{"apiVersion":"v1","kind":"Pod","items":[` + pod + `]}`, []string{"/items/0 Pod v1 p"}, ""},
		{"empty List", `{"apiVersion":"v1","kind":"List","items":[]}`, nil, ""},
		{"List item without a kind", `{"apiVersion":"v1","kind":"List","items":[{"metadata":{"name":"p"}}]}`, nil, `reading the object at "/items/0": the manifest has no kind`},
		{"items not a list", `{"apiVersion":"v1","kind":"List","items":{"a":1}}`, nil, "items is not a list"},
		{"item not an object", `{"apiVersion":"v1","kind":"List","items":["x"]}`, nil, `reading the object at "/items/0": the manifest is not a JSON object`},
		{"Lists nested 9 deep", strings.Repeat(`{"kind":"List","items":[`, 9) + strings.Repeat("]}", 9), nil, "nested more than 8 deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := admission.ReviewObjects([]byte(tc.doc))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("want an error with %q, got %v", tc.err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				r := o.Request
				v := r.Kind.Version
				if r.Kind.Group != "" {
					v = r.Kind.Group + "/" + v
				}
				got = append(got, strings.Join([]string{o.Path, r.Kind.Kind, v, r.Name}, " "))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("want %q, got %q", tc.want, got)
			}
		})
	}
}

// TestParseManifestsReadsKindExactly: a document is an AdmissionReview only
// when its "kind", so spelled, says so — as Kubernetes reads it. A Pod with
// KIND/APIVERSION/REQUEST fields (or keys with a Unicode K or long s, which
// Go's decoding folds) is the Pod Kubernetes creates.
func TestParseManifestsReadsKindExactly(t *testing.T) {
	t.Parallel()
	review := `"request":{"uid":"u","kind":{"version":"v1","kind":"ConfigMap"},"operation":"CREATE","object":{"apiVersion":"v1","kind":"ConfigMap"}}`
	for _, tc := range []struct {
		name, doc, want string // want: kind of the request, and whether it came from a review
	}{
		{"upper-case fields", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"KIND":"AdmissionReview","APIVERSION":"admission.k8s.io/v1",` +
			strings.Replace(review, `"request"`, `"REQUEST"`, 1) + `}`, "Pod false"},
		{"Unicode-folded fields", "apiVersion: v1\nkind: Pod\n\u212aind: AdmissionReview\napiVer\u017fion: admission.k8s.io/v1\nmetadata: {name: p}\n" +
			"request: {uid: u, kind: {version: v1, kind: ConfigMap}, operation: CREATE, object: {apiVersion: v1, kind: ConfigMap}}\n", "Pod false"},
		{"an AdmissionReview", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",` + review + `}`, "ConfigMap true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := admission.ParseManifests([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(objs[0].Request.Kind.Kind, " ", objs[0].FromReview); len(objs) != 1 || got != tc.want {
				t.Fatalf("want one request (kind, from a review) %q, got %d, the first %q", tc.want, len(objs), got)
			}
		})
	}
}

// TestParseManifestsRefusesKindlessReview: an AdmissionReview whose request
// names no kind (fuzzing found one) is refused when read, with what is
// missing, rather than handed on as a request about nothing.
func TestParseManifestsRefusesKindlessReview(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod"}}}`,
	} {
		if objs, err := admission.ParseManifests([]byte(doc)); err == nil || !strings.Contains(err.Error(), "names no kind (request.kind.kind)") {
			t.Errorf("%s: got %d objects, %v; want refused as naming no kind", doc, len(objs), err)
		}
	}
}
