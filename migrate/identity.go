package migrate

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/policy"
)

// kmsSchemes are the key references Signet reads itself (a KMS) or through
// the webhook's Kubernetes access (k8s://NAMESPACE/SECRET, the Secret's
// cosign.pub).
var kmsSchemes = []string{"awskms://", "gcpkms://", "azurekms://", "hashivault://", "openbao://", "k8s://"}

// pemSigners reads one or more PEM public keys, one signer each.
func pemSigners(hint, data string) ([]signer, error) {
	rest := []byte(strings.TrimSpace(data))
	var out []signer
	for len(rest) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("it is not a PEM public key (-----BEGIN PUBLIC KEY-----)")
		}
		text := string(pem.EncodeToMemory(block))
		pub, err := keys.ParsePublicKey([]byte(text))
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(der)
		out = append(out, signer{id: "key:" + hex.EncodeToString(sum[:]), hint: hint, s: policy.Signer{PublicKey: text}})
		rest = []byte(strings.TrimSpace(string(rest)))
	}
	if len(out) == 0 {
		return nil, errors.New("it holds no key")
	}
	return out, nil
}

// refSigner is a key Signet loads by reference (KMS, k8s://).
func refSigner(hint, ref string) (signer, error) {
	for _, s := range kmsSchemes {
		if strings.HasPrefix(ref, s) && len(ref) > len(s) {
			return signer{id: "ref:" + ref, hint: hint, s: policy.Signer{Key: ref}}, nil
		}
	}
	return signer{}, fmt.Errorf("%q is neither a PEM key nor a reference Signet reads (%s)", ref, strings.Join(kmsSchemes, ", "))
}

// keylessSigner is a certificate identity.
func keylessSigner(hint string, k policy.Keyless) signer {
	b, _ := json.Marshal(k) // a struct of strings: cannot fail
	return signer{id: "keyless:" + string(b), hint: hint, s: policy.Signer{Keyless: &k}}
}

// anyIdentity is any certificate from a trusted certificate authority,
// whatever its identity: what cosign accepts when told no identity.
func anyIdentity(hint string) signer {
	return keylessSigner(hint, policy.Keyless{IssuerRegExp: ".*", SubjectRegExp: ".*"})
}

// wildcardRegexp writes a Kyverno wildcard (* any run, ? one character)
// as an anchored regular expression.
func wildcardRegexp(w string) string {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range w {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return b.String()
}

func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?") }

func hasVariable(s string) bool { return strings.Contains(s, "{{") }
