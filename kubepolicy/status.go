package kubepolicy

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// maxMessage bounds a condition's message (the API allows 32768 bytes).
const maxMessage = 4096

// status is what a policy resource's status should say.
type status struct {
	ready      bool
	reason     string
	message    string
	digest     string
	generation int64
}

// statusFor is the status of a compiled (or failed) policy resource.
func statusFor(res *Compiled, err error) status {
	if err != nil {
		return status{reason: ReasonInvalid, generation: res.Generation,
			message: truncate(oneLine(err) + "; until it is fixed, this policy denies every image it applies to")}
	}
	scope := "every namespace"
	if res.Ref.Namespaced() {
		scope = "namespace " + res.Ref.Namespace
	}
	def := "deny"
	if res.Policy.DefaultAllow {
		def = "allow"
	}
	return status{ready: true, reason: ReasonCompiled, digest: res.Policy.Hash, generation: res.Generation,
		message: fmt.Sprintf("%d image %s compiled (defaultAction %s); in effect for images in %s", len(res.Policy.Rules), plural(len(res.Policy.Rules), "rule", "rules"), def, scope)}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage - 3
	for cut > 0 && s[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		cut--
	}
	return s[:cut] + "..."
}

// writeStatus updates u's status when it says something else than want.
// A conflict (the object changed, or another replica wrote first) is left
// to the next sync.
func (c *Controller) writeStatus(ctx context.Context, u *unstructured.Unstructured, want status) {
	cur, _ := u.Object["status"].(map[string]any)
	conds, _ := cur["conditions"].([]any)
	ready, idx := readyCondition(conds)
	condStatus := string(metav1.ConditionFalse)
	if want.ready {
		condStatus = string(metav1.ConditionTrue)
	}
	curGen, _, _ := unstructured.NestedInt64(cur, "observedGeneration")
	curDigest, _, _ := unstructured.NestedString(cur, "policyDigest")
	if ready != nil && ready["status"] == condStatus && ready["reason"] == want.reason && ready["message"] == want.message &&
		curGen == want.generation && curDigest == want.digest && condGeneration(ready) == want.generation {
		return
	}
	since := c.cfg.Now().UTC().Format(time.RFC3339)
	if ready != nil && ready["status"] == condStatus {
		if t, ok := ready["lastTransitionTime"].(string); ok && t != "" {
			since = t
		}
	}
	cond := map[string]any{"type": ConditionReady, "status": condStatus, "reason": want.reason, "message": want.message,
		"lastTransitionTime": since, "observedGeneration": want.generation}
	conds = append([]any(nil), conds...)
	if idx >= 0 {
		conds[idx] = cond
	} else {
		conds = append(conds, cond)
	}
	next := map[string]any{"conditions": conds, "observedGeneration": want.generation}
	if want.digest != "" {
		next["policyDigest"] = want.digest
	}
	obj := u.DeepCopy()
	obj.Object["status"] = next
	gvr := ClusterResource
	if u.GetKind() == NamespacedKind {
		gvr = NamespacedResource
	}
	_, err := c.cfg.Client.Resource(gvr).Namespace(u.GetNamespace()).UpdateStatus(ctx, obj, metav1.UpdateOptions{})
	switch {
	case err == nil, apierrors.IsConflict(err), apierrors.IsNotFound(err):
	default:
		c.cfg.Log.Error("writing policy status failed", "kind", u.GetKind(), "namespace", u.GetNamespace(), "name", u.GetName(), "error", err.Error())
	}
}

// readyCondition finds the Ready condition and its index (-1: none).
func readyCondition(conds []any) (map[string]any, int) {
	for i, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == ConditionReady {
			return m, i
		}
	}
	return nil, -1
}

func condGeneration(cond map[string]any) int64 {
	g, _, _ := unstructured.NestedInt64(cond, "observedGeneration")
	return g
}
