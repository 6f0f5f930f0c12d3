package attest

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
)

// ErrSubjectMismatch means a statement given with --statement does not name
// the image's digest.
var ErrSubjectMismatch = errors.New("statement subject does not name this image")

// Statement is an in-toto Statement v1 whose predicate is kept as raw JSON,
// so an attached document stays byte for byte what was checked.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject is a statement subject.
type Subject struct {
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest"`
}

// NewStatement returns the statement about one image digest ("sha256:<hex>").
func NewStatement(name, digest, predicateType string, predicate json.RawMessage) (*Statement, error) {
	alg, hex, ok := strings.Cut(digest, ":")
	if !ok || alg != "sha256" || hex == "" {
		return nil, fmt.Errorf("digest %q is not sha256:<hex>", digest)
	}
	return &Statement{Type: StatementTypeV1, PredicateType: predicateType, Predicate: predicate,
		Subject: []Subject{{Name: name, Digest: map[string]string{alg: hex}}}}, nil
}

// ParseStatement parses an in-toto statement (v1, or v0.1 as cosign writes
// for attestations) and checks its shape.
func ParseStatement(data []byte) (*Statement, error) {
	var st Statement
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("parsing in-toto statement: %w", err)
	}
	if st.Type != StatementTypeV1 && st.Type != statementTypeV01 {
		return nil, fmt.Errorf("statement _type %q is not an in-toto statement", st.Type)
	}
	if st.PredicateType == "" {
		return nil, errors.New("statement has no predicateType")
	}
	if len(st.Subject) == 0 {
		return nil, errors.New("statement has no subject")
	}
	for i, s := range st.Subject {
		if len(s.Digest) == 0 {
			return nil, fmt.Errorf("statement subject %d has no digest", i)
		}
	}
	return &st, nil
}

// Names reports whether the statement's subjects include digest.
func (s *Statement) Names(digest string) bool {
	alg, hex, _ := strings.Cut(digest, ":")
	for _, sub := range s.Subject {
		if sub.Digest[alg] == hex {
			return true
		}
	}
	return false
}

// Attester signs statements about images and attaches them.
type Attester struct {
	signer *sign.Signer
	// notation, when set instead of signer, signs in Notation's format.
	notation *sign.NotationSigner
	client   *oci.Client
	now      func() time.Time
	large    int64
}

// PublicKey is the key the attester signs with (see sign.Signer.PublicKey);
// nil when it signs keyless.
func (a *Attester) PublicKey() crypto.PublicKey {
	if a.signer == nil {
		return nil
	}
	return a.signer.PublicKey()
}

// Option configures an Attester.
type Option func(*Attester)

// WithStreamingThreshold sets the predicate size from which a file is
// streamed rather than read. Default 4 MiB.
func WithStreamingThreshold(n int64) Option { return func(a *Attester) { a.large = n } }

// New returns an Attester that signs with signer and writes through client.
func New(signer *sign.Signer, client *oci.Client, opts ...Option) *Attester {
	a := &Attester{signer: signer, client: client, now: time.Now, large: 4 << 20}
	for _, o := range opts {
		o(a)
	}
	return a
}

// NewNotation returns an Attester that attaches each statement as an
// attestation artifact (an OCI artifact of type application/vnd.in-toto+json
// whose subject is the image) and signs the artifact's manifest with
// Notation, as Notation users' verifiers (Kyverno, Ratify, Signet) expect.
func NewNotation(signer *sign.NotationSigner, client *oci.Client, opts ...Option) *Attester {
	a := New(nil, client, opts...)
	a.notation = signer
	return a
}

// Request says what to attest.
type Request struct {
	// Type is a cosign --type name or a predicate-type URI. Required with Predicate.
	Type string
	// Predicate is the predicate file's content (an SBOM, a scan report, provenance).
	Predicate []byte
	// PredicatePath names the predicate file instead of Predicate. A large
	// CycloneDX SBOM (or JSON document of a URI type) is then checked and
	// attached while streaming, never held in memory whole.
	PredicatePath string
	// Statement is a complete statement built elsewhere; its subject must name the image.
	Statement []byte
	// Recursive attests an index's platform manifests too.
	Recursive bool
	// Detached stores the predicate as its own OCI artifact and signs a
	// small statement naming it (DetachedPredicateType).
	Detached bool
}

// Attested reports one attestation attached.
type Attested struct {
	Digest        string          `json:"digest"`
	Platform      string          `json:"platform,omitempty"`
	PredicateType string          `json:"predicateType"`
	Attached      oci.Attached    `json:"attached"`
	Log           []sign.LogEntry `json:"log,omitempty"`
	// Signature is the Notation signature of the attestation artifact
	// (Attached), for an Attester made with NewNotation.
	Signature *oci.Attached `json:"signature,omitempty"`
	// Detached is the detached predicate's artifact (Request.Detached).
	Detached *oci.Attached `json:"detached,omitempty"`
}

// AttestImage checks the predicate, builds the statement for the image (and
// its platforms with Recursive), signs it and attaches it as a referrer.
func (a *Attester) AttestImage(ctx context.Context, image string, req Request) ([]Attested, error) {
	c, err := a.check(req)
	if err != nil {
		return nil, err
	}
	return a.AttestChecked(ctx, image, c)
}

// AttestChecked builds the statement of a checked request (see Check) for
// the image (and its platforms when the request was Recursive), signs it
// and attaches it as a referrer.
func (a *Attester) AttestChecked(ctx context.Context, image string, c *Checked) ([]Attested, error) {
	if c.path != "" && !c.detached && (a.signer == nil || !a.signer.CanStream()) {
		// The signer signs whole messages: read the large file after all,
		// and check it again as it is now.
		data, err := readFile(c.path)
		if err != nil {
			return nil, err
		}
		predicate, err := BuildPredicate(c.kind, data, a.now())
		if err != nil {
			return nil, err
		}
		c = &Checked{predicateType: c.predicateType, predicate: predicate, recursive: c.recursive}
	}
	targets, err := a.client.Targets(ctx, image, c.recursive)
	if err != nil {
		return nil, err
	}
	var out []Attested
	for _, t := range targets {
		one, err := a.attestTarget(ctx, t, c)
		if err != nil {
			return nil, err
		}
		out = append(out, *one)
	}
	return out, nil
}

// attestTarget signs and attaches a checked request's statement about one
// manifest.
func (a *Attester) attestTarget(ctx context.Context, t *oci.Target, c *Checked) (*Attested, error) {
	if c.detached {
		return a.attestDetached(ctx, t, c)
	}
	if c.path != "" {
		return a.attestLarge(ctx, t, c.predicateType, c.path, c.size)
	}
	payload := c.statement
	if c.given != nil {
		if !c.given.Names(t.Digest.DigestStr()) {
			return nil, fmt.Errorf("%w: it names %v, the image is %s", ErrSubjectMismatch, c.given.Subject[0].Digest, t.Digest.DigestStr())
		}
	} else {
		st, err := NewStatement(t.Name(), t.Digest.DigestStr(), c.predicateType, c.predicate)
		if err != nil {
			return nil, err
		}
		if payload, err = json.Marshal(st); err != nil {
			return nil, err
		}
	}
	if a.notation != nil {
		art, sig, err := a.notation.AttestStatement(ctx, t, payload)
		if err != nil {
			return nil, err
		}
		return &Attested{Digest: t.Digest.DigestStr(), Platform: t.Platform, PredicateType: c.predicateType, Attached: *art, Signature: sig}, nil
	}
	bundle, entries, err := a.signer.SignStatement(ctx, payload)
	if err != nil {
		return nil, err
	}
	att, err := a.client.AttachBundle(ctx, t, bundle, sign.BundleAnnotations(c.predicateType, a.now()))
	if err != nil {
		return nil, err
	}
	return &Attested{Digest: t.Digest.DigestStr(), Platform: t.Platform, PredicateType: c.predicateType, Attached: *att, Log: entries}, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(f, maxInMemoryArtifact)
}
