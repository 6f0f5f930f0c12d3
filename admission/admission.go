// Package admission is a Kubernetes admission webhook over the policy
// engine: it verifies every image a workload would run (containers, init
// and ephemeral containers of Pods and of the pod templates of Deployments,
// ReplicaSets, StatefulSets, DaemonSets, Jobs and CronJobs), denies with one
// readable line per failing image, and, as a mutating webhook, pins each
// allowed tag to the digest that was verified.
package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/signet-dev/signet/verify"
)

// maxBody caps an AdmissionReview; the API server sends at most a few MB.
const maxBody = 3 << 20

// Decider is what the webhook asks; *verify.Engine is one.
type Decider interface {
	DecideAll(ctx context.Context, images []string) []*verify.Decision
}

// Webhook answers AdmissionReviews.
type Webhook struct {
	decider Decider
	budget  time.Duration
	log     *slog.Logger
}

// Option configures New.
type Option func(*Webhook)

// WithBudget sets how long a review may take before the failure mode
// (deny) answers. Default 8s, under the API server's usual 10s.
func WithBudget(d time.Duration) Option { return func(w *Webhook) { w.budget = d } }

// WithLogger logs one line per decision. Default: no logging.
func WithLogger(l *slog.Logger) Option { return func(w *Webhook) { w.log = l } }

// New returns a webhook deciding with d.
func New(d Decider, opts ...Option) *Webhook {
	w := &Webhook{decider: d, budget: 8 * time.Second, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(w)
	}
	return w
}

// Handler serves POST /validate and /mutate, and GET /healthz.
func (w *Webhook) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /validate", func(rw http.ResponseWriter, r *http.Request) { w.serve(rw, r, false) })
	mux.HandleFunc("POST /mutate", func(rw http.ResponseWriter, r *http.Request) { w.serve(rw, r, true) })
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { fmt.Fprintln(rw, "ok") })
	return mux
}

func (w *Webhook) serve(rw http.ResponseWriter, r *http.Request, mutate bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	switch {
	case err != nil:
		http.Error(rw, "reading request: "+err.Error(), http.StatusBadRequest)
		return
	case len(body) > maxBody:
		http.Error(rw, "AdmissionReview too large", http.StatusRequestEntityTooLarge)
		return
	}
	review, err := ParseReview(body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	resp := w.Review(r.Context(), review.Request, mutate)
	out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp}
	rw.Header().Set("Content-Type", "application/json")
	json.NewEncoder(rw).Encode(out)
}

// ParseReview decodes an admission.k8s.io/v1 AdmissionReview with a request.
func ParseReview(body []byte) (*admissionv1.AdmissionReview, error) {
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil {
		return nil, fmt.Errorf("parsing AdmissionReview: %w", err)
	}
	if review.APIVersion != "admission.k8s.io/v1" || review.Kind != "AdmissionReview" {
		return nil, fmt.Errorf("want an admission.k8s.io/v1 AdmissionReview, got %s %s", review.APIVersion, review.Kind)
	}
	if review.Request == nil {
		return nil, errors.New("AdmissionReview has no request")
	}
	return &review, nil
}

// Review decides one request: deny if any image is denied; with mutate, a
// JSONPatch pins every allowed tag reference to its verified digest.
func (w *Webhook) Review(ctx context.Context, req *admissionv1.AdmissionRequest, mutate bool) *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	refs, err := images(req.Kind.Kind, req.Object.Raw)
	if errors.Is(err, ErrUnsupportedKind) {
		return resp // not ours to judge; the webhook configuration should not send it
	}
	if err != nil {
		resp.Allowed = false
		resp.Result = &metav1.Status{Code: http.StatusBadRequest, Message: err.Error()}
		return resp
	}
	if len(refs) == 0 {
		return resp
	}
	ctx, cancel := context.WithTimeout(ctx, w.budget)
	defer cancel()
	imgs := make([]string, len(refs))
	for i, r := range refs {
		imgs[i] = r.Image
	}
	start := time.Now()
	decisions := w.decide(ctx, imgs)
	var denials, warnings []string
	var patch []map[string]string
	for i, d := range decisions {
		w.log.Info("decision", "uid", string(req.UID), "namespace", req.Namespace, "kind", req.Kind.Kind, "image", d.Image,
			"allowed", d.Allowed, "digest", d.Digest, "rule", d.Rule, "class", string(d.Class), "reason", d.Reason, "cached", d.Cached,
			"elapsed_ms", time.Since(start).Milliseconds())
		switch {
		case !d.Allowed:
			denials = append(denials, denial(d))
		case d.Failed():
			warnings = append(warnings, fmt.Sprintf("signet %s mode: image %s would be denied: %s", d.Mode, d.Image, d.Reason))
			if resp.AuditAnnotations == nil {
				resp.AuditAnnotations = map[string]string{}
			}
			resp.AuditAnnotations[fmt.Sprintf("signet.dev/%d", i)] = d.Image + ": " + d.Reason
		}
		if mutate && d.Allowed && d.Digest != "" {
			if pinned, ok := pin(d.Image, d.Digest); ok {
				patch = append(patch, map[string]string{"op": "replace", "path": refs[i].Path, "value": pinned})
			}
		}
	}
	resp.Warnings = warnings
	if len(denials) > 0 {
		resp.Allowed = false
		resp.Result = &metav1.Status{Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden, Message: strings.Join(denials, "; ")}
		return resp
	}
	if len(patch) > 0 {
		b, _ := json.Marshal(patch)
		pt := admissionv1.PatchTypeJSONPatch
		resp.Patch, resp.PatchType = b, &pt
	}
	return resp
}

// decide asks the decider, and answers with denials of class transient if
// the budget runs out first (the closed failure mode: never a hang).
func (w *Webhook) decide(ctx context.Context, imgs []string) []*verify.Decision {
	done := make(chan []*verify.Decision, 1)
	go func() { done <- w.decider.DecideAll(ctx, imgs) }()
	select {
	case ds := <-done:
		return ds
	case <-ctx.Done():
		out := make([]*verify.Decision, len(imgs))
		for i, img := range imgs {
			out[i] = &verify.Decision{Image: img, Mode: "enforce", Class: verify.ClassTransient,
				Reason: fmt.Sprintf("verification did not finish within the %s budget (failure mode closed)", w.budget)}
		}
		return out
	}
}

// denial is the one line a user sees for a denied image.
func denial(d *verify.Decision) string {
	rule := "the default action"
	if d.Rule != "" {
		rule = fmt.Sprintf("rule %q", d.Rule)
	}
	return fmt.Sprintf("image %s denied by signet %s: %s", d.Image, rule, d.Reason)
}

// pin rewrites a tag reference to name:tag@digest; a reference that already
// has a digest is left alone.
func pin(image, digest string) (string, bool) {
	if strings.Contains(image, "@") {
		return "", false
	}
	ref, err := name.ParseReference(image, name.WeakValidation)
	if err != nil {
		return "", false
	}
	if _, ok := ref.(name.Tag); !ok {
		return "", false
	}
	return image + "@" + digest, true
}

// ReviewObject builds the request the API server would send for a plain
// workload manifest (JSON), so policies can be tried without a cluster.
func ReviewObject(obj []byte) (*admissionv1.AdmissionRequest, error) {
	var meta metav1.TypeMeta
	if err := json.Unmarshal(obj, &meta); err != nil {
		return nil, fmt.Errorf("parsing manifest: %w", err)
	}
	if meta.Kind == "" {
		return nil, errors.New("manifest has no kind")
	}
	return &admissionv1.AdmissionRequest{UID: "dry-run", Kind: metav1.GroupVersionKind{Kind: meta.Kind}, Operation: admissionv1.Create,
		Object: runtimeRaw(obj)}, nil
}

func runtimeRaw(b []byte) runtime.RawExtension { return runtime.RawExtension{Raw: b} }
