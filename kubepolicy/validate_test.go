package kubepolicy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/signet-dev/signet/kubepolicy"
)

func policyReview(kind, namespace string, op admissionv1.Operation, obj map[string]any) *admissionv1.AdmissionRequest {
	var raw []byte
	if obj != nil {
		raw, _ = json.Marshal(obj)
	}
	return &admissionv1.AdmissionRequest{UID: "u", Kind: metav1.GroupVersionKind{Group: "signet.dev", Version: "v1alpha1", Kind: kind},
		Namespace: namespace, Name: "p", Operation: op, Object: runtime.RawExtension{Raw: raw}}
}

func TestValidator(t *testing.T) {
	pem := newKey(t)
	v := &kubepolicy.Validator{Namespace: "signet-system"}
	withoutNamespace := func(obj map[string]any) map[string]any {
		delete(obj["metadata"].(map[string]any), "namespace")
		return obj
	}
	cases := []struct {
		name string
		req  *admissionv1.AdmissionRequest
		want string // "" allowed
	}{
		{"valid", policyReview(kubepolicy.ClusterKind, "", admissionv1.Create,
			object(t, kubepolicy.ClusterKind, "", "p", "{images: [{pattern: 'r.example/**', signers: [{name: a, publicKey: "+quoted(pem)+"}]}]}")), ""},
		{"a Secret that does not exist yet", policyReview(kubepolicy.NamespacedKind, "team-a", admissionv1.Create,
			object(t, kubepolicy.NamespacedKind, "team-a", "p", "{images: [{pattern: 'r.example/**', signers: [{name: a, key: 'k8s://team-a/not-yet'}]}]}")), ""},
		// Checked for form, each key reference stands for a key of its own:
		// two Secrets are not one principal twice, the same Secret is.
		{"two Secrets and two KMS keys", policyReview(kubepolicy.ClusterKind, "", admissionv1.Create,
			object(t, kubepolicy.ClusterKind, "", "p", "{images: [{pattern: 'r.example/**', threshold: 4, signers: [{name: a, key: 'k8s://a'}, {name: b, key: 'k8s://b'}, {name: c, key: 'awskms:///arn1'}, {name: d, key: 'awskms:///arn2'}]}]}")), ""},
		{"one Secret twice", policyReview(kubepolicy.NamespacedKind, "team-a", admissionv1.Create,
			object(t, kubepolicy.NamespacedKind, "team-a", "p", "{images: [{pattern: 'r.example/**', threshold: 2, signers: [{name: a, key: 'k8s://team-a/k'}, {name: b, key: 'k8s://team-a/k'}]}]}")),
			`spec.images[0].signers[1]: signers "a" and "b" have the same key: one principal under two names would count twice`},
		{"KMS in a cluster policy (not called)", policyReview(kubepolicy.ClusterKind, "", admissionv1.Update,
			object(t, kubepolicy.ClusterKind, "", "p", "{images: [{pattern: 'r.example/**', signers: [{name: a, key: 'awskms:///arn'}]}]}")), ""},
		{"invalid", policyReview(kubepolicy.ClusterKind, "", admissionv1.Create,
			object(t, kubepolicy.ClusterKind, "", "p", "{images: [{pattern: 'r.example/**', mode: block}]}")),
			`SignetClusterPolicy p: invalid policy: spec.images[0].mode: must be enforce, warn or audit, not "block"`},
		{"another namespace's Secret", policyReview(kubepolicy.NamespacedKind, "team-a", admissionv1.Create,
			object(t, kubepolicy.NamespacedKind, "team-a", "p", "{images: [{pattern: 'r.example/**', signers: [{name: a, key: 'k8s://team-b/k'}]}]}")),
			"SignetPolicy team-a/p: invalid policy: spec.images[0].signers[0].key: a SignetPolicy may read Secrets only in its own namespace (team-a)"},
		{"the request's namespace counts", policyReview(kubepolicy.NamespacedKind, "team-a", admissionv1.Create,
			withoutNamespace(object(t, kubepolicy.NamespacedKind, "team-b", "p", "{images: [{pattern: 'r.example/**', signers: [{name: a, key: 'k8s://team-b/k'}]}]}"))),
			"a SignetPolicy may read Secrets only in its own namespace (team-a)"},
		{"a body claiming another namespace", policyReview(kubepolicy.NamespacedKind, "team-a", admissionv1.Create,
			object(t, kubepolicy.NamespacedKind, "team-b", "p", "{images: [{pattern: 'r.example/**', signers: [{name: a, key: 'k8s://team-b/k'}]}]}")),
			"a SignetPolicy may read Secrets only in its own namespace (team-a)"},
		{"delete", policyReview(kubepolicy.ClusterKind, "", admissionv1.Delete, nil), ""},
		{"not a policy", &admissionv1.AdmissionRequest{UID: "u", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Operation: admissionv1.Create},
			"is not a Signet policy resource"},
		{"no object", policyReview(kubepolicy.ClusterKind, "", admissionv1.Create, nil), "the request carries no readable object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := v.Review(context.Background(), tc.req)
			switch {
			case tc.want == "" && !resp.Allowed:
				t.Fatalf("refused: %s", resp.Result.Message)
			case tc.want != "" && resp.Allowed:
				t.Fatalf("allowed; want %q", tc.want)
			case tc.want != "" && (!strings.Contains(resp.Result.Message, tc.want) || resp.Result.Code != http.StatusUnprocessableEntity):
				t.Fatalf("want %q (422), got %d %q", tc.want, resp.Result.Code, resp.Result.Message)
			}
		})
	}
}

func TestValidatorHTTP(t *testing.T) {
	srv := httptest.NewServer(&kubepolicy.Validator{Namespace: "signet-system"})
	defer srv.Close()
	obj := object(t, kubepolicy.ClusterKind, "", "p", "{images: [{pattern: 'r.example/[', mode: block}]}")
	body, _ := json.Marshal(admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: policyReview(kubepolicy.ClusterKind, "", admissionv1.Create, obj)})
	resp, err := http.Post(srv.URL, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.Response.Allowed || out.Response.UID != "u" || !strings.Contains(out.Response.Result.Message, "invalid policy (2 problems):\n  spec.images[0].pattern") {
		t.Fatalf("%+v", out.Response)
	}
	// kubectl prints the causes as "The SignetClusterPolicy "p" is invalid:" and a line per field.
	d := out.Response.Result.Details
	if d == nil || d.Kind != "SignetClusterPolicy" || d.Name != "p" || len(d.Causes) != 2 || d.Causes[1].Field != "spec.images[0].mode" ||
		d.Causes[1].Message != `must be enforce, warn or audit, not "block"` {
		t.Fatalf("details %+v", d)
	}
	for _, bad := range [][]byte{[]byte("{"), bytes.Repeat([]byte(" "), 3<<20+1)} {
		r, err := http.Post(srv.URL, "application/json", bytes.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusBadRequest && r.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("malformed review: %d", r.StatusCode)
		}
	}
}
