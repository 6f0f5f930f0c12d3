//go:build !signet_split || !unix

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/spf13/cobra"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

func newAdmissionCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{Use: "admission", Short: admissionShort}
	cmd.AddCommand(newAdmissionServeCmd(s), newAdmissionReviewCmd(s))
	return cmd
}

// admissionOptions are the flags serve and review share.
type admissionOptions struct {
	reg      registryOptions
	trust    trustOptions
	polFile  string
	budget   time.Duration
	failMode string
	cacheTTL time.Duration
	negTTL   time.Duration
	headDir  string
	inFlight int
	bundle   bundleTrust
}

func (o *admissionOptions) addFlags(cmd *cobra.Command) {
	o.reg.addFlags(cmd)
	o.trust.addFlags(cmd)
	o.trust.addPredicateCapFlag(cmd)
	o.bundle.addFlags(cmd)
	cmd.Flags().StringVar(&o.polFile, "policy", "", "policy document (required; serve --policy-source kubernetes reads policy resources instead; with --trust-bundle, the name of one of its policies)")
	cmd.Flags().DurationVar(&o.budget, "budget", 8*time.Second, "time a review may take before the failure mode answers (keep it under the webhook's timeoutSeconds)")
	cmd.Flags().StringVar(&o.failMode, "failure-mode", "closed",
		"answer for an image not verified within the budget, or whose registry failed: closed (deny) or receipt (admit a digest that passed within --cache-ttl, deny the rest)")
	cmd.Flags().DurationVar(&o.cacheTTL, "cache-ttl", 5*time.Minute, "how long a passing verdict is reused (and counts as a receipt)")
	cmd.Flags().DurationVar(&o.negTTL, "negative-cache-ttl", 30*time.Second, "how long a failing verdict is reused (registry failures are never cached)")
	cmd.Flags().IntVar(&o.inFlight, "max-in-flight", 256, "reviews verifying at once; more are answered at once by the failure mode (load shedding)")
	cmd.Flags().StringVar(&o.headDir, "tag-head-state", "", "directory keeping what signed-tag-head checks trusted, across restarts (default: for the process's lifetime only)")
}

// watched are the files whose change reloads the policy: the policy, the
// files next to it (keys, lock files), the recall list it names (wherever
// it is) and --recalls.
func (o *admissionOptions) watched() []string {
	w := []string{filepath.Dir(o.polFile), o.polFile}
	if r := policyRecalls(o.polFile); r != "" {
		w = append(w, r)
	}
	if o.trust.recalls != "" {
		w = append(w, o.trust.recalls)
	}
	return w
}

// policyRecalls is the recall list file the policy names ("" when none, or
// when the policy does not parse: it is then refused when loaded).
func policyRecalls(polFile string) string {
	data, err := os.ReadFile(polFile)
	if err != nil {
		return ""
	}
	p, _, err := policy.Parse(data)
	if err != nil || p.Recalls == "" {
		return ""
	}
	if filepath.IsAbs(p.Recalls) {
		return p.Recalls
	}
	return filepath.Join(filepath.Dir(polFile), p.Recalls)
}

// engine compiles the policy into a fresh engine (and so a fresh cache).
func (o *admissionOptions) engine(s *streams, client *oci.Client, stats *verify.EngineStats) (*verify.Engine, error) {
	return policyEngine(s, client, &o.trust, o.polFile, verify.WithCache(10_000, o.cacheTTL, o.negTTL), verify.WithStats(stats),
		verify.WithTagHeadState(o.headDir))
}

// webhook builds the webhook; it also returns how to rebuild its decider.
func (o *admissionOptions) webhook(ctx context.Context, s *streams, log *slog.Logger, m *admission.Metrics, stats *verify.EngineStats) (*admission.Webhook, func() (admission.Decider, error), error) {
	if o.bundle.ref != "" {
		return o.bundleWebhook(ctx, s, log, m, stats)
	}
	if o.polFile == "" {
		return nil, nil, usageError{errors.New("--policy is required")}
	}
	mode, client, err := o.prepare(m)
	if err != nil {
		return nil, nil, err
	}
	load := func() (admission.Decider, error) { return o.engine(s, client, stats) }
	eng, err := load()
	if err != nil {
		return nil, nil, err
	}
	return o.newWebhook(eng, mode, log, m), load, nil
}

// prepare checks the flags every policy source shares and returns the
// failure mode and the registry client.
func (o *admissionOptions) prepare(m *admission.Metrics) (admission.FailureMode, *oci.Client, error) {
	mode, err := admission.ParseFailureMode(o.failMode)
	if err != nil {
		return "", nil, usageError{err}
	}
	if o.bundle.ref == "" {
		// With a trust bundle, its trust is read when it is loaded.
		if _, _, err := o.trust.verifierOptions(); err != nil {
			return "", nil, err
		}
	}
	if o.headDir == "" {
		// One directory for the process, shared by reloaded engines, so a
		// policy reload does not forget what was trusted.
		if o.headDir, err = os.MkdirTemp("", "signet-tag-heads-"); err != nil {
			return "", nil, err
		}
	}
	var copts []oci.Option
	if m != nil {
		copts = append(copts, oci.WithTransport(m.Transport(remote.DefaultTransport)))
	}
	return mode, o.reg.client(copts...), nil
}

func (o *admissionOptions) newWebhook(d admission.Decider, mode admission.FailureMode, log *slog.Logger, m *admission.Metrics) *admission.Webhook {
	return admission.New(d, admission.WithBudget(o.budget), admission.WithLogger(log), admission.WithFailureMode(mode), admission.WithMetrics(m), admission.WithMaxInFlight(o.inFlight))
}

func newAdmissionServeCmd(s *streams) *cobra.Command {
	var o admissionOptions
	var src policySourceOptions
	var addr, cert, key string
	var every, bundleEvery time.Duration
	var audit auditOptions
	cmd := &cobra.Command{
		Use:   "serve --policy P --tls-cert C --tls-key K [--addr :8443]",
		Short: "Serve the validating (/validate) and mutating (/mutate) webhook over HTTPS",
		Long: `Serve the validating (/validate) and mutating (/mutate) admission webhook over HTTPS.

Also served: /healthz (the process answers), /readyz (it takes reviews; 503
while shutting down) and /metrics (Prometheus). /metrics needs no token: it
carries counters by outcome and failure class, never image, repository or
namespace names; restrict who reaches --addr (a NetworkPolicy) if the counts
are not for everyone. One JSON log line per decision goes to stderr.

The policy is reloaded, and the verdict cache cleared, when any file in the
policy's directory changes (checked every --watch-interval) or on SIGHUP; a
policy that no longer loads is logged and the running one kept.

--trust-bundle oci://REGISTRY/REPO:TAG (with --trust-bundle-root) takes the
policy, keys, trusted root and recall list from a signed trust bundle
instead (docs/trust-bundle.md), refreshed every --trust-bundle-refresh: a
new bundle takes effect at once with an empty verdict cache (no verdict
made under older trust is served); a refresh that fails, or a bundle that
is refused (rollback, freeze, altered), is logged and the running bundle
kept — until its signed metadata expires, after which every image is
denied until a bundle can be verified again. The TLS
certificate and key are re-read when they change (cert-manager renewals).

With --policy-source kubernetes the policies are SignetClusterPolicy and
SignetPolicy resources instead of --policy: they are watched, compiled
and combined (a SignetPolicy only narrows what the cluster policies admit
in its namespace), their status says whether each is in effect, and
/validate-policy checks them at kubectl apply. The cluster is found as
kubectl finds it (--kubeconfig, --context, else the service account).
See docs/kubernetes-policies.md.

--background-audit INTERVAL checks every workload in the cluster under the
webhook's current policy (as 'signet fleet check' does), the first pass at
start and then INTERVAL after each pass ends: one JSON log line per failing
workload image (namespace, kind, name, container, image, reason), one line
per pass with its counts and duration, and gauges in /metrics by outcome only
(signet_admission_audit_*). It needs get/list on pods, replicationcontrollers,
podtemplates, deployments, replicasets, statefulsets, daemonsets, jobs and
cronjobs in every namespace (docs/fleet.md).`,
		Example: `  # Policies from a file (a ConfigMap volume in the cluster)
  signet admission serve --policy /etc/signet/policy/policy.yaml \
    --tls-cert /etc/signet/tls/tls.crt --tls-key /etc/signet/tls/tls.key

  # Policy, keys and recall list from a signed trust bundle
  signet admission serve --trust-bundle oci://registry.example.com/trust/bundle:prod \
    --trust-bundle-root /etc/signet/bundle.root.json \
    --tls-cert /etc/signet/tls/tls.crt --tls-key /etc/signet/tls/tls.key

  # Policies as SignetClusterPolicy and SignetPolicy resources
  signet admission serve --policy-source kubernetes \
    --tls-cert /etc/signet/tls/tls.crt --tls-key /etc/signet/tls/tls.key`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cert == "" || key == "" {
				return usageError{errors.New("--tls-cert and --tls-key are required (the API server only calls webhooks over HTTPS)")}
			}
			log := slog.New(slog.NewJSONHandler(s.err, nil))
			stats := &verify.EngineStats{}
			m := admission.NewMetrics(stats)
			switch src.source {
			case "file":
			case "kubernetes":
				if o.bundle.ref != "" {
					return usageError{errors.New("--trust-bundle is for --policy-source file: its policy is the bundle's")}
				}
				return o.serveKubernetes(cmd.Context(), s, &src, serveAddr{addr, cert, key}, log, m, stats,
					func(w *admission.Webhook) (func(), error) { return audit.start(cmd, w, log, m) })
			default:
				return usageError{fmt.Errorf("unknown --policy-source %q (want file or kubernetes)", src.source)}
			}
			if o.bundle.ref != "" && bundleEvery <= 0 {
				return usageError{errors.New("--trust-bundle-refresh must be positive")}
			}
			w, load, err := o.webhook(cmd.Context(), s, log, m, stats)
			if err != nil {
				return err
			}
			watch := o.watched()
			if o.bundle.ref != "" {
				watch = nil // the bundle is refreshed every --trust-bundle-refresh instead
				go refreshBundle(cmd.Context(), bundleEvery, w, load, log)
			}
			stopAudit, err := audit.start(cmd, w, log, m)
			if err != nil {
				return err
			}
			defer stopAudit()
			return admission.Serve(cmd.Context(), admission.ServerConfig{
				Addr: addr, CertFile: cert, KeyFile: key, Webhook: w, Log: log,
				Load: load, Watch: watch, WatchEvery: every,
				Listening: func(a net.Addr) {
					fmt.Fprintf(s.err, "Admission webhook on https://%s (/validate, /mutate, /healthz, /readyz, /metrics)\n", a)
				},
			})
		},
	}
	o.addFlags(cmd)
	src.addFlags(cmd)
	cmd.Flags().StringVar(&addr, "addr", ":8443", "address to listen on")
	cmd.Flags().StringVar(&cert, "tls-cert", "", "TLS certificate (PEM); re-read when it changes")
	cmd.Flags().StringVar(&key, "tls-key", "", "TLS private key (PEM); re-read when it changes")
	cmd.Flags().DurationVar(&every, "watch-interval", 5*time.Second, "how often to check the policy files for changes")
	cmd.Flags().DurationVar(&bundleEvery, "trust-bundle-refresh", time.Minute, "with --trust-bundle: how often to refresh it (a new bundle takes effect at once, with an empty verdict cache)")
	audit.addFlags(cmd) // last: it adds --kubeconfig and --context only if not there yet
	return cmd
}

func newAdmissionReviewCmd(s *streams) *cobra.Command {
	var o admissionOptions
	var mutate bool
	cmd := &cobra.Command{
		Use:   "review --policy P FILE",
		Short: "Answer an AdmissionReview, or the objects of a manifest (YAML or JSON), from a file — no cluster needed",
		Long: `Answer an AdmissionReview, or the objects of a manifest (YAML or JSON), from a file — no cluster needed.

Every document of the file is read (YAML documents, JSON values), and
every item of a List (kind List or any *List, Lists within Lists too), each
as the request the API server would send when it is applied; an
AdmissionReview stands for its request. For a file of one object the
AdmissionResponse the webhook would send is printed; for more, a JSON list
of {document, path, kind, namespace, name, response}, where document counts
from 1, path is the item's JSON Pointer in its document ("" for the
document itself) and a response's patch is relative to its object. The
patch is base64 in the response, as the API server wants it, and decoded
next to it as jsonPatch. Exits 6,
with one DENIED line per denied object on stderr, when the webhook would
deny anything.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			w, _, err := o.webhook(cmd.Context(), s, slog.New(slog.DiscardHandler), nil, nil)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(a[0])
			if err != nil {
				return err
			}
			objs, isReview, err := objectsFromFile(data)
			if err != nil {
				return fmt.Errorf("reading %s: %w", a[0], err)
			}
			for i := range objs {
				objs[i].Response = w.Review(cmd.Context(), objs[i].request, mutate)
			}
			return printReviewed(s, objs, isReview)
		},
	}
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&mutate, "mutate", true, "include the JSONPatch that pins tags to digests")
	return cmd
}

// reviewed is one object's answer in 'admission review' output.
type reviewed struct {
	request   *admissionv1.AdmissionRequest
	Document  int                            `json:"document"`
	Path      string                         `json:"path"`
	Kind      string                         `json:"kind"`
	Namespace string                         `json:"namespace,omitempty"`
	Name      string                         `json:"name,omitempty"`
	Response  *admissionv1.AdmissionResponse `json:"response"`
	// JSONPatch is the response's patch decoded: the response carries it
	// base64-encoded, as the API server wants it.
	JSONPatch json.RawMessage `json:"jsonPatch,omitempty"`
}

// responseOut is the answer for a file of one object: the AdmissionResponse
// the webhook would send, and its patch decoded.
type responseOut struct {
	*admissionv1.AdmissionResponse
	JSONPatch json.RawMessage `json:"jsonPatch,omitempty"`
}

// printReviewed prints the answers — the response for a file of one
// object, else the list — and names each denial on stderr; exit 6 when any
// is denied.
func printReviewed(s *streams, objs []reviewed, isReview bool) error {
	for i, o := range objs {
		if json.Valid(o.Response.Patch) {
			objs[i].JSONPatch = o.Response.Patch
		}
	}
	var err error
	if len(objs) == 1 {
		err = printJSON(s, responseOut{objs[0].Response, objs[0].JSONPatch})
	} else {
		err = printJSON(s, objs)
	}
	if err != nil {
		return err
	}
	denied := false
	for _, o := range objs {
		switch {
		case o.Response.Allowed:
			continue
		case isReview:
			fmt.Fprintln(s.err, "DENIED:", o.Response.Result.Message)
		default:
			fmt.Fprintf(s.err, "DENIED: %s: %s\n", o.where(), o.Response.Result.Message)
		}
		denied = true
	}
	if denied {
		return reported{errPolicyDenied}
	}
	return nil
}

// where names the object for a person: "document 2 /items/0, Pod ns/app".
func (o *reviewed) where() string {
	at := fmt.Sprintf("document %d", o.Document)
	if o.Path != "" {
		at += " " + o.Path
	}
	name := o.Name
	if o.Namespace != "" {
		name = o.Namespace + "/" + name
	}
	return strings.TrimSpace(fmt.Sprintf("%s, %s %s", at, o.Kind, name))
}

// objectsFromFile reads every object of a file; isReview when it is one
// AdmissionReview (whose denial is printed as the API server would see it).
func objectsFromFile(data []byte) (objs []reviewed, isReview bool, err error) {
	found, err := admission.ParseManifests(data)
	if err != nil {
		return nil, false, err
	}
	for _, o := range found {
		r := o.Request
		objs = append(objs, reviewed{Document: o.Document, Path: o.Path, Kind: r.Kind.Kind, Namespace: r.Namespace, Name: r.Name, request: r})
	}
	return objs, len(found) == 1 && found[0].FromReview, nil
}
