package kubepolicy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/policy"
)

// ControllerConfig configures NewController.
type ControllerConfig struct {
	// Client reads the policy resources and Secrets and writes status.
	Client dynamic.Interface
	// Namespace is the webhook's own, which k8s://NAME means.
	Namespace string
	// Engine builds the engine that applies a compiled policy.
	Engine func(*policy.Compiled) (admission.Decider, error)
	// Apply receives each new Set (the webhook's SetDecider).
	Apply func(*Set)
	// EngineKey names what Engine builds from besides the policy (the
	// digest of a recall list given to the webhook): an engine is reused
	// only while the policy digest and this key are unchanged, so a new
	// recall list is in effect after the next resync. Nil: the policy alone.
	EngineKey func() string
	// Resync is how often every policy is compiled again, reading its key
	// Secrets again (default 1m): a rotated key is in effect within it.
	Resync time.Duration
	// Log receives one line per change of what is in effect (nil: none).
	Log *slog.Logger
	// Reloaded is called once per change of what is in effect, with an
	// error when a policy in it did not compile (the webhook's
	// signet_admission_policy_reloads_total; nil: not called).
	Reloaded func(error)
	// Now stamps status conditions (default time.Now).
	Now func() time.Time
}

// Controller watches SignetClusterPolicy and SignetPolicy resources,
// compiles each into an engine, hands the combined Set to the webhook and
// writes each resource's status.
type Controller struct {
	cfg      ControllerConfig
	compiler *Compiler
	// One informer per policy resource. Built here rather than through
	// client-go's dynamicinformer, whose package links every typed API
	// client and the built-in scheme (~3.5 ms of init in every signet
	// command, admission or not).
	informers map[schema.GroupVersionResource]cache.SharedIndexInformer
	stores    map[schema.GroupVersionResource]cache.Store
	trigger   chan struct{}
	// Owned by the sync loop.
	engines map[types.UID]engineEntry
	summary string
}

type engineEntry struct {
	hash string // the policy digest
	key  string // the policy digest and EngineKey's
	dec  admission.Decider
}

// NewController checks cfg and prepares the watches.
func NewController(cfg ControllerConfig) (*Controller, error) {
	if cfg.Client == nil || cfg.Engine == nil || cfg.Apply == nil {
		return nil, errors.New("a policy controller needs a client, an engine builder and somewhere to apply the policies")
	}
	if cfg.Resync <= 0 {
		cfg.Resync = time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Controller{cfg: cfg, compiler: &Compiler{Secrets: APISecrets{Client: cfg.Client}, Namespace: cfg.Namespace, memo: newMemo()},
		informers: map[schema.GroupVersionResource]cache.SharedIndexInformer{}, stores: map[schema.GroupVersionResource]cache.Store{},
		trigger: make(chan struct{}, 1), engines: map[types.UID]engineEntry{}}
	for _, gvr := range []schema.GroupVersionResource{ClusterResource, NamespacedResource} {
		inf := newInformer(cfg.Client, gvr)
		c.informers[gvr] = inf
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(any) { c.poke() },
			// A status write (ours) changes no generation and needs no
			// compiling; the resync repairs a status someone else changed.
			UpdateFunc: func(old, cur any) {
				if generationOf(old) != generationOf(cur) {
					c.poke()
				}
			},
			DeleteFunc: func(any) { c.poke() },
		}); err != nil {
			return nil, err
		}
		c.stores[gvr] = inf.GetStore()
	}
	return c, nil
}

func (c *Controller) poke() {
	select {
	case c.trigger <- struct{}{}:
	default:
	}
}

// Start checks the resources can be read, waits until every policy
// resource is read, applies the first Set, and keeps watching until ctx
// ends.
func (c *Controller) Start(ctx context.Context) error {
	for _, gvr := range []schema.GroupVersionResource{ClusterResource, NamespacedResource} {
		if err := canList(ctx, c.cfg.Client, gvr); err != nil {
			return err
		}
	}
	for _, inf := range c.informers {
		go inf.Run(ctx.Done())
	}
	for gvr, inf := range c.informers {
		if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
			return fmt.Errorf("reading %s: %w", gvr.Resource, context.Cause(ctx))
		}
	}
	c.sync(ctx)
	go c.loop(ctx)
	return nil
}

// newInformer lists and watches one resource in every namespace, as
// dynamicinformer's factory did (no resync of its own: the controller's
// loop resyncs).
func newInformer(client dynamic.Interface, gvr schema.GroupVersionResource) cache.SharedIndexInformer {
	res := client.Resource(gvr)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return res.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return res.Watch(ctx, o)
		},
	}
	return cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, client),
		&unstructured.Unstructured{}, cache.SharedIndexInformerOptions{ObjectDescription: gvr.String()})
}

// canList says what to do when a resource cannot be listed.
func canList(ctx context.Context, client dynamic.Interface, gvr schema.GroupVersionResource) error {
	_, err := client.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("the cluster has no %s resource: apply the CustomResourceDefinitions first (kubectl apply -f deploy/crds/)", gvr.GroupResource())
	case apierrors.IsForbidden(err):
		return fmt.Errorf("the webhook may not list %s: bind its service account to a ClusterRole allowing get, list and watch on the policy resources (examples/kubernetes/policy-crds/rbac-policies.yaml, or the Helm chart with policySource kubernetes)", gvr.GroupResource())
	case err != nil:
		return fmt.Errorf("listing %s: %w", gvr.GroupResource(), err)
	}
	return nil
}

func (c *Controller) loop(ctx context.Context) {
	tick := time.NewTicker(c.cfg.Resync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.trigger:
		case <-tick.C:
		}
		c.sync(ctx)
	}
}

// sync compiles every policy resource, applies the Set and writes status.
func (c *Controller) sync(ctx context.Context) {
	var members []Member
	var invalid []string
	seen := map[types.UID]bool{}
	for _, u := range c.objects() {
		res, err := c.compiler.Compile(ctx, u.Object)
		dec, err := c.engine(u.GetUID(), res, err)
		seen[u.GetUID()] = true
		members = append(members, Member{Ref: res.Ref, Decider: dec})
		if err != nil {
			invalid = append(invalid, res.Ref.String())
		}
		c.writeStatus(ctx, u, statusFor(res, err))
	}
	for uid := range c.engines {
		if !seen[uid] {
			delete(c.engines, uid)
		}
	}
	c.compiler.memo.next()
	set := NewSet(members)
	c.cfg.Apply(set)
	c.report(set, invalid)
}

// objects lists the policy resources read, in a stable order.
func (c *Controller) objects() []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, gvr := range []schema.GroupVersionResource{ClusterResource, NamespacedResource} {
		for _, o := range c.stores[gvr].List() {
			if u, ok := o.(*unstructured.Unstructured); ok {
				out = append(out, u)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.GetKind()+"/"+a.GetNamespace()+"/"+a.GetName() < b.GetKind()+"/"+b.GetNamespace()+"/"+b.GetName()
	})
	return out
}

// engine returns the engine for a compiled policy, reusing the one built
// for the same policy digest (and with it its verdict cache); a policy
// that did not compile gets a decider that refuses everything.
func (c *Controller) engine(uid types.UID, res *Compiled, err error) (admission.Decider, error) {
	if err == nil {
		key := res.Policy.Hash
		if c.cfg.EngineKey != nil {
			key += "|" + c.cfg.EngineKey()
		}
		if e, ok := c.engines[uid]; ok && e.key == key {
			return e.dec, nil
		}
		var dec admission.Decider
		if dec, err = c.cfg.Engine(res.Policy); err == nil {
			c.engines[uid] = engineEntry{hash: res.Policy.Hash, key: key, dec: dec}
			return dec, nil
		}
	}
	delete(c.engines, uid)
	return Refusing(res.Ref, oneLine(err)), err
}

// report logs what is in effect when it changed.
func (c *Controller) report(set *Set, invalid []string) {
	var b strings.Builder
	for _, r := range set.Policies() {
		b.WriteString(r.String() + "\n")
	}
	hashes := make([]string, 0, len(c.engines))
	for _, e := range c.engines {
		hashes = append(hashes, e.hash)
	}
	sort.Strings(hashes)
	summary := b.String() + strings.Join(hashes, "\n") + "\n" + strings.Join(invalid, "\n")
	if summary == c.summary {
		return
	}
	c.summary = summary
	if c.cfg.Reloaded != nil {
		var err error
		if len(invalid) > 0 {
			err = fmt.Errorf("%d policies did not compile: %s", len(invalid), strings.Join(invalid, ", "))
		}
		c.cfg.Reloaded(err)
	}
	c.cfg.Log.Info("policies in effect", "cluster", len(set.cluster), "namespaced", len(set.Policies())-len(set.cluster), "not_ready", invalid)
	if len(set.cluster) == 0 {
		c.cfg.Log.Warn("no SignetClusterPolicy exists: every image is denied until one is applied")
	}
}

func generationOf(o any) int64 {
	if u, ok := o.(*unstructured.Unstructured); ok {
		return u.GetGeneration()
	}
	return -1
}

// oneLine is an error on one line: a policy's problems joined by "; ".
func oneLine(err error) string {
	var errs policy.Errors
	if errors.As(err, &errs) {
		parts := make([]string, len(errs))
		for i, e := range errs {
			parts[i] = e.Error()
		}
		return policy.ErrInvalid.Error() + ": " + strings.Join(parts, "; ")
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}
