//go:build !signet_split || !unix

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/internal/kubeclient"
	"github.com/signet-dev/signet/kubepolicy"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// policySourceOptions say where admission serve reads its policies.
type policySourceOptions struct {
	source     string
	kubeconfig string
	context    string
	namespace  string
}

func (o *policySourceOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.source, "policy-source", "file",
		"where the policies are: file (--policy, reloaded when it changes) or kubernetes (SignetClusterPolicy and SignetPolicy resources)")
	cmd.Flags().StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file, with --policy-source kubernetes (default: $KUBECONFIG, ~/.kube/config, else the Pod's service account)")
	cmd.Flags().StringVar(&o.context, "context", "", "kubeconfig context, with --policy-source kubernetes (default: the current one)")
	cmd.Flags().StringVar(&o.namespace, "namespace", "",
		"the webhook's own namespace, where k8s://SECRET keys are read (default: the service account's namespace, else signet-system)")
}

// serviceAccountNamespace is where a Pod learns its namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// webhookNamespace is --namespace, else the Pod's, else signet-system.
func (o *policySourceOptions) webhookNamespace() string {
	if o.namespace != "" {
		return o.namespace
	}
	if b, err := os.ReadFile(serviceAccountNamespace); err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b))
	}
	return "signet-system"
}

// serveAddr is where and with which TLS pair the webhook listens.
type serveAddr struct{ addr, cert, key string }

// serveKubernetes serves the webhook deciding by the policy resources: it
// reads them all before it takes a review, then keeps watching them.
// startAudit starts the background audit (--background-audit) once the
// policies are read.
func (o *admissionOptions) serveKubernetes(ctx context.Context, s *streams, src *policySourceOptions, at serveAddr, log *slog.Logger,
	m *admission.Metrics, stats *verify.EngineStats, startAudit func(*admission.Webhook) (func(), error)) error {
	if o.polFile != "" {
		return usageError{errors.New("--policy is for --policy-source file; with kubernetes the policies are SignetClusterPolicy and SignetPolicy resources")}
	}
	mode, client, err := o.prepare(m)
	if err != nil {
		return err
	}
	cfg, err := kubeclient.Config(kubeclient.Options{Kubeconfig: src.kubeconfig, Context: src.context}, "signet-admission/"+currentVersion().Version)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("connecting to the API server: %w", err)
	}
	ns := src.webhookNamespace()
	w := o.newWebhook(kubepolicy.Unloaded(), mode, log, m)
	ctrl, err := kubepolicy.NewController(kubepolicy.ControllerConfig{
		Client: dyn, Namespace: ns, Log: log, Reloaded: m.Reload,
		Engine:    func(c *policy.Compiled) (admission.Decider, error) { return o.compiledEngine(client, c, stats) },
		EngineKey: o.recallsKey,
		Apply:     func(set *kubepolicy.Set) { w.SetDecider(set) },
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(s.err, "Reading SignetClusterPolicy and SignetPolicy resources from %s (namespace %s)\n", cfg.Host, ns)
	if err := ctrl.Start(ctx); err != nil {
		return err
	}
	stopAudit, err := startAudit(w)
	if err != nil {
		return err
	}
	defer stopAudit()
	return admission.Serve(ctx, admission.ServerConfig{
		Addr: at.addr, CertFile: at.cert, KeyFile: at.key, Webhook: w, Log: log,
		Routes: map[string]http.Handler{"POST /validate-policy": &kubepolicy.Validator{Namespace: ns, Log: log}},
		Listening: func(a net.Addr) {
			fmt.Fprintf(s.err, "Admission webhook on https://%s (/validate, /mutate, /validate-policy, /healthz, /readyz, /metrics)\n", a)
		},
	})
}

// recallsKey is the digest of the --recalls file as it is now ("" without
// one): the policy controller rebuilds the engines when it changes, so a
// new recall list is in effect after the next resync. A file that cannot be
// read gets a key of its own; building the engine then fails, and the
// policies refuse (fail closed).
func (o *admissionOptions) recallsKey() string {
	if o.trust.recalls == "" {
		return ""
	}
	b, err := os.ReadFile(o.trust.recalls)
	if err != nil {
		return "unreadable: " + err.Error()
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// compiledEngine is the engine of one policy resource, configured as the
// file source's engine is.
func (o *admissionOptions) compiledEngine(client *oci.Client, c *policy.Compiled, stats *verify.EngineStats) (admission.Decider, error) {
	opts := []verify.EngineOption{verify.WithCache(10_000, o.cacheTTL, o.negTTL), verify.WithStats(stats), verify.WithTagHeadState(o.headDir), o.trust.predicateCap()}
	if o.trust.root != nil {
		opts = append(opts, verify.WithEngineTrustedRoot(o.trust.root))
	}
	r, err := o.trust.recallList()
	if err != nil {
		return nil, err
	}
	return verify.NewEngine(client, c, append(opts, verify.WithEngineRecalls(r))...)
}
