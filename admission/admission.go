// Package admission is a Kubernetes admission webhook over the policy
// engine: it verifies every image a workload would run (every container,
// init and ephemeral container list, and every image volume, in Pods, ReplicationControllers,
// PodTemplates, Deployments, ReplicaSets, StatefulSets, DaemonSets,
// ControllerRevisions, Jobs and CronJobs, whatever their replicas or
// suspension), denies with one readable line per failing image, and, as a
// mutating webhook, pins each allowed tag to the digest that was verified.
// A kind it does not know is denied when it carries container images.
package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signet-dev/signet/verify"
)

// maxBody caps an AdmissionReview; the API server sends at most a few MB.
const maxBody = 3 << 20

// Decider is what the webhook asks; *verify.Engine is one.
type Decider interface {
	// DecideAll verifies the images.
	DecideAll(ctx context.Context, images []string) []*verify.Decision
	// Fallback decides one image without the registry when DecideAll could
	// not (see verify.Engine.Fallback).
	Fallback(image, reason string, receipts, pinTags bool) *verify.Decision
}

// NamespacedDecider is a Decider whose verdict depends on the namespace of
// the object judged (policies as Kubernetes resources, where a namespaced
// policy applies in its own namespace). The webhook decides each review
// with In(the request's namespace); a cluster-scoped object's is "".
type NamespacedDecider interface {
	Decider
	In(namespace string) Decider
}

// FailureMode is the answer when verification cannot finish.
type FailureMode string

const (
	// FailClosed denies every image that could not be verified.
	FailClosed FailureMode = "closed"
	// FailReceipt admits an image whose digest passed within the cache TTL
	// and denies the rest.
	FailReceipt FailureMode = "receipt"
)

// ParseFailureMode reads "closed" or "receipt".
func ParseFailureMode(s string) (FailureMode, error) {
	switch m := FailureMode(s); m {
	case FailClosed, FailReceipt:
		return m, nil
	}
	return "", fmt.Errorf("unknown failure mode %q (want closed or receipt)", s)
}

// Webhook answers AdmissionReviews. Its decider can be replaced while it
// serves (SetDecider), as a policy reload does.
type Webhook struct {
	decider atomic.Pointer[Decider]
	budget  time.Duration
	mode    FailureMode
	log     *slog.Logger
	metrics *Metrics
	ready   atomic.Bool
	// slots bounds the reviews verifying at once; a review beyond it is
	// answered at once by the failure mode (load shedding).
	slots chan struct{}
}

// Option configures New.
type Option func(*Webhook)

// WithBudget sets how long a review may take before the failure mode
// (deny) answers. Default 8s, under the API server's usual 10s.
func WithBudget(d time.Duration) Option { return func(w *Webhook) { w.budget = d } }

// WithLogger logs one line per decision. Default: no logging.
func WithLogger(l *slog.Logger) Option { return func(w *Webhook) { w.log = l } }

// WithFailureMode sets the answer when verification cannot finish within
// the budget or the registry fails. Default FailClosed.
func WithFailureMode(m FailureMode) Option { return func(w *Webhook) { w.mode = m } }

// WithMaxInFlight bounds the reviews verifying at once (default 256). Under
// more load a review is not queued behind the others, where it would miss
// its deadline: it is answered at once by the failure mode ("overloaded").
func WithMaxInFlight(n int) Option {
	return func(w *Webhook) { w.slots = make(chan struct{}, max(1, n)) }
}

// WithMetrics records requests and decisions in m and serves it at /metrics.
func WithMetrics(m *Metrics) Option { return func(w *Webhook) { w.metrics = m } }

// New returns a webhook deciding with d; it is ready at once.
func New(d Decider, opts ...Option) *Webhook {
	w := &Webhook{budget: 8 * time.Second, mode: FailClosed, log: slog.New(slog.DiscardHandler), slots: make(chan struct{}, 256)}
	for _, o := range opts {
		o(w)
	}
	w.SetDecider(d)
	w.ready.Store(true)
	return w
}

// SetDecider replaces the decider (a reloaded policy); reviews already
// running finish with the old one.
func (w *Webhook) SetDecider(d Decider) { w.decider.Store(&d) }

// Decider returns the decider reviews use now (the last SetDecider): the
// background audit asks it, so a policy reload applies to both.
func (w *Webhook) Decider() Decider { return *w.decider.Load() }

// SetReady sets what /readyz answers; a server going down sets false first
// so the Service stops sending it requests.
func (w *Webhook) SetReady(ok bool) { w.ready.Store(ok) }

// Handler serves POST /validate and /mutate, GET /healthz (the process
// answers), /readyz (it takes reviews) and, with metrics, /metrics.
func (w *Webhook) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /validate", func(rw http.ResponseWriter, r *http.Request) { w.serve(rw, r, false) })
	mux.HandleFunc("POST /mutate", func(rw http.ResponseWriter, r *http.Request) { w.serve(rw, r, true) })
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { fmt.Fprintln(rw, "ok") })
	mux.HandleFunc("GET /readyz", func(rw http.ResponseWriter, _ *http.Request) {
		if !w.ready.Load() {
			http.Error(rw, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(rw, "ok")
	})
	if w.metrics != nil {
		mux.Handle("GET /metrics", w.metrics.Handler())
	}
	return mux
}

func (w *Webhook) serve(rw http.ResponseWriter, r *http.Request, mutate bool) {
	start := time.Now()
	webhook := "validate"
	if mutate {
		webhook = "mutate"
	}
	fail := func(code int, msg string) {
		http.Error(rw, msg, code)
		w.metrics.request(webhook, "malformed", time.Since(start))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	switch {
	case err != nil:
		fail(http.StatusBadRequest, "reading request: "+err.Error())
		return
	case len(body) > maxBody:
		fail(http.StatusRequestEntityTooLarge, "AdmissionReview too large")
		return
	}
	review, err := ParseReview(body)
	if err != nil {
		fail(http.StatusBadRequest, err.Error())
		return
	}
	resp := w.Review(r.Context(), review.Request, mutate)
	result := "allowed"
	if !resp.Allowed {
		result = "denied"
	}
	w.metrics.request(webhook, result, time.Since(start))
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
//
// What is judged: CREATE and UPDATE (also dry runs and subresources such as
// pods/ephemeralcontainers) of every kind with a pod spec Signet knows
// (see podSpecPath); every container list and image volume in the object
// is read, wherever it is. DELETE and CONNECT are allowed: nothing new runs. A kind Signet
// does not know is denied when it carries container images, and allowed
// when it carries none (a ConfigMap, a Scale): the policy is about images.
// An object whose kind is not the request's is denied.
func (w *Webhook) Review(ctx context.Context, req *admissionv1.AdmissionRequest, mutate bool) *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	if req.Operation == admissionv1.Delete || req.Operation == admissionv1.Connect {
		return resp
	}
	refs, err := images(req.Kind, req.Object.Raw)
	switch {
	case errors.Is(err, ErrUnknownKind):
		return w.refuse(resp, req, http.StatusForbidden, err)
	case err != nil:
		return w.refuse(resp, req, http.StatusBadRequest, err)
	case len(refs) == 0:
		return resp
	}
	ctx, cancel := context.WithTimeout(ctx, w.budget)
	defer cancel()
	if mutate {
		ctx = verify.PinningTags(ctx)
	}
	imgs := make([]string, len(refs))
	for i, r := range refs {
		imgs[i] = r.Image
	}
	start := time.Now()
	dec := *w.decider.Load()
	if nd, ok := dec.(NamespacedDecider); ok {
		dec = nd.In(req.Namespace)
	}
	var decisions []*verify.Decision
	select {
	case w.slots <- struct{}{}:
		decisions = w.decide(ctx, dec, imgs, mutate)
		<-w.slots
	default:
		decisions = w.shed(dec, imgs, mutate)
	}
	return w.answer(resp, req, refs, decisions, mutate, start)
}

// refuse denies a request for its object, not for an image.
func (w *Webhook) refuse(resp *admissionv1.AdmissionResponse, req *admissionv1.AdmissionRequest, code int32, err error) *admissionv1.AdmissionResponse {
	w.log.Info("refused", "uid", string(req.UID), "namespace", req.Namespace, "kind", req.Kind.Kind, "reason", err.Error())
	resp.Allowed = false
	resp.Result = &metav1.Status{Code: code, Message: err.Error()}
	if code == http.StatusForbidden {
		resp.Result.Reason = metav1.StatusReasonForbidden
	}
	return resp
}

// answer turns the decisions into the response: denied if any image is,
// with a warning for each image a warn or audit rule let through, and
// (mutate) the patch pinning each allowed tag to the digest verified.
func (w *Webhook) answer(resp *admissionv1.AdmissionResponse, req *admissionv1.AdmissionRequest, refs []imageRef, decisions []*verify.Decision,
	mutate bool, start time.Time) *admissionv1.AdmissionResponse {
	var denials, warnings []string
	var patch []map[string]string
	// warn reports an image a warn or audit rule let through: a warning
	// kubectl shows and an audit annotation. Only the validating webhook
	// reports: the mutating one runs first (and again on reinvocation), so
	// reporting there too would show every warning twice.
	warn := func(i int, d *verify.Decision, reason string) {
		if mutate {
			return
		}
		warnings = append(warnings, fmt.Sprintf("signet %s mode: image %s would be denied: %s", d.Mode, d.Image, reason))
		if resp.AuditAnnotations == nil {
			resp.AuditAnnotations = map[string]string{}
		}
		resp.AuditAnnotations[auditKey(d.Mode, i)] = d.Image + ": " + reason
	}
	for i, d := range decisions {
		if d.Allowed && d.Digest != "" {
			value, err := pinned(d.Image, d.Digest, mutate)
			switch {
			case err != nil && (d.Mode == "warn" || d.Mode == "audit"):
				warn(i, d, err.Error())
			case err != nil:
				d = unpinned(d, err)
			case value != "":
				patch = append(patch, map[string]string{"op": "replace", "path": refs[i].Path, "value": value})
			}
		}
		w.log.Info("decision", "uid", string(req.UID), "namespace", req.Namespace, "kind", req.Kind.Kind, "image", d.Image,
			"allowed", d.Allowed, "digest", d.Digest, "rule", d.Rule, "class", string(d.Class), "reason", d.Reason, "cached", d.Cached,
			"elapsed_ms", time.Since(start).Milliseconds())
		w.metrics.decision(d)
		switch {
		case !d.Allowed:
			denials = append(denials, denial(d))
		case d.Failed():
			warn(i, d, d.Reason)
		case len(d.UnverifiedPlatforms()) > 0 && !mutate:
			// platforms: any let an index through with a platform a node
			// may pull unverified: say so, as a warn rule would.
			warnings = append(warnings, fmt.Sprintf("signet: image %s allowed under platforms: any, but its platforms %s are not verified and a node may pull one",
				d.Image, strings.Join(d.UnverifiedPlatforms(), ", ")))
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

// shed answers an overloaded review by the failure mode alone: no registry
// calls, so the answer is immediate (receipt mode still admits what passed
// recently).
func (w *Webhook) shed(dec Decider, imgs []string, mutate bool) []*verify.Decision {
	w.metrics.shed()
	reason := fmt.Sprintf("the webhook is overloaded (%d reviews verifying)", cap(w.slots))
	out := make([]*verify.Decision, len(imgs))
	for i, img := range imgs {
		out[i] = dec.Fallback(img, reason, w.mode == FailReceipt, mutate)
		w.metrics.fallback(w.mode, out[i].Allowed)
	}
	return out
}

// decide asks the decider. An image it could not decide — the budget ran
// out first, or the registry failed (class transient) — gets the failure
// mode's answer instead, so a review never hangs and never turns a registry
// outage into anything but the configured answer.
func (w *Webhook) decide(ctx context.Context, dec Decider, imgs []string, mutate bool) []*verify.Decision {
	done := make(chan []*verify.Decision, 1)
	go func() { done <- dec.DecideAll(ctx, imgs) }()
	var ds []*verify.Decision
	select {
	case ds = <-done:
	case <-ctx.Done():
	}
	out := make([]*verify.Decision, len(imgs))
	for i, img := range imgs {
		var reason string
		switch {
		case ds == nil:
			reason = fmt.Sprintf("verification did not finish within the %s budget", w.budget)
		case ds[i].Class == verify.ClassTransient && !ds[i].Allowed:
			reason = "verification failed: " + ds[i].Reason
		default:
			out[i] = ds[i]
			continue
		}
		out[i] = dec.Fallback(img, reason, w.mode == FailReceipt, mutate)
		w.metrics.fallback(w.mode, out[i].Allowed)
	}
	return out
}

// auditKey names the audit annotation for the image at index i of the
// request, e.g. "warn-0". The API server prefixes it with the webhook's
// name and a slash (validate.signet.dev/warn-0), so it must not carry a
// prefix of its own: a key with two slashes is dropped as invalid.
func auditKey(mode string, i int) string {
	if mode != "warn" && mode != "audit" {
		mode = "image"
	}
	return fmt.Sprintf("%s-%d", mode, i)
}

// denial is the one line a user sees for a denied image.
func denial(d *verify.Decision) string {
	by := "signet's default action"
	if d.Rule != "" {
		by = fmt.Sprintf("signet rule %q", d.Rule)
	}
	return fmt.Sprintf("image %s denied by %s: %s", d.Image, by, d.Reason)
}

// pinned returns the reference that makes a node run the digest that was
// verified for image: with mutate, name:tag@digest for a tag; "" when the
// reference already names that digest, or for a tag in the validating
// webhook (which cannot pin). An image that cannot be made to run the
// verified digest is an error — a decision stands for that digest only, so
// admitting the image anyway would run what was not verified (a tag judged
// at its signed head runs the registry's digest unless pinned).
func pinned(image, digest string, mutate bool) (string, error) {
	ref, err := name.ParseReference(image, name.WeakValidation)
	if err != nil {
		return "", fmt.Errorf("the reference cannot be pinned to the verified digest %s (%w), so the node could run another; reference the image by that digest", digest, err)
	}
	switch r := ref.(type) {
	case name.Digest:
		if r.DigestStr() != digest {
			return "", fmt.Errorf("the reference names %s but %s was verified; admitting it would run what was not verified", r.DigestStr(), digest)
		}
		return "", nil
	case name.Tag:
		if mutate {
			return image + "@" + digest, nil
		}
	}
	return "", nil
}

// unpinned is d refused because its image cannot be made to run the
// digest verified (err says why).
func unpinned(d *verify.Decision, err error) *verify.Decision {
	r := *d
	r.Allowed, r.Class, r.Reason = false, verify.ClassPolicyDenied, "pin ["+string(verify.ClassPolicyDenied)+"]: "+err.Error()
	r.Checks = append(slices.Clone(d.Checks), verify.PolicyCheck{Name: "pin", Outcome: verify.Fail, Class: verify.ClassPolicyDenied, Message: err.Error()})
	return &r
}
