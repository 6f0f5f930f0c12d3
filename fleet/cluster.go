package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/signet-dev/signet/admission"
)

// Kind is a kind of object the cluster source reads.
type Kind struct {
	Resource schema.GroupVersionResource
	Kind     string
}

// Kinds are what the cluster source lists: pods and every workload kind
// with a pod template, the kinds the admission webhook judges (except
// ControllerRevisions, saved copies of templates that run nothing).
// Background audit's RBAC needs get and list on each, in every namespace.
var Kinds = []Kind{
	{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "Pod"},
	{schema.GroupVersionResource{Version: "v1", Resource: "replicationcontrollers"}, "ReplicationController"},
	{schema.GroupVersionResource{Version: "v1", Resource: "podtemplates"}, "PodTemplate"},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "Deployment"},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}, "ReplicaSet"},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, "StatefulSet"},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}, "DaemonSet"},
	{schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, "Job"},
	{schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}, "CronJob"},
}

func (k Kind) gvk() metav1.GroupVersionKind {
	return metav1.GroupVersionKind{Group: k.Resource.Group, Version: k.Resource.Version, Kind: k.Kind}
}

// name is how messages name the resource: "deployments.apps".
func (k Kind) name() string {
	if k.Resource.Group == "" {
		return k.Resource.Resource
	}
	return k.Resource.Resource + "." + k.Resource.Group
}

// Cluster reads workloads from a Kubernetes API server.
type Cluster struct {
	client     dynamic.Interface
	namespaces []string
	exclude    []string
	selector   string
	pageSize   int64
}

// ClusterOption configures NewCluster.
type ClusterOption func(*Cluster) error

// WithNamespaces reads only these namespaces. Default: all.
func WithNamespaces(ns ...string) ClusterOption {
	return func(c *Cluster) error {
		c.namespaces = slices.Compact(slices.Sorted(slices.Values(ns)))
		return nil
	}
}

// WithoutNamespaces leaves these namespaces out (those the webhook's
// namespaceSelector exempts, say). Default: none.
func WithoutNamespaces(ns ...string) ClusterOption {
	return func(c *Cluster) error {
		c.exclude = append(c.exclude, ns...)
		return nil
	}
}

// WithSelector reads only objects whose labels match the label selector
// (kubectl's -l syntax). Default: every object.
func WithSelector(sel string) ClusterOption {
	return func(c *Cluster) error {
		if _, err := labels.Parse(sel); err != nil {
			return fmt.Errorf("reading the label selector %q: %w", sel, err)
		}
		c.selector = sel
		return nil
	}
}

// WithPageSize sets how many objects one list request asks for (default
// 500); the rest are read page by page (limit and continue).
func WithPageSize(n int64) ClusterOption {
	return func(c *Cluster) error {
		if n <= 0 {
			return fmt.Errorf("page size %d: want a positive number", n)
		}
		c.pageSize = n
		return nil
	}
}

// NewCluster returns a source reading the API server through client.
func NewCluster(client dynamic.Interface, opts ...ClusterOption) (*Cluster, error) {
	c := &Cluster{client: client, pageSize: 500}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Workloads lists every object of Kinds and reports each workload once: an
// object whose controller (its ownerReference with controller: true) was
// listed too is reported under its top owner, adding only the images that
// owner does not run (so three replicas are one workload, and an old
// ReplicaSet's image still shows). An object that cannot be listed is an
// error: a partial list would under-report.
func (c *Cluster) Workloads(ctx context.Context) ([]Workload, error) {
	var objs []object
	for _, k := range Kinds {
		for _, ns := range c.scopes() {
			items, err := c.list(ctx, k, ns)
			if err != nil {
				return nil, err
			}
			for _, u := range items {
				if slices.Contains(c.exclude, u.GetNamespace()) {
					continue
				}
				o, err := objectOf(k, u)
				if err != nil {
					return nil, err
				}
				objs = append(objs, o)
			}
		}
	}
	return fold(objs), nil
}

// scopes are the namespaces to list ("" is all).
func (c *Cluster) scopes() []string {
	if len(c.namespaces) == 0 {
		return []string{metav1.NamespaceAll}
	}
	return c.namespaces
}

// list reads every object of k in ns, page by page. A list whose continue
// token expired between pages (410 Gone: the API server compacted the
// version it was reading) is read again from the start, once.
func (c *Cluster) list(ctx context.Context, k Kind, ns string) ([]unstructured.Unstructured, error) {
	opts := metav1.ListOptions{LabelSelector: c.selector, Limit: c.pageSize}
	var out []unstructured.Unstructured
	restarted := false
	for {
		l, err := c.client.Resource(k.Resource).Namespace(ns).List(ctx, opts)
		if apierrors.IsResourceExpired(err) && opts.Continue != "" && !restarted {
			opts.Continue, out, restarted = "", nil, true
			continue
		}
		if err != nil {
			where := "in all namespaces"
			if ns != "" {
				where = "in namespace " + ns
			}
			return nil, fmt.Errorf("listing %s %s: %w", k.name(), where, err)
		}
		out = append(out, l.Items...)
		if l.GetContinue() == "" {
			return out, nil
		}
		opts.Continue = l.GetContinue()
	}
}

// object is one listed object: what Fold needs.
type object struct {
	kind      Kind
	apiGroup  string
	namespace string
	name      string
	uid       string
	owner     *metav1.OwnerReference // its controller, if any
	raw       map[string]any
	images    []admission.ImageRef
}

// objectOf reads the images of u as the webhook would.
func objectOf(k Kind, u unstructured.Unstructured) (object, error) {
	raw, err := json.Marshal(u.Object)
	if err != nil {
		return object{}, fmt.Errorf("reading %s %s/%s: %w", k.Kind, u.GetNamespace(), u.GetName(), err)
	}
	refs, err := admission.ImagesOf(k.gvk(), raw)
	if err != nil {
		return object{}, fmt.Errorf("reading %s %s/%s: %w", k.Kind, u.GetNamespace(), u.GetName(), err)
	}
	return object{kind: k, apiGroup: k.Resource.Group, namespace: u.GetNamespace(), name: u.GetName(), uid: string(u.GetUID()),
		owner: metav1.GetControllerOfNoCopy(&u), raw: u.Object, images: refs}, nil
}

// label names an object in a result: "ReplicaSet/web-5d8f".
func (o *object) label() string { return o.kind.Kind + "/" + o.name }

// containerName names the container (or image volume) whose image field
// is at path.
func (o *object) containerName(path string) string {
	elem, suffix := strings.TrimSuffix(path, "/image"), ""
	if strings.HasSuffix(path, "/image/reference") {
		elem, suffix = strings.TrimSuffix(path, "/image/reference"), " (volume)"
	}
	list := elem[:max(0, strings.LastIndex(elem, "/"))]
	switch list[strings.LastIndex(list, "/")+1:] {
	case "initContainers":
		suffix = " (init)"
	case "ephemeralContainers":
		suffix = " (ephemeral)"
	}
	name, _ := pointer(o.raw, elem).(map[string]any)["name"].(string)
	return name + suffix
}

// pointer resolves a JSON Pointer in v (nil when it names nothing).
func pointer(v any, p string) any {
	for _, tok := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n := v.(type) {
		case map[string]any:
			v = n[tok]
		case []any:
			i := 0
			if _, err := fmt.Sscan(tok, &i); err != nil || i < 0 || i >= len(n) {
				return nil
			}
			v = n[i]
		default:
			return nil
		}
	}
	return v
}
