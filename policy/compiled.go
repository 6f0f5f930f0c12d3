package policy

import (
	"crypto"
	"crypto/x509"
	"sort"
	"time"

	"github.com/gobwas/glob"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/signet-dev/signet/attest"
)

// Compiled is a validated policy ready to apply: patterns, keys and CEL
// conditions are all compiled.
type Compiled struct {
	// Hash identifies the policy for caches and receipts: SHA-256 over the
	// document's bytes and the key material it names (keys loaded from
	// files, env or KMS; lock files; signed-heads roots; the recall list),
	// so a replaced key
	// file next to an unchanged document changes it.
	Hash string
	// DefaultAllow is true when images no rule matches are allowed.
	DefaultAllow bool
	// Rules in document order.
	Rules []*Rule
	// Source is the parsed document.
	Source *Policy
	// Receipts, when set, are the gate verdicts that stand in for verification.
	Receipts *CompiledReceipts
	// Recalls is the recall list the policy names (nil when none).
	Recalls *Recalls
	// Mirrors are the mirror prefixes, normalised, longest first.
	Mirrors []Mirror
}

// CompiledReceipts are the receipts section, ready to apply.
type CompiledReceipts struct {
	Gates  []*CompiledSigner
	MaxAge time.Duration
	// VerifierID, when set, must equal a receipt's verifier.id.
	VerifierID string
	// PolicyDigests are other policies whose receipts count besides this
	// policy's own (see Receipts.PolicyDigests).
	PolicyDigests []string
}

// VSAPredicateType is the predicate type of a receipt.
const VSAPredicateType = "https://slsa.dev/verification_summary/v1"

// Rule is one compiled image rule.
type Rule struct {
	Index int
	// Pattern is the pattern as the document writes it; verdicts name it.
	Pattern string
	// Normalized is the pattern with its registry spelled as
	// NormalizeReference spells references' (e.g. nginx:* is
	// docker.io/library/nginx:*); it is what is matched.
	Normalized      string
	Mode            string
	Signers         []*CompiledSigner
	Threshold       int
	Attestations    []*CompiledAttestation
	TransparencyLog string
	Tags            *CompiledTags
	// Platforms is index (the default), every or any (ImageRule.Platforms).
	Platforms string
	// PlatformFilter is os/arch[/variant] for every and any; empty: all.
	PlatformFilter []string

	glob        glob.Glob
	specificity int
}

// Name is how verdicts refer to the rule.
func (r *Rule) Name() string { return r.Pattern }

// CompiledSigner is a signer with its key loaded.
type CompiledSigner struct {
	Name      string
	PublicKey crypto.PublicKey // nil for keyless, notation and github
	// Keyless is the certificate identity; a github signer compiles to one
	// (issuer, anchored subject pattern and source claims from the workflow).
	Keyless *Keyless
	// Notation is a Notation principal, its certificates parsed.
	Notation *CompiledNotation
	// GitHub is the workflow as written, for display; Keyless is what is checked.
	GitHub *GitHubWorkflow
	// TrustedRoot, when set (keyless or github with trustedRoot), is the
	// only root the identity's certificates may chain to; TrustedRootJSON
	// is its file's bytes.
	TrustedRoot     root.TrustedMaterial
	TrustedRootJSON []byte
	// ValidFrom and ValidUntil bound when the key's signatures count
	// (zero: unbounded on that side), judged by a trusted time.
	ValidFrom, ValidUntil time.Time
}

// CompiledNotation is a Notation principal ready to verify with.
type CompiledNotation struct {
	// Certificates is the trust store: CA certificates, or the signing
	// certificate itself.
	Certificates []*x509.Certificate
	// TSA are the RFC 3161 timestamp authority roots (none: timestamps
	// cannot be verified).
	TSA []*x509.Certificate
	// SigningAuthority selects trust store type signingAuthority.
	SigningAuthority bool
	// Subject is the trusted identity DN ("" any).
	Subject string
	// VerifyTimestamp is always or afterCertExpiry.
	VerifyTimestamp string
	// Revocation is enforce, log or skip.
	Revocation string
}

// CompiledAttestation is an attestation requirement.
type CompiledAttestation struct {
	Name          string
	PredicateType string
	Signers       []string
	Condition     string
	Cond          *Condition
	MaxAge        time.Duration
}

// CompiledTags are tag rules.
type CompiledTags struct {
	DigestRequired bool
	AllowedTags    []string
	Lock           *LockFile
	LockPath       string
	// SignedHeads, when set, requires tags to resolve to their signed head.
	SignedHeads *CompiledSignedHeads
	allowed     []glob.Glob
}

// TagAllowed reports whether tag matches one of AllowedTags (true when none are set).
func (t *CompiledTags) TagAllowed(tag string) bool {
	if len(t.allowed) == 0 {
		return true
	}
	for _, g := range t.allowed {
		if g.Match(tag) {
			return true
		}
	}
	return false
}

// Match returns the rule for an image reference, written in any spelling
// NormalizeReference accepts: the most specific matching pattern, the first
// in the document on a tie. Nil when none matches. A reference with no
// canonical spelling is an error wrapping ErrReference, never "no rule".
func (c *Compiled) Match(ref string) (*Rule, error) {
	rules, err := c.Matching(ref)
	if err != nil || len(rules) == 0 {
		return nil, err
	}
	return rules[0], nil
}

// Matching lists every rule matching ref, most specific first (for explain).
func (c *Compiled) Matching(ref string) ([]*Rule, error) {
	canon, err := NormalizeReference(ref)
	if err != nil {
		return nil, err
	}
	var matches []*Rule
	for _, r := range c.Rules {
		if r.glob.Match(canon) {
			matches = append(matches, r)
		}
	}
	sort.SliceStable(matches, func(i, j int) bool { return matches[i].specificity > matches[j].specificity })
	return matches, nil
}

func resolvePredicateType(t string) (string, error) {
	pt, _, err := attest.ResolveType(t)
	return pt, err
}

// CompiledSignedHeads is the trusted TUF root for signed tag heads: its
// bytes (RootJSON), or the SHA-256 (hex) of the repository's 1.root.json.
type CompiledSignedHeads struct {
	RootJSON   []byte
	RootDigest string
}
