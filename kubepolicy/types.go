// Package kubepolicy takes Signet policies as Kubernetes resources: the
// cluster-wide SignetClusterPolicy and the namespaced SignetPolicy, whose
// spec is the policy document's body. It compiles a resource into the
// policy engine's form (keys inline or from Secrets, never from the
// webhook's files), combines every policy that applies to a namespace into
// one admission decision in which namespaced policies can only narrow what
// cluster policies admit, watches the resources and writes their status,
// and answers the validating webhook that checks them at kubectl apply.
package kubepolicy

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/signet-dev/signet/policy"
)

// Group and Version are the API group and version of the policy resources.
const (
	Group   = "signet.dev"
	Version = "v1alpha1"
)

// Kinds of policy resources.
const (
	ClusterKind    = "SignetClusterPolicy"
	NamespacedKind = "SignetPolicy"
)

// ClusterResource and NamespacedResource are the resources to watch.
var (
	ClusterResource    = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "signetclusterpolicies"}
	NamespacedResource = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "signetpolicies"}
)

// Spec is a policy resource's spec: the policy document without its
// apiVersion, kind and metadata, which are the resource's own. Its fields
// are the document's (see policy.Policy).
type Spec struct {
	// DefaultAction applies to images no rule of this policy matches: deny
	// (default) or allow. A policy's allow admits nothing other policies deny.
	DefaultAction string `json:"defaultAction,omitempty" yaml:"defaultAction,omitempty" jsonschema:"enum=deny,enum=allow"`
	// Images are the rules; for an image the most specific matching pattern wins.
	Images []policy.ImageRule `json:"images" yaml:"images"`
	// Receipts let a trusted push gate's signed verdict (a SLSA verification
	// summary) stand in for verifying signatures and attestations again,
	// only for the same decision under this very policy (status.policyDigest)
	// or one listed in policyDigests.
	Receipts *policy.Receipts `json:"receipts,omitempty" yaml:"receipts,omitempty"`
}

// Status is what the webhook last made of a policy resource.
type Status struct {
	// Conditions: Ready is True (reason Compiled) when the policy is in
	// effect, False (reason Invalid) with what to fix when it is not; a
	// policy that is not Ready denies every image it applies to.
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the metadata.generation the status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// PolicyDigest identifies the compiled policy (SHA-256, hex), keys
	// included, as receipts and signet policy validate name it.
	PolicyDigest string `json:"policyDigest,omitempty"`
}

// SignetClusterPolicy is a policy for images in every namespace.
type SignetClusterPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              Spec   `json:"spec"`
	Status            Status `json:"status,omitempty"`
}

// SignetPolicy is a policy for images in its own namespace; it can only
// narrow what the cluster policies admit there.
type SignetPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              Spec   `json:"spec"`
	Status            Status `json:"status,omitempty"`
}

// Condition type and reasons written to status.conditions.
const (
	ConditionReady = "Ready"
	ReasonCompiled = "Compiled"
	ReasonInvalid  = "Invalid"
)
