package admission

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// maxListDepth bounds Lists within Lists in a manifest.
const maxListDepth = 8

// ManifestObject is one object of a manifest document with the request the
// API server would send for it.
type ManifestObject struct {
	// Path is the object's JSON Pointer in its document: "" for the
	// document itself, "/items/2" for the third item of a List. A patch in
	// the object's response is relative to the object, not the document.
	Path    string
	Request *admissionv1.AdmissionRequest
}

// ReviewObject builds the request the API server would send for one
// object of a manifest (JSON), so policies can be tried without a cluster.
// A List is one object here; ReviewObjects reads its items.
func ReviewObject(obj []byte) (*admissionv1.AdmissionRequest, error) {
	m, err := fields(obj)
	if err != nil {
		return nil, err
	}
	var kind, version string
	var meta struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	}
	json.Unmarshal(m["kind"], &kind)
	json.Unmarshal(m["apiVersion"], &version)
	json.Unmarshal(m["metadata"], &meta)
	if kind == "" {
		return nil, errors.New("the manifest has no kind")
	}
	gv, err := schema.ParseGroupVersion(version)
	if err != nil {
		return nil, fmt.Errorf("reading the manifest's apiVersion: %w", err)
	}
	return &admissionv1.AdmissionRequest{UID: "dry-run", Kind: metav1.GroupVersionKind{Group: gv.Group, Version: gv.Version, Kind: kind},
		Operation: admissionv1.Create, Name: meta.Name, Namespace: meta.Namespace, Object: runtime.RawExtension{Raw: obj}}, nil
}

// ReviewObjects builds the requests the API server would get when one
// manifest document (JSON) is applied: one for an object; for a List — as
// kubectl reads it, any object with "items" — one for each item (Lists
// within it in turn, up to 8 deep), since kubectl creates every item. An
// item without kind and apiVersion takes them from its List, as in kubectl
// (kind PodList: items of kind Pod).
func ReviewObjects(doc []byte) ([]ManifestObject, error) {
	var out []ManifestObject
	if err := expand(doc, "", 0, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func expand(obj []byte, path string, depth int, out *[]ManifestObject) error {
	m, err := fields(obj)
	if err != nil {
		return fmt.Errorf("reading the object at %q: %w", path, err)
	}
	if _, list := m["items"]; !list {
		req, err := ReviewObject(obj)
		if err != nil {
			return fmt.Errorf("reading the object at %q: %w", path, err)
		}
		*out = append(*out, ManifestObject{Path: path, Request: req})
		return nil
	}
	if depth == maxListDepth {
		return fmt.Errorf("reading the List at %q: Lists are nested more than %d deep", path, maxListDepth)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(m["items"], &items); err != nil {
		return fmt.Errorf("reading the List at %q: items is not a list: %w", path, err)
	}
	var kind string
	json.Unmarshal(m["kind"], &kind)
	for i, item := range items {
		item, err := inherit(item, strings.TrimSuffix(kind, "List"), m["apiVersion"])
		if err == nil {
			err = expand(item, path+"/items/"+strconv.Itoa(i), depth+1, out)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// inherit gives an item without kind and apiVersion those of its List.
func inherit(item []byte, kind string, apiVersion json.RawMessage) ([]byte, error) {
	m, err := fields(item)
	if err != nil || m["kind"] != nil || m["apiVersion"] != nil || kind == "" {
		return item, nil
	}
	k, _ := json.Marshal(kind)
	m["kind"], m["apiVersion"] = k, apiVersion
	return json.Marshal(m)
}

// fields decodes a JSON object's fields, exactly as named.
func fields(obj []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil || m == nil {
		return nil, errors.New("the manifest is not a JSON object")
	}
	return m, nil
}
