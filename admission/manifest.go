package admission

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"go.yaml.in/yaml/v3"
)

// maxListDepth bounds Lists within Lists in a manifest.
const maxListDepth = 8

// ManifestObject is one object of a manifest document with the request the
// API server would send for it.
type ManifestObject struct {
	// Document is the object's document in its file, counting from 1 (empty
	// YAML documents count too).
	Document int
	// FromReview is true when the document was an AdmissionReview (the
	// request is its request).
	FromReview bool
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

// ParseManifests reads a file to review without a cluster: AdmissionReviews
// (their requests) or manifests, as YAML documents or JSON values. Every
// document is read, and every item of every List (see ReviewObjects); a
// file with no object is an error.
func ParseManifests(data []byte) ([]ManifestObject, error) {
	docs, err := documents(data)
	if err != nil {
		return nil, err
	}
	var out []ManifestObject
	for _, doc := range docs {
		if isReview(doc.json) {
			review, err := ParseReview(doc.json)
			if err != nil {
				return nil, fmt.Errorf("document %d: %w", doc.n, err)
			}
			if review.Request.Kind.Kind == "" {
				// The API server always names it; a review without one
				// is not a request the webhook can judge.
				return nil, fmt.Errorf("document %d: the AdmissionReview's request names no kind (request.kind.kind), which the API server always sends: "+
					"give the object's own manifest instead, or the review as the API server wrote it", doc.n)
			}
			out = append(out, ManifestObject{Document: doc.n, FromReview: true, Request: review.Request})
			continue
		}
		objs, err := ReviewObjects(doc.json)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc.n, err)
		}
		for _, o := range objs {
			o.Document = doc.n
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the file holds no object to review")
	}
	return out, nil
}

// isReview says whether a document is an AdmissionReview: its "kind",
// exactly so named, as Kubernetes reads it. (Go's case-insensitive
// decoding would also take KIND, or a key with a Unicode K, on a Pod
// whose Kubernetes kind is Pod: the review would judge another object
// than the one applied.)
func isReview(doc []byte) bool {
	m, err := fields(doc)
	if err != nil {
		return false
	}
	var kind string
	json.Unmarshal(m["kind"], &kind)
	return kind == "AdmissionReview"
}

// document is one document of a file, as JSON; n counts from 1.
type document struct {
	n    int
	json []byte
}

// documents splits a file into its documents: the values of a JSON stream,
// or the documents of a YAML stream (empty ones are skipped, but counted).
func documents(data []byte) ([]document, error) {
	var docs []document
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		dec := json.NewDecoder(bytes.NewReader(data))
		for n := 1; ; n++ {
			var doc json.RawMessage
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				return docs, nil
			} else if err != nil {
				return nil, fmt.Errorf("parsing JSON value %d: %w", n, err)
			}
			docs = append(docs, document{n, doc})
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for n := 1; ; n++ {
		var v any
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			return docs, nil
		} else if err != nil {
			return nil, fmt.Errorf("parsing YAML document %d: %w", n, err)
		}
		if v == nil {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("converting YAML document %d: %w", n, err)
		}
		docs = append(docs, document{n, b})
	}
}
