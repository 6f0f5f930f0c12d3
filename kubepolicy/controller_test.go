package kubepolicy_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/kubepolicy"
	"github.com/signet-dev/signet/policy"
)

var secretsGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

func fakeClient(objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	c := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		kubepolicy.ClusterResource:    "SignetClusterPolicyList",
		kubepolicy.NamespacedResource: "SignetPolicyList",
		secretsGVR:                    "SecretList",
	}, objs...)
	// The fake stores a status write as the whole object it is given, spec
	// included. The API server takes only the status from it (the status
	// subresource), so a status the controller writes from its cached copy
	// never undoes a spec change made since; without this, one written just
	// after a test's update (a resync that started before it) put the old
	// spec back, and the test waited for a change that had been undone.
	c.PrependReactor("update", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		ua, ok := a.(clienttesting.UpdateAction)
		if !ok || ua.GetSubresource() != "status" {
			return false, nil, nil
		}
		sent, ok := ua.GetObject().(*unstructured.Unstructured)
		if !ok {
			return false, nil, nil
		}
		stored, err := c.Tracker().Get(ua.GetResource(), ua.GetNamespace(), sent.GetName())
		if err != nil {
			return true, nil, err
		}
		next := stored.(*unstructured.Unstructured).DeepCopy()
		next.Object["status"] = sent.Object["status"]
		if err := c.Tracker().Update(ua.GetResource(), next, ua.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, next, nil
	})
	return c
}

func unstructuredPolicy(t *testing.T, kind, namespace, name, spec string, generation int64) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: object(t, kind, namespace, name, spec)}
	u.SetGeneration(generation)
	u.SetUID(types.UID("uid-" + kind + namespace + name))
	if namespace == "" {
		unstructured.RemoveNestedField(u.Object, "metadata", "namespace")
	}
	return u
}

func secret(namespace, name, pem string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"data":     map[string]any{"cosign.pub": base64.StdEncoding.EncodeToString([]byte(pem))}}}
}

// harness runs a controller over a fake API server.
type harness struct {
	client *dynamicfake.FakeDynamicClient
	ctrl   *kubepolicy.Controller
	builds atomic.Int32
	mu     sync.Mutex
	set    *kubepolicy.Set
	sets   int
	// reloads are what Reloaded was called with, in order.
	reloads []error
}

func start(t *testing.T, resync time.Duration, objs ...runtime.Object) *harness {
	t.Helper()
	return startKeyed(t, resync, nil, objs...)
}

// startKeyed is start with an EngineKey.
func startKeyed(t *testing.T, resync time.Duration, key func() string, objs ...runtime.Object) *harness {
	t.Helper()
	h := &harness{client: fakeClient(objs...)}
	ctrl, err := kubepolicy.NewController(kubepolicy.ControllerConfig{
		Client: h.client, Namespace: "signet-system", Resync: resync, EngineKey: key,
		Engine: func(*policy.Compiled) (admission.Decider, error) {
			h.builds.Add(1)
			return admitted(d1), nil
		},
		Apply: func(s *kubepolicy.Set) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.set, h.sets = s, h.sets+1
		},
		Reloaded: func(err error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.reloads = append(h.reloads, err)
		},
		Now: func() time.Time { return time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := ctrl.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h.ctrl = ctrl
	return h
}

// decide is what the current Set says of an image in namespace.
func (h *harness) decide(namespace string) (bool, string) {
	h.mu.Lock()
	set := h.set
	h.mu.Unlock()
	d := set.In(namespace).DecideAll(context.Background(), []string{"r.example/app:v1"})[0]
	return d.Allowed, d.Reason
}

// eventually waits (up to 30s) until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting until %s", what)
}

// readyOf reads a policy's Ready condition and status.
func (h *harness) readyOf(t *testing.T, gvr schema.GroupVersionResource, namespace, name string) (cond map[string]any, st map[string]any) {
	t.Helper()
	u, err := h.client.Resource(gvr).Namespace(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, _ = u.Object["status"].(map[string]any)
	conds, _ := st["conditions"].([]any)
	for _, c := range conds {
		if m := c.(map[string]any); m["type"] == "Ready" {
			return m, st
		}
	}
	return nil, st
}

const validSpec = "{images: [{pattern: 'r.example/**', signers: [{name: release, key: 'k8s://release'}]}]}"

func TestController(t *testing.T) {
	pem := newKey(t)
	h := start(t, time.Hour,
		unstructuredPolicy(t, kubepolicy.ClusterKind, "", "base", validSpec, 1),
		// An attacker in team-a points at team-b's Secret.
		unstructuredPolicy(t, kubepolicy.NamespacedKind, "team-a", "steal", "{images: [{pattern: 'r.example/**', signers: [{name: x, key: 'k8s://team-b/their-key'}]}]}", 1),
		secret("signet-system", "release", pem),
		secret("team-b", "their-key", pem))

	if ok, why := h.decide("team-b"); !ok {
		t.Fatalf("team-b denied: %s", why)
	}
	if ok, why := h.decide("team-a"); ok || !strings.Contains(why, "this policy is not in effect (Invalid)") || !strings.Contains(why, "SignetPolicy team-a/steal") {
		t.Fatalf("team-a: allowed %v: %s", ok, why)
	}
	for _, a := range h.client.Actions() {
		if a.GetResource() == secretsGVR && a.GetNamespace() != "signet-system" {
			t.Fatalf("the webhook read a Secret in %s for a SignetPolicy of another namespace", a.GetNamespace())
		}
	}

	// The reload is counted (signet_admission_policy_reloads_total), as an
	// error: one policy in effect did not compile.
	h.mu.Lock()
	reloads := slices.Clone(h.reloads)
	h.mu.Unlock()
	if len(reloads) != 1 || reloads[0] == nil || !strings.Contains(reloads[0].Error(), "SignetPolicy team-a/steal") {
		t.Fatalf("reloads %v; want one, an error naming SignetPolicy team-a/steal", reloads)
	}

	cond, st := h.readyOf(t, kubepolicy.ClusterResource, "", "base")
	if cond["status"] != "True" || cond["reason"] != "Compiled" || cond["observedGeneration"] != int64(1) || st["observedGeneration"] != int64(1) ||
		len(st["policyDigest"].(string)) != 64 || cond["lastTransitionTime"] != "2027-01-02T03:04:05Z" ||
		cond["message"] != "1 image rule compiled (defaultAction deny); in effect for images in every namespace" {
		t.Fatalf("base: %v %v", cond, st)
	}
	cond, st = h.readyOf(t, kubepolicy.NamespacedResource, "team-a", "steal")
	if cond["status"] != "False" || cond["reason"] != "Invalid" || st["policyDigest"] != nil ||
		!strings.Contains(cond["message"].(string), "spec.images[0].signers[0].key: a SignetPolicy may read Secrets only in its own namespace (team-a)") {
		t.Fatalf("steal: %v %v", cond, st)
	}

	// The cluster policy breaks: everything is denied, and its status says why.
	broken := unstructuredPolicy(t, kubepolicy.ClusterKind, "", "base", "{images: [{pattern: 'r.example/**', mode: block}]}", 2)
	if _, err := h.client.Resource(kubepolicy.ClusterResource).Update(context.Background(), broken, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the broken cluster policy denies", func() bool {
		ok, why := h.decide("team-b")
		return !ok && strings.Contains(why, `spec.images[0].mode: must be enforce, warn or audit, not "block"`)
	})
	eventually(t, "its status says Invalid", func() bool {
		cond, st := h.readyOf(t, kubepolicy.ClusterResource, "", "base")
		return cond["status"] == "False" && cond["observedGeneration"] == int64(2) && st["policyDigest"] == nil
	})

	// No cluster policy at all: nothing is admitted.
	if err := h.client.Resource(kubepolicy.ClusterResource).Delete(context.Background(), "base", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "no cluster policy denies everything", func() bool {
		ok, why := h.decide("team-b")
		return !ok && strings.Contains(why, "no SignetClusterPolicy exists")
	})
}

// TestControllerKeyRotation: a new key in the Secret is in effect after a
// resync, with a new engine and digest; nothing changed, nothing rebuilt.
func TestControllerKeyRotation(t *testing.T) {
	h := start(t, 20*time.Millisecond,
		unstructuredPolicy(t, kubepolicy.ClusterKind, "", "base", validSpec, 1),
		secret("signet-system", "release", newKey(t)))
	_, st := h.readyOf(t, kubepolicy.ClusterResource, "", "base")
	first := st["policyDigest"]
	h.mu.Lock()
	sets := h.sets
	h.mu.Unlock()
	eventually(t, "several resyncs", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.sets > sets+3
	})
	if n := h.builds.Load(); n != 1 {
		t.Fatalf("%d engines built for one unchanged policy", n)
	}
	if _, err := h.client.Resource(secretsGVR).Namespace("signet-system").Update(context.Background(), secret("signet-system", "release", newKey(t)), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the rotated key is in effect", func() bool {
		_, st := h.readyOf(t, kubepolicy.ClusterResource, "", "base")
		return st["policyDigest"] != first && h.builds.Load() == 2
	})
}

// TestControllerEngineKey: a new recall list given to the webhook (its
// digest is the EngineKey) rebuilds the engines at the next resync, though
// no policy changed; an unchanged one rebuilds nothing.
func TestControllerEngineKey(t *testing.T) {
	var recalls atomic.Value
	recalls.Store("list-v1")
	h := startKeyed(t, 20*time.Millisecond, func() string { return recalls.Load().(string) },
		unstructuredPolicy(t, kubepolicy.ClusterKind, "", "base", validSpec, 1),
		secret("signet-system", "release", newKey(t)))
	h.mu.Lock()
	sets := h.sets
	h.mu.Unlock()
	eventually(t, "several resyncs", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.sets > sets+3
	})
	if n := h.builds.Load(); n != 1 {
		t.Fatalf("%d engines built for one unchanged policy and recall list", n)
	}
	recalls.Store("list-v2")
	eventually(t, "an engine built with the new recall list", func() bool { return h.builds.Load() == 2 })
}

// TestControllerNeedsTheCRDs: without the CRDs, or the right to list
// them, the webhook says what to do.
func TestControllerNeedsTheCRDs(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{apierrors.NewNotFound(schema.GroupResource{Group: "signet.dev", Resource: "signetclusterpolicies"}, ""), "apply the CustomResourceDefinitions first (kubectl apply -f deploy/crds/)"},
		{apierrors.NewForbidden(schema.GroupResource{Group: "signet.dev", Resource: "signetclusterpolicies"}, "", nil), "the webhook may not list signetclusterpolicies.signet.dev"},
	} {
		client := fakeClient()
		client.PrependReactor("list", "*", func(clienttesting.Action) (bool, runtime.Object, error) { return true, nil, tc.err })
		ctrl, err := kubepolicy.NewController(kubepolicy.ControllerConfig{Client: client, Apply: func(*kubepolicy.Set) {},
			Engine: func(*policy.Compiled) (admission.Decider, error) { return nil, nil }})
		if err != nil {
			t.Fatal(err)
		}
		if err := ctrl.Start(context.Background()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("want %q, got %v", tc.want, err)
		}
	}
}

// TestFakeStatusWriteKeepsSpec checks the fake API server the controller
// tests run on: a status written from a copy read before a spec change
// keeps the change, as the API server's status subresource does. The
// controller writes status from its cache, and TestController once waited
// 30 s for a change that such a write had undone.
func TestFakeStatusWriteKeepsSpec(t *testing.T) {
	c := fakeClient(unstructuredPolicy(t, kubepolicy.ClusterKind, "", "base", validSpec, 1))
	res := c.Resource(kubepolicy.ClusterResource)
	ctx := context.Background()
	stale, err := res.Get(ctx, "base", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	changed := unstructuredPolicy(t, kubepolicy.ClusterKind, "", "base", "{images: [{pattern: 'r.example/**', mode: block}]}", 2)
	if _, err := res.Update(ctx, changed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	stale.Object["status"] = map[string]any{"observedGeneration": int64(1)}
	if _, err := res.UpdateStatus(ctx, stale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := res.Get(ctx, "base", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetGeneration() != 2 || !strings.Contains(fmt.Sprint(got.Object["spec"]), "block") {
		t.Fatalf("a status write from a stale copy undid the spec change: generation %d, spec %v", got.GetGeneration(), got.Object["spec"])
	}
	if st, _ := got.Object["status"].(map[string]any); st["observedGeneration"] != int64(1) {
		t.Fatalf("the status was not written: %v", got.Object["status"])
	}
}
