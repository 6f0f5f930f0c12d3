package admission

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// imageRef is one image a workload runs, with the JSON Pointer of its
// "image" field so a patch can pin it.
type imageRef struct {
	Image string
	Path  string
}

// podSpecPath is where each kind Signet knows keeps its pod spec ("" when
// it has none of a fixed shape: a ControllerRevision's data is a saved
// template, EphemeralContainers a bare list). Only the images of these
// kinds are judged; Kubernetes runs what they carry as Pods.
var podSpecPath = map[schema.GroupKind]string{
	{Kind: "Pod"}:                               "/spec",
	{Kind: "ReplicationController"}:             "/spec/template/spec",
	{Kind: "PodTemplate"}:                       "/template/spec",
	{Kind: "EphemeralContainers"}:               "",
	{Group: "apps", Kind: "Deployment"}:         "/spec/template/spec",
	{Group: "apps", Kind: "ReplicaSet"}:         "/spec/template/spec",
	{Group: "apps", Kind: "StatefulSet"}:        "/spec/template/spec",
	{Group: "apps", Kind: "DaemonSet"}:          "/spec/template/spec",
	{Group: "apps", Kind: "ControllerRevision"}: "",
	{Group: "extensions", Kind: "Deployment"}:   "/spec/template/spec",
	{Group: "extensions", Kind: "ReplicaSet"}:   "/spec/template/spec",
	{Group: "extensions", Kind: "DaemonSet"}:    "/spec/template/spec",
	{Group: "batch", Kind: "Job"}:               "/spec/template/spec",
	{Group: "batch", Kind: "CronJob"}:           "/spec/jobTemplate/spec/template/spec",
}

// containerLists are the keys under which an object lists containers.
var containerLists = []string{"containers", "initContainers", "ephemeralContainers"}

// volumeList is the key under which a pod spec lists its volumes; an image
// volume (volumes[].image.reference, KEP-4639) is an image the kubelet
// pulls and mounts into containers, so it is judged as one.
const volumeList = "volumes"

var (
	// ErrUnknownKind means an object carries container images but is of a
	// kind Signet does not know how Kubernetes runs; it is denied.
	ErrUnknownKind = errors.New("unknown kind carrying container images")
	// ErrKindMismatch means a request names one kind and carries an object
	// of another; it is denied.
	ErrKindMismatch = errors.New("the request's kind is not its object's")
)

// KindError is a denial for the kind of the object, not for an image.
type KindError struct {
	Err  error // ErrUnknownKind or ErrKindMismatch
	Text string
}

func (e *KindError) Error() string { return e.Text }
func (e *KindError) Unwrap() error { return e.Err }

// ImageRef is one image an object runs: the reference, and the JSON Pointer
// of the field that names it.
type ImageRef struct {
	Image string
	Path  string
}

// ImagesOf lists every image an object of kind gvk runs (every container
// list and image volume, wherever it is in the object), as the webhook reads
// them: what fleet check and the background audit judge is what a review
// would. Errors are as for a review: a kind Signet does not know that
// carries images is an ErrUnknownKind, an object of another kind an
// ErrKindMismatch (both *KindError), a garbled pod spec an error.
func ImagesOf(gvk metav1.GroupVersionKind, raw []byte) ([]ImageRef, error) {
	refs, err := images(gvk, raw)
	if err != nil {
		return nil, err
	}
	out := make([]ImageRef, len(refs))
	for i, r := range refs {
		out[i] = ImageRef(r)
	}
	return out, nil
}

// images lists the container images (and image volumes) of the object a request carries,
// after checking that the object is of the request's kind. Every
// container list in the object is found, wherever it is (a generic scan,
// so no field of a kind is left unread); a kind Signet does not know is an
// ErrUnknownKind when it carries any. A known kind's pod spec is also
// decoded, so a garbled one is refused.
func images(gvk metav1.GroupVersionKind, raw []byte) ([]imageRef, error) {
	var node any
	if err := json.Unmarshal(raw, &node); err != nil {
		return nil, fmt.Errorf("decoding the %s in the request: %w", gvk.Kind, err)
	}
	obj, ok := node.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("decoding the %s in the request: the object is not a JSON object", gvk.Kind)
	}
	if err := sameKind(gvk, obj); err != nil {
		return nil, err
	}
	var refs []imageRef
	var lists []string
	if err := scan(obj, "", &refs, &lists); err != nil {
		return nil, fmt.Errorf("reading the %s in the request: %w", gvk.Kind, err)
	}
	base, known := podSpecPath[schema.GroupKind{Group: gvk.Group, Kind: gvk.Kind}]
	switch {
	case !known && len(refs) > 0:
		return nil, &KindError{ErrUnknownKind, fmt.Sprintf("kind %s carries container images at %s, but Signet does not know how Kubernetes runs it, "+
			"so it cannot tell what would run: denied. Signet reads %s; leave this kind out of the webhook's rules and let Signet judge the Pods it creates",
			kindName(gvk.Kind, apiVersion(gvk)), strings.Join(lists, ", "), knownKinds())}
	case known && base != "":
		if err := decodePodSpec(gvk.Kind, obj, base); err != nil {
			return nil, err
		}
	}
	return refs, nil
}

// sameKind refuses an object whose apiVersion and kind, where it states
// them, are not the request's.
func sameKind(gvk metav1.GroupVersionKind, obj map[string]any) error {
	kind, _ := obj["kind"].(string)
	version, _ := obj["apiVersion"].(string)
	if obj["kind"] != nil && kind == "" || obj["apiVersion"] != nil && version == "" {
		return fmt.Errorf("reading the %s in the request: its kind and apiVersion, where present, must be non-empty strings", gvk.Kind)
	}
	want := apiVersion(gvk)
	if (kind == "" || kind == gvk.Kind) && (version == "" || gvk.Version == "" || version == want) {
		return nil
	}
	if kind == "" {
		kind = gvk.Kind
	}
	if version == "" {
		version = want
	}
	return &KindError{ErrKindMismatch, fmt.Sprintf("the request is for kind %s but its object is kind %s; Signet will not guess which one "+
		"Kubernetes acts on: denied. Send the object with the kind and apiVersion the request names", kindName(gvk.Kind, want), kindName(kind, version))}
}

func kindName(kind, apiVersion string) string { return fmt.Sprintf("%s (%s)", kind, apiVersion) }

// apiVersion is the apiVersion an object of gvk states.
func apiVersion(gvk metav1.GroupVersionKind) string {
	return schema.GroupVersion{Group: gvk.Group, Version: gvk.Version}.String()
}

// knownKinds names the kinds Signet reads, for messages.
func knownKinds() string {
	var out []string
	for gk := range podSpecPath {
		if gk.Group != "extensions" {
			out = append(out, gk.Kind)
		}
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ", ")
}

// scan walks node (at JSON Pointer path), keys in order, appending every
// image of a container list to refs and the list's pointer to lists.
func scan(node any, path string, refs *[]imageRef, lists *[]string) error {
	switch n := node.(type) {
	case map[string]any:
		keys := make([]string, 0, len(n))
		for k := range n {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := path + "/" + escape(k)
			if items, ok := n[k].([]any); ok && slices.Contains(containerLists, k) {
				if err := containerImages(items, p, refs, lists); err != nil {
					return err
				}
			}
			if items, ok := n[k].([]any); ok && k == volumeList {
				if err := volumeImages(items, p, refs, lists); err != nil {
					return err
				}
			}
			if err := scan(n[k], p, refs, lists); err != nil {
				return err
			}
		}
	case []any:
		for i, v := range n {
			if err := scan(v, path+"/"+strconv.Itoa(i), refs, lists); err != nil {
				return err
			}
		}
	}
	return nil
}

// containerImages adds the images of one container list: each element that
// is an object with an "image" field.
func containerImages(items []any, path string, refs *[]imageRef, lists *[]string) error {
	found := false
	for i, item := range items {
		c, ok := item.(map[string]any)
		if !ok {
			continue
		}
		v, ok := c["image"]
		if !ok {
			continue
		}
		p := fmt.Sprintf("%s/%d/image", path, i)
		image, ok := v.(string)
		if !ok {
			return fmt.Errorf("the image at %s is not a string", p)
		}
		*refs = append(*refs, imageRef{image, p})
		found = true
	}
	if found {
		*lists = append(*lists, path)
	}
	return nil
}

// volumeImages adds the images of one volume list: each element that is an
// object with an "image" field (an image volume) names its image in
// image.reference.
func volumeImages(items []any, path string, refs *[]imageRef, lists *[]string) error {
	found := false
	for i, item := range items {
		v, ok := item.(map[string]any)
		if !ok || v["image"] == nil {
			continue
		}
		p := fmt.Sprintf("%s/%d/image", path, i)
		src, ok := v["image"].(map[string]any)
		if !ok {
			return fmt.Errorf("the image volume at %s is not an object", p)
		}
		ref, ok := src["reference"]
		if !ok {
			continue // nothing to pull yet: a controller fills it in, in a Pod Signet judges
		}
		image, ok := ref.(string)
		if !ok {
			return fmt.Errorf("the image volume's reference at %s is not a string", p)
		}
		*refs = append(*refs, imageRef{image, p + "/reference"})
		found = true
	}
	if found {
		*lists = append(*lists, path)
	}
	return nil
}

// escape encodes a key as a JSON Pointer reference token (RFC 6901).
func escape(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

// decodePodSpec decodes the pod spec at base into k8s.io/api's PodSpec,
// refusing one of the wrong shape.
func decodePodSpec(kind string, obj map[string]any, base string) error {
	var node any = obj
	for _, key := range strings.Split(strings.TrimPrefix(base, "/"), "/") {
		m, ok := node.(map[string]any)
		if !ok {
			return fmt.Errorf("decoding %s: %s is not an object", kind, key)
		}
		node = m[key]
	}
	if node == nil {
		return nil
	}
	b, _ := json.Marshal(node)
	var spec corev1.PodSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Errorf("decoding %s pod spec: %w", kind, err)
	}
	return nil
}
