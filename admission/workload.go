package admission

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// imageRef is one image a workload runs, with the JSON Pointer of its
// "image" field so a patch can pin it.
type imageRef struct {
	Image string
	Path  string
}

// podSpecPath is where each kind keeps its pod spec.
var podSpecPath = map[string]string{
	"Pod":         "/spec",
	"Deployment":  "/spec/template/spec",
	"ReplicaSet":  "/spec/template/spec",
	"StatefulSet": "/spec/template/spec",
	"DaemonSet":   "/spec/template/spec",
	"Job":         "/spec/template/spec",
	"CronJob":     "/spec/jobTemplate/spec/template/spec",
}

// ErrUnsupportedKind means the object is not a workload the webhook reads.
var ErrUnsupportedKind = fmt.Errorf("not a Pod or a workload with a pod template")

// images decodes a workload object of kind and lists its container images.
// The pod spec is found at the kind's path and decoded into k8s.io/api's
// PodSpec, so every kind is read by the same code.
func images(kind string, raw []byte) ([]imageRef, error) {
	base, ok := podSpecPath[kind]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedKind, kind)
	}
	var node any
	if err := json.Unmarshal(raw, &node); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", kind, err)
	}
	for _, key := range strings.Split(strings.TrimPrefix(base, "/"), "/") {
		m, ok := node.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("decoding %s: %s is not an object", kind, key)
		}
		node = m[key]
	}
	var spec corev1.PodSpec
	if node != nil {
		b, _ := json.Marshal(node)
		if err := json.Unmarshal(b, &spec); err != nil {
			return nil, fmt.Errorf("decoding %s pod spec: %w", kind, err)
		}
	}
	var out []imageRef
	for i, c := range spec.InitContainers {
		out = append(out, imageRef{c.Image, fmt.Sprintf("%s/initContainers/%d/image", base, i)})
	}
	for i, c := range spec.Containers {
		out = append(out, imageRef{c.Image, fmt.Sprintf("%s/containers/%d/image", base, i)})
	}
	for i, c := range spec.EphemeralContainers {
		out = append(out, imageRef{c.Image, fmt.Sprintf("%s/ephemeralContainers/%d/image", base, i)})
	}
	return out, nil
}
