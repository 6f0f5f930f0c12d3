package kubepolicy

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"

	"github.com/signet-dev/signet/keys"
)

// SecretKey is the data key of a Secret that holds a public key, as
// cosign writes it (cosign generate-key-pair k8s://NAMESPACE/NAME).
const SecretKey = "cosign.pub"

// Secrets reads the public key (PEM) a Secret holds under cosign.pub.
type Secrets interface {
	PublicKey(ctx context.Context, namespace, name string) ([]byte, error)
}

var secretsResource = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// APISecrets reads Secrets from the API server.
type APISecrets struct {
	Client dynamic.Interface
}

// PublicKey reads namespace/name's cosign.pub. Errors say what to do.
func (s APISecrets) PublicKey(ctx context.Context, namespace, name string) ([]byte, error) {
	obj, err := s.Client.Resource(secretsResource).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("the Secret %s/%s does not exist: create it with the public key under %s", namespace, name, SecretKey)
	case apierrors.IsForbidden(err):
		return nil, fmt.Errorf("the webhook may not read Secrets in namespace %s: put the key inline as publicKey, or grant its service account get on that Secret (docs/kubernetes-policies.md)", namespace)
	case err != nil:
		return nil, fmt.Errorf("reading the Secret %s/%s: %w", namespace, name, err)
	}
	data, _ := obj.Object["data"].(map[string]any)
	enc, _ := data[SecretKey].(string)
	if enc == "" {
		return nil, fmt.Errorf("the Secret %s/%s has no %s: put the PEM public key under that data key", namespace, name, SecretKey)
	}
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("in the Secret %s/%s, %s is not base64", namespace, name, SecretKey)
	}
	return b, nil
}

// placeholderSecrets answers every Secret with one throwaway key: a
// policy is checked (the validating webhook) without reading Secrets,
// which may not exist yet and which the request's author may not read.
type placeholderSecrets struct{}

func (placeholderSecrets) PublicKey(_ context.Context, namespace, name string) ([]byte, error) {
	return placeholderFor("secret " + namespace + "/" + name), nil
}

// placeholderSalt keeps placeholderFor's keys unpredictable.
var placeholderSalt = sync.OnceValue(func() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
})

// placeholderFor is a throwaway public key standing in for the key
// reference ref: the same for the same reference, different for
// different ones, so two signers naming different Secrets or KMS keys are
// not taken for one principal twice while the policy is checked for form.
// Its private key is derived from a random secret of this process and
// thrown away: it verifies nothing.
func placeholderFor(ref string) []byte {
	mac := hmac.New(sha256.New, placeholderSalt())
	mac.Write([]byte(ref))
	pub := ed25519.NewKeyFromSeed(mac.Sum(nil)).Public()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// placeholderKey is a public key whose private key is thrown away: it
// stands in for keys that are checked only for form, and verifies nothing.
var placeholderKey = sync.OnceValue(func() []byte {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
})

// secretRef is a parsed k8s://NAMESPACE/NAME or k8s://NAME.
type secretRef struct{ namespace, name string }

// errKeyNotForResources says which key references a policy resource takes.
var errKeyNotForResources = errors.New("a policy resource cannot read key files or environment variables of the webhook: " +
	"put the PEM public key inline as publicKey, or in a Secret under " + SecretKey + " and write key: k8s://NAMESPACE/SECRET")

// keyRef classifies a signer's key reference in a resource: a Secret, a
// KMS URI (cluster policies only: the webhook's credentials are not a
// namespace's), or an error. home is the webhook's own namespace, which
// k8s://NAME means.
func keyRef(ref Ref, key, home string) (secretRef, bool, error) {
	if rest, ok := strings.CutPrefix(key, "k8s://"); ok {
		s, err := parseSecretRef(rest, home)
		if err != nil {
			return s, false, err
		}
		if ref.Namespaced() && s.namespace != ref.Namespace {
			return s, false, fmt.Errorf("a SignetPolicy may read Secrets only in its own namespace (%s), and %s names Secret %s/%s; "+
				"put the Secret in %s and write key: k8s://%s/%s", ref.Namespace, key, s.namespace, s.name, ref.Namespace, ref.Namespace, s.name)
		}
		// A cluster policy's key is trusted in every namespace: whoever may
		// write Secrets in another namespace must not be able to replace
		// (or delete) it. Only the webhook's own namespace holds them.
		if !ref.Namespaced() && s.namespace != home {
			return s, false, fmt.Errorf("a SignetClusterPolicy may read Secrets only in the webhook's namespace (%s), and %s names Secret %s/%s, "+
				"which whoever may write Secrets in %s could replace; put the Secret in %s and write key: k8s://%s/%s",
				home, key, s.namespace, s.name, s.namespace, home, home, s.name)
		}
		return s, false, nil
	}
	if isKMS(key) {
		if ref.Namespaced() {
			return secretRef{}, false, fmt.Errorf("a SignetPolicy cannot use a KMS key (%s): the webhook would call the KMS with its own credentials; "+
				"put the PEM public key inline as publicKey or in a Secret in %s (key: k8s://%s/SECRET)", key, ref.Namespace, ref.Namespace)
		}
		return secretRef{}, true, nil
	}
	return secretRef{}, false, errKeyNotForResources
}

// parseSecretRef reads NAMESPACE/NAME or NAME (in home).
func parseSecretRef(s, home string) (secretRef, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok {
		ns, name = home, s
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return secretRef{}, fmt.Errorf("k8s://%s: %q is not a namespace name; write k8s://NAMESPACE/SECRET", s, ns)
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return secretRef{}, fmt.Errorf("k8s://%s: %q is not a Secret name; write k8s://NAMESPACE/SECRET", s, name)
	}
	return secretRef{namespace: ns, name: name}, nil
}

// kmsSchemes are the KMS URIs a SignetClusterPolicy may name (the CRD's
// rule lists the same).
var kmsSchemes = []string{"awskms://", "gcpkms://", "azurekms://", "hashivault://"}

func isKMS(key string) bool {
	for _, p := range kmsSchemes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// checkKey reads a Secret's key and makes sure it is a public key; the
// error never quotes the Secret's content.
func checkKey(pemBytes []byte, s secretRef) error {
	if _, err := keys.ParsePublicKey(pemBytes); err != nil {
		return fmt.Errorf("in the Secret %s/%s, %s is not a PEM public key (ECDSA, Ed25519 or RSA)", s.namespace, s.name, SecretKey)
	}
	return nil
}
