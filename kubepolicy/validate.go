package kubepolicy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/policy"
)

// maxReviewBody caps an AdmissionReview of a policy resource (the API
// server sends at most a few MB).
const maxReviewBody = 3 << 20

// Validator answers the validating webhook for policy resources: it
// compiles the object as the webhook would (CEL conditions, patterns,
// names, key references) without reading any Secret, and refuses it with
// every problem, each naming its field. A SignetPolicy whose k8s:// key
// names another namespace's Secret is refused.
type Validator struct {
	// Namespace is the webhook's own, which k8s://NAME means.
	Namespace string
	// Log receives one line per refusal (nil: none).
	Log *slog.Logger
}

// ServeHTTP answers POST /validate-policy.
func (v *Validator) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxReviewBody+1))
	switch {
	case err != nil:
		http.Error(rw, "reading request: "+err.Error(), http.StatusBadRequest)
		return
	case len(body) > maxReviewBody:
		http.Error(rw, "AdmissionReview too large", http.StatusRequestEntityTooLarge)
		return
	}
	review, err := admission.ParseReview(body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	resp := v.Review(r.Context(), review.Request)
	rw.Header().Set("Content-Type", "application/json")
	json.NewEncoder(rw).Encode(admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp})
}

// Review decides one request for a policy resource: CREATE and UPDATE are
// compiled, anything else (DELETE) is allowed.
func (v *Validator) Review(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return resp
	}
	err := v.check(ctx, req)
	if err == nil {
		return resp
	}
	resp.Allowed = false
	resp.Result = &metav1.Status{Code: http.StatusUnprocessableEntity, Reason: metav1.StatusReasonInvalid, Message: err.Error(),
		Details: details(req, err)}
	if v.Log != nil {
		v.Log.Info("policy refused", "uid", string(req.UID), "kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name, "reason", err.Error())
	}
	return resp
}

func (v *Validator) check(ctx context.Context, req *admissionv1.AdmissionRequest) error {
	if req.Kind.Group != Group || (req.Kind.Kind != ClusterKind && req.Kind.Kind != NamespacedKind) {
		return fmt.Errorf("%s %s is not a Signet policy resource: this webhook judges only %s and %s", req.Kind.Group, req.Kind.Kind, ClusterKind, NamespacedKind)
	}
	var obj map[string]any
	if err := json.Unmarshal(req.Object.Raw, &obj); err != nil || obj == nil {
		return errors.New("the request carries no readable object")
	}
	if req.Kind.Kind == NamespacedKind {
		// The object's namespace is the request's; make sure the check
		// of k8s:// keys uses it even when the body leaves it out.
		meta, _ := obj["metadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			obj["metadata"] = meta
		}
		meta["namespace"] = req.Namespace
	}
	c := &Compiler{Namespace: v.Namespace}
	res, err := c.Compile(ctx, obj)
	if err == nil {
		return nil
	}
	if errors.Is(err, policy.ErrInvalid) && res.Ref.Name != "" {
		return fmt.Errorf("%s: %w", res.Ref, err)
	}
	return err
}

// details lists each problem as a cause at its field, which kubectl prints
// as its own validation errors ("The SignetPolicy "x" is invalid:" and one
// line per field).
func details(req *admissionv1.AdmissionRequest, err error) *metav1.StatusDetails {
	var errs policy.Errors
	if !errors.As(err, &errs) {
		return nil
	}
	d := &metav1.StatusDetails{Group: req.Kind.Group, Kind: req.Kind.Kind, Name: req.Name}
	for _, e := range errs {
		d.Causes = append(d.Causes, metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Field: e.Path, Message: e.Msg})
	}
	return d
}
