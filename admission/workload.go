package admission

import (
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
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
func images(kind string, raw []byte) ([]imageRef, error) {
	base, ok := podSpecPath[kind]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedKind, kind)
	}
	var spec *corev1.PodSpec
	var err error
	switch kind {
	case "Pod":
		var o corev1.Pod
		err = json.Unmarshal(raw, &o)
		spec = &o.Spec
	case "Deployment":
		var o appsv1.Deployment
		err = json.Unmarshal(raw, &o)
		spec = &o.Spec.Template.Spec
	case "ReplicaSet":
		var o appsv1.ReplicaSet
		err = json.Unmarshal(raw, &o)
		spec = &o.Spec.Template.Spec
	case "StatefulSet":
		var o appsv1.StatefulSet
		err = json.Unmarshal(raw, &o)
		spec = &o.Spec.Template.Spec
	case "DaemonSet":
		var o appsv1.DaemonSet
		err = json.Unmarshal(raw, &o)
		spec = &o.Spec.Template.Spec
	case "Job":
		var o batchv1.Job
		err = json.Unmarshal(raw, &o)
		spec = &o.Spec.Template.Spec
	case "CronJob":
		var o batchv1.CronJob
		err = json.Unmarshal(raw, &o)
		spec = &o.Spec.JobTemplate.Spec.Template.Spec
	}
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", kind, err)
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
