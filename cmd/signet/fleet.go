//go:build !signet_split || !unix

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/dynamic"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/fleet"
	"github.com/signet-dev/signet/internal/kubeclient"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/verify"
)

func newFleetCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{Use: "fleet", Short: fleetShort}
	cmd.AddCommand(newFleetCheckCmd(s))
	return cmd
}

// fleetOptions are fleet check's flags.
type fleetOptions struct {
	reg                 registryOptions
	trust               trustOptions
	polFile, against    string
	kubeconfig, kubeCtx string
	namespaces, exclude []string
	allNamespaces       bool
	selector            string
	repos, images       []string
	noCluster           bool
	workers, maxTags    int
	output              string
}

func newFleetCheckCmd(s *streams) *cobra.Command {
	var o fleetOptions
	cmd := &cobra.Command{
		Use:   "check --policy NEW.yaml [--against CURRENT.yaml] [-n NS]... [--repository REPO]... [--image IMAGE]...",
		Short: "List what runs in a cluster (or is in a registry) and what a new policy would deny of it",
		Long: `List every image that runs or is declared in a cluster and/or a registry, decide each
under the new policy (--policy) and the current one (--against), and print the
difference: above all what would be denied that is admitted today, and why.

Sources:
  the cluster   pods and the pod template of every workload kind (replication
                controllers, pod templates, deployments, replica sets, stateful
                sets, daemon sets, jobs, cron jobs), read through the kubeconfig
                as kubectl does (--kubeconfig, --context; inside a Pod its
                service account), in all namespaces or those of -n, with -l
                selecting by label. Images are read exactly as the admission
                webhook reads them. A Pod owned by a ReplicaSet owned by a
                Deployment is reported under the Deployment (three replicas are
                one workload); an owned object running an image its owner does
                not is still reported, with the object named.
  --repository  every tag of a registry repository (all pages of its tag list);
                tags naming signatures or attestations (sha256-<hex>.sig and
                the like) are skipped and counted.
  --image       an image reference.
--no-cluster reads only --repository and --image.

Each distinct image is decided once per policy; the registry is asked once
for each manifest and referrers list, for both policies. An image whose
registry could not be reached is "unknown" — never counted as allowed.
Without --against, the verdicts under the new policy alone are printed
(TODAY is "-"). The table puts what would be newly denied first; -o json
prints {against, summary, results} as described in docs/fleet.md. Progress
goes to stderr.

Exit codes:
  0  nothing would be newly denied (without --against: nothing is denied)
  6  something would be newly denied (without --against: something is
     denied) — gate a policy change on it in CI
  5  some image could not be checked (its registry failed), or the API
     server could not be reached: the check is incomplete, whatever else
     it found
  1  the cluster could not be read (no access to a kind: fleet check needs
     list on each; a kubeconfig that cannot be read), or a policy file is
     invalid
  2  usage error`,
		Example: `  signet fleet check --policy new.yaml --against current.yaml
  signet fleet check --policy new.yaml --against current.yaml -n shop -n payments -o json
  signet fleet check --policy new.yaml --no-cluster --repository registry.example.com/team/app`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runFleetCheck(cmd, s, &o) },
	}
	o.reg.addFlags(cmd)
	o.trust.addFlags(cmd)
	o.trust.addPredicateCapFlag(cmd)
	f := cmd.Flags()
	f.StringVar(&o.polFile, "policy", "", "the new policy document (required)")
	f.StringVar(&o.against, "against", "", "the current policy document, to compare with")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, then ~/.kube/config, then the in-cluster service account)")
	f.StringVar(&o.kubeCtx, "context", "", "kubeconfig context (default the current one)")
	f.StringArrayVarP(&o.namespaces, "namespace", "n", nil, "read only this namespace (repeatable; default all)")
	f.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "read all namespaces (the default)")
	f.StringArrayVar(&o.exclude, "exclude-namespace", nil, "leave this namespace out (repeatable), e.g. those the webhook exempts")
	f.StringVarP(&o.selector, "selector", "l", "", "read only objects whose labels match this selector (as kubectl -l)")
	f.StringArrayVar(&o.repos, "repository", nil, "check every tag of this registry repository, REGISTRY/REPO (repeatable)")
	f.StringArrayVar(&o.images, "image", nil, "check this image reference (repeatable)")
	f.BoolVar(&o.noCluster, "no-cluster", false, "do not read a cluster: check only --repository and --image")
	f.IntVar(&o.workers, "max-workers", 8, "images verified at once")
	f.IntVar(&o.maxTags, "max-tags", oci.DefaultMaxTags, "most tags read from one repository (more is an error, not a partial list)")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text (a table and a summary line) or json")
	return cmd
}

// check validates the flags that need no I/O.
func (o *fleetOptions) check(client *oci.Client) error {
	switch {
	case o.polFile == "":
		return usageError{errors.New("--policy is required: the new policy to check the fleet against")}
	case o.allNamespaces && len(o.namespaces) > 0:
		return usageError{errors.New("give -n/--namespace or -A/--all-namespaces, not both")}
	case o.noCluster && len(o.repos)+len(o.images) == 0:
		return usageError{errors.New("--no-cluster leaves nothing to check: add --repository or --image")}
	case o.noCluster && (len(o.namespaces) > 0 || o.selector != "" || len(o.exclude) > 0 || o.kubeconfig != "" || o.kubeCtx != ""):
		return usageError{errors.New("--no-cluster reads no cluster: drop the cluster flags (-n, -l, --exclude-namespace, --kubeconfig, --context)")}
	case o.workers < 1:
		return usageError{fmt.Errorf("--max-workers must be at least 1, not %d", o.workers)}
	}
	if err := outputFormat(o.output); err != nil {
		return err
	}
	for _, repo := range o.repos {
		if _, err := oci.ParseRepository(repo); err != nil {
			return usageError{fmt.Errorf("--repository %s: %w", repo, err)}
		}
	}
	return checkPolicyReferences(client, o.images...)
}

func runFleetCheck(cmd *cobra.Command, s *streams, o *fleetOptions) error {
	client := o.reg.client(oci.WithTransport(fleet.NewMemoTransport(remote.DefaultTransport)))
	if err := o.check(client); err != nil {
		return err
	}
	if _, _, err := o.trust.verifierOptions(); err != nil {
		return err
	}
	engine := func(file string) (*verify.Engine, error) {
		return policyEngine(s, client, &o.trust, file, verify.WithWorkers(o.workers),
			verify.WithTagHeadState(filepath.Join(signetHome(), "tag-heads")))
	}
	next, err := engine(o.polFile)
	if err != nil {
		return err
	}
	var opts []fleet.CheckOption
	if o.against != "" {
		cur, err := engine(o.against)
		if err != nil {
			return err
		}
		opts = append(opts, fleet.WithCurrent(cur))
	}
	ws, skipped, err := o.workloads(cmd.Context(), client)
	if err != nil {
		return err
	}
	opts = append(opts, fleet.WithWorkers(o.workers), fleet.WithBatch(o.workers*4), fleet.WithProgress(progress(s)))
	rep := fleet.Check(cmd.Context(), ws, next, opts...)
	rep.Summary.SkippedTags = skipped
	if o.output == "json" {
		err = printJSON(s, rep)
	} else {
		err = rep.WriteTable(s.out)
	}
	switch {
	case err != nil:
		return err
	case rep.Incomplete():
		return silentError{exitRegistry}
	case rep.Gate():
		return silentError{exitPolicyDenied}
	}
	return nil
}

// workloads reads the sources.
func (o *fleetOptions) workloads(ctx context.Context, client *oci.Client) ([]fleet.Workload, int, error) {
	var ws []fleet.Workload
	if !o.noCluster {
		c, err := o.cluster()
		if err != nil {
			return nil, 0, err
		}
		if ws, err = c.Workloads(ctx); apierrors.IsForbidden(err) {
			return nil, 0, fmt.Errorf("%w: fleet check needs list on pods, replicationcontrollers, podtemplates, deployments, "+
				"replicasets, statefulsets, daemonsets, jobs and cronjobs, in the namespaces it reads (-n; default all)", err)
		} else if err != nil {
			return nil, 0, err
		}
	}
	repos, skipped := fleet.Repositories(ctx, client, o.repos, o.maxTags)
	return append(append(ws, repos...), fleet.Images(o.images)...), skipped, nil
}

// cluster connects to the cluster the kubeconfig names.
func (o *fleetOptions) cluster() (*fleet.Cluster, error) {
	dyn, err := dynamicClient(o.kubeconfig, o.kubeCtx, "signet-fleet-check")
	if err != nil {
		return nil, fmt.Errorf("%w; or pass --no-cluster to check only --repository and --image", err)
	}
	opts := []fleet.ClusterOption{fleet.WithNamespaces(o.namespaces...), fleet.WithoutNamespaces(o.exclude...)}
	if o.selector != "" {
		opts = append(opts, fleet.WithSelector(o.selector))
	}
	c, err := fleet.NewCluster(dyn, opts...)
	if err != nil {
		return nil, usageError{err}
	}
	return c, nil
}

// dynamicClient reads the API server through the kubeconfig (or the
// in-cluster service account).
func dynamicClient(kubeconfig, kubeCtx, agent string) (dynamic.Interface, error) {
	cfg, err := kubeclient.Config(kubeclient.Options{Kubeconfig: kubeconfig, Context: kubeCtx}, agent)
	if err != nil {
		return nil, err
	}
	return dynamic.NewForConfig(cfg)
}

// progress reports how many decisions are done on stderr: a counter on a
// terminal; otherwise a line per batch, for fleets of 100 images or more.
func progress(s *streams) func(done, total int) {
	f, ok := s.err.(*os.File)
	tty := ok && term.IsTerminal(int(f.Fd()))
	return func(done, total int) {
		switch {
		case tty:
			fmt.Fprintf(s.err, "\rchecking images: %d/%d", done, total)
			if done == total {
				fmt.Fprintln(s.err)
			}
		case total >= 100:
			fmt.Fprintf(s.err, "checked %d of %d image decisions\n", done, total)
		}
	}
}

// auditOptions are admission serve's background audit flags.
type auditOptions struct {
	every   time.Duration
	exclude []string
}

// addFlags adds --background-audit and its flags, and --kubeconfig and
// --context unless the command has them already (the webhook's own cluster
// flags): call it after the command's other flags.
func (o *auditOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.DurationVar(&o.every, "background-audit", 0,
		"audit every workload in the cluster under the webhook's policy this often (e.g. 10m; 0: off): one log line per failing workload image, counts in /metrics")
	f.StringArrayVar(&o.exclude, "background-audit-exclude-namespace", nil,
		"leave this namespace out of the background audit (repeatable): those the webhook configuration's namespaceSelector exempts")
	if f.Lookup("kubeconfig") == nil {
		f.String("kubeconfig", "", "kubeconfig file for the cluster (default $KUBECONFIG, ~/.kube/config, then the in-cluster service account)")
	}
	if f.Lookup("context") == nil {
		f.String("context", "", "kubeconfig context (default the current one)")
	}
}

// start runs the background audit beside the webhook w until the returned
// stop is called; it does nothing when --background-audit is 0.
func (o *auditOptions) start(cmd *cobra.Command, w *admission.Webhook, log *slog.Logger, m *admission.Metrics) (stop func(), err error) {
	if o.every < 0 {
		return nil, usageError{fmt.Errorf("--background-audit must not be negative, not %s", o.every)}
	}
	if o.every == 0 {
		return func() {}, nil
	}
	kubeconfig, _ := cmd.Flags().GetString("kubeconfig")
	kubeCtx, _ := cmd.Flags().GetString("context")
	dyn, err := dynamicClient(kubeconfig, kubeCtx, "signet-admission-audit")
	if err != nil {
		return nil, fmt.Errorf("--background-audit: %w", err)
	}
	c, err := fleet.NewCluster(dyn, fleet.WithoutNamespaces(o.exclude...))
	if err != nil {
		return nil, err
	}
	a, err := fleet.NewAuditor(c, func() fleet.Decider { return w.Decider() }, fleet.WithAuditLogger(log), fleet.WithAuditMetrics(m.Registerer()))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(cmd.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx, o.every)
	}()
	return func() { cancel(); <-done }, nil
}
