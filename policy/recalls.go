package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/signet-dev/signet/internal/lazyre"
	"github.com/signet-dev/signet/keys"
)

// RecallKind identifies a recall list document.
const RecallKind = "RecallList"

// ErrInvalidRecalls marks a recall list that does not parse or validate.
var ErrInvalidRecalls = errors.New("invalid recall list")

// RecallList is the recall list document: digests that must not run and
// keys whose signatures stop counting from a time. It is a document of its
// own (YAML or JSON), versioned so that a signed carrier (a trust bundle)
// can refuse an older one.
type RecallList struct {
	// APIVersion must be signet.dev/v1alpha1.
	APIVersion string `json:"apiVersion" yaml:"apiVersion"`
	// Kind must be RecallList.
	Kind string `json:"kind" yaml:"kind"`
	// Version numbers the list (1, 2, ...): a newer list has a higher one.
	Version int64 `json:"version" yaml:"version"`
	// Digests are recalled images.
	Digests []RecalledDigest `json:"digests,omitempty" yaml:"digests,omitempty"`
	// Keys are revoked signing keys.
	Keys []RevokedKey `json:"keys,omitempty" yaml:"keys,omitempty"`
}

// RecalledDigest is an image that must not be admitted or verified.
type RecalledDigest struct {
	// Digest is the manifest digest, sha256:<64 hex>.
	Digest string `json:"digest" yaml:"digest"`
	// Reason is shown wherever the digest is refused. Required.
	Reason string `json:"reason" yaml:"reason"`
}

// RevokedKey is a key whose signatures count only when a trusted time
// places them before RevokedFrom.
type RevokedKey struct {
	// KeyID is the key as signet prints it (keyId in -o json: base64 of the
	// SHA-256 of the DER public key). Give it or PublicKey.
	KeyID string `json:"keyId,omitempty" yaml:"keyId,omitempty"`
	// PublicKey is the key in PEM. Give it or KeyID.
	PublicKey string `json:"publicKey,omitempty" yaml:"publicKey,omitempty"`
	// RevokedFrom (RFC 3339) is when the key stopped counting.
	RevokedFrom string `json:"revokedFrom" yaml:"revokedFrom"`
	// Reason is shown wherever a signature by the key is refused. Required.
	Reason string `json:"reason" yaml:"reason"`
}

// Recalls is a validated recall list, ready to apply.
type Recalls struct {
	// Version is the list's version.
	Version int64
	// Digest is the SHA-256 (hex) of the list's bytes; caches key by it.
	Digest string
	// Raw is the document as read.
	Raw     []byte
	digests map[string]string // digest -> reason
	keys    map[string]Revocation
}

// Revocation is when and why a key was revoked.
type Revocation struct {
	From   time.Time
	Reason string
}

// Recalled returns the recall reason of digest (algorithm:hex), if recalled.
func (r *Recalls) Recalled(digest string) (string, bool) {
	if r == nil {
		return "", false
	}
	reason, ok := r.digests[strings.ToLower(digest)]
	return reason, ok
}

// Revoked returns the revocation of the key with this ID (keys.ID), if revoked.
func (r *Recalls) Revoked(keyID string) (Revocation, bool) {
	if r == nil || keyID == "" {
		return Revocation{}, false
	}
	rv, ok := r.keys[keyID]
	return rv, ok
}

// Empty reports whether the list recalls nothing.
func (r *Recalls) Empty() bool { return r == nil || len(r.digests)+len(r.keys) == 0 }

// HasKeys reports whether the list revokes any key.
func (r *Recalls) HasKeys() bool { return r != nil && len(r.keys) > 0 }

// HasDigests reports whether the list recalls any digest.
func (r *Recalls) HasDigests() bool { return r != nil && len(r.digests) > 0 }

// LoadRecalls reads and validates a recall list file.
func LoadRecalls(path string) (*Recalls, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the recall list: %w", err)
	}
	r, err := ParseRecalls(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

var sha256Digest = lazyre.New(`^sha256:[0-9a-f]{64}$`)

// ParseRecalls decodes and validates a recall list (YAML or JSON). Unknown
// fields are refused; every problem is listed, each naming its entry.
func ParseRecalls(data []byte) (*Recalls, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var l RecallList
	if err := dec.Decode(&l); err != nil {
		// The cause is yaml's own wording, which names the line.
		return nil, fmt.Errorf("%w: %v", ErrInvalidRecalls, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if !onlyDocument(dec) {
		// A second document (two lists concatenated) would be ignored.
		return nil, fmt.Errorf("%w: the file holds more than one document (a '---' line between them); merge them into one list", ErrInvalidRecalls)
	}
	sum := sha256.Sum256(data)
	out := &Recalls{Version: l.Version, Digest: hex.EncodeToString(sum[:]), Raw: data,
		digests: map[string]string{}, keys: map[string]Revocation{}}
	var problems []string
	fail := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if l.APIVersion != APIVersion || l.Kind != RecallKind {
		fail("apiVersion and kind must be %s and %s, not %q and %q", APIVersion, RecallKind, l.APIVersion, l.Kind)
	}
	if l.Version < 1 {
		fail("version must be a positive number (raise it with every change)")
	}
	for i, d := range l.Digests {
		switch {
		case !sha256Digest.MatchString(d.Digest):
			fail("digests[%d]: %q is not sha256:<64 lower-case hex>", i, d.Digest)
		case strings.TrimSpace(d.Reason) == "":
			fail("digests[%d]: a reason is required (it is shown wherever %s is refused)", i, d.Digest)
		case out.digests[d.Digest] != "":
			fail("digests[%d]: %s is recalled twice", i, d.Digest)
		default:
			out.digests[d.Digest] = d.Reason
		}
	}
	for i, k := range l.Keys {
		if err := out.addKey(k); err != nil {
			fail("keys[%d]: %v", i, err)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalidRecalls, strings.Join(problems, "; "))
	}
	return out, nil
}

// isKeyID reports whether id is written as keys.ID writes one: standard
// base64, with padding, of 32 bytes.
func isKeyID(id string) bool {
	b, err := base64.StdEncoding.Strict().DecodeString(id)
	return err == nil && len(b) == sha256.Size && base64.StdEncoding.EncodeToString(b) == id
}

// onlyDocument reports whether dec holds nothing more than empty documents.
func onlyDocument(dec *yaml.Decoder) bool {
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		switch {
		case errors.Is(err, io.EOF):
			return true
		case err != nil:
			return false
		}
		for _, c := range next.Content {
			if c.Kind != yaml.ScalarNode || c.Tag != "!!null" {
				return false
			}
		}
	}
}

// addKey validates one revoked key and records it.
func (r *Recalls) addKey(k RevokedKey) error {
	id := k.KeyID
	switch {
	case (k.KeyID == "") == (k.PublicKey == ""):
		return errors.New("give exactly one of keyId or publicKey")
	case k.KeyID != "" && !isKeyID(k.KeyID):
		// An ID in another form would match no signature: the key would
		// look revoked and still count.
		return fmt.Errorf("keyId %q is not a key ID as signet prints it (keyId in -o json: base64 of the SHA-256 of the public key, 44 characters ending in '='); copy it from there, or give the key itself as publicKey", k.KeyID)
	case k.PublicKey != "":
		pub, err := keys.ParsePublicKey([]byte(k.PublicKey))
		if err != nil {
			return err
		}
		if id, err = keys.ID(pub); err != nil {
			return err
		}
	}
	from, err := time.Parse(time.RFC3339, k.RevokedFrom)
	if err != nil {
		return fmt.Errorf("revokedFrom %q is not an RFC 3339 time like 2026-01-31T00:00:00Z", k.RevokedFrom)
	}
	if strings.TrimSpace(k.Reason) == "" {
		return errors.New("a reason is required (it is shown wherever a signature by the key is refused)")
	}
	if _, dup := r.keys[id]; dup {
		return fmt.Errorf("key %s is revoked twice", id)
	}
	r.keys[id] = Revocation{From: from, Reason: k.Reason}
	return nil
}
