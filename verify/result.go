package verify

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/oci"
)

// Outcome is the result of one check.
type Outcome string

// Check outcomes.
const (
	Pass Outcome = "pass"
	Fail Outcome = "fail"
	Skip Outcome = "skip"
)

// Check is one step of verifying a signature.
type Check struct {
	Name    string  `json:"name"`
	Outcome Outcome `json:"outcome"`
	Detail  string  `json:"detail,omitempty"`
}

// Result is the outcome of verifying one image. It is plain data, ready to
// print or to encode as JSON.
type Result struct {
	// Image is the reference as given.
	Image string `json:"image"`
	// Digest is the manifest digest that was verified.
	Digest string `json:"digest"`
	// Tag is the tag the digest was resolved from, if any.
	Tag string `json:"tag,omitempty"`
	// Verified is true when at least one signature passed every check.
	Verified bool `json:"verified"`
	// Signatures lists every candidate signature, verified or not.
	Signatures []Signature `json:"signatures"`
	// Ignored counts attached artifacts that are not image signatures
	// (attestations, SBOMs pushed by other tools).
	Ignored int `json:"ignored"`
	// Recalled says why a recall list recalls the digest (then nothing
	// attached to it was looked at); empty when it is not recalled.
	Recalled string `json:"recalled,omitempty"`
	// PlatformMode is every or any when an index was verified platform by
	// platform (Request.Platforms); empty otherwise.
	PlatformMode PlatformMode `json:"platformMode,omitempty"`
	// Platforms are the outcomes of the platform manifests then verified
	// (Signatures is empty: the index's own are not looked at).
	Platforms []PlatformResult `json:"platforms,omitempty"`
	// Skipped are the index's entries not verified, and why (BuildKit's
	// attestation manifests, platforms outside the filter).
	Skipped []string `json:"skipped,omitempty"`
}

// PlatformResult is the outcome of one platform manifest of an index.
type PlatformResult struct {
	// Platform is os/arch[/variant], or unspecified.
	Platform string `json:"platform"`
	Digest   string `json:"digest"`
	Verified bool   `json:"verified"`
	// Signatures are its candidate signatures, as Result's.
	Signatures []Signature `json:"signatures,omitempty"`
	// Error says why it did not verify.
	Error string `json:"error,omitempty"`
}

// Signature reports on one candidate signature.
type Signature struct {
	// Layout is where it was found.
	Layout oci.Layout `json:"layout"`
	// Manifest is the referrer or .sig manifest digest; for a bundle read
	// from a file (layout file), the file's name and line.
	Manifest string `json:"manifest"`
	// Format is sigstore-bundle or simple-signing.
	Format oci.Kind `json:"format"`
	// Verified is true when every check passed.
	Verified bool `json:"verified"`
	// KeyID identifies the trusted key the signature verified with: empty
	// when no trusted key verified it. (It is set once the cryptographic
	// check passed, so a signature refused by a later check, such as its log
	// entry or its digest, still names the key that made it.)
	KeyID string `json:"keyId,omitempty"`
	// ClaimedKeyID is the key hint the bundle carries: the signer's own,
	// unsigned claim of which key signed, never evidence of it.
	ClaimedKeyID string `json:"claimedKeyHint,omitempty"`
	// Key is the trusted key's (or identity's) name, as given to New.
	Key string `json:"key,omitempty"`
	// Principals are every trusted signer the signature verified for (a
	// certificate two overlapping identities accept names both); Key is
	// the first. A threshold counts each signature for one of them only.
	Principals []string `json:"principals,omitempty"`
	// Identity describes a keyless signer's certificate (subject, issuer).
	Identity string `json:"identity,omitempty"`
	// SignedName is the image name the signer recorded (with the tag that was meant, if signed by tag).
	SignedName string `json:"signedName,omitempty"`
	// SignedDigest is the digest the signed payload names.
	SignedDigest string `json:"signedDigest,omitempty"`
	// Annotations are the signed annotations.
	Annotations map[string]any `json:"annotations,omitempty"`
	// Log lists the transparency-log entries the bundle carries.
	Log []LogEntry `json:"log,omitempty"`
	// Statement is the signed in-toto statement of an attestation.
	Statement json.RawMessage `json:"statement,omitempty"`
	// Checks are the steps taken, in order.
	Checks []Check `json:"checks"`
	// Error explains a rejection.
	Error string `json:"error,omitempty"`

	// Detached is what a detached-predicate statement names (attest
	// --detached): the document checked after the signature.
	Detached *attest.DetachedPredicate `json:"detached,omitempty"`

	err       error
	statement *statement
	// expanded is the statement a condition and maxAge see for a detached
	// predicate (the document in place of the small predicate); summary
	// the document's (or an attached predicate's) summary; partial: the
	// condition sees only the predicate's small top-level members (it was
	// over the memory cap; see conditionView for an attached one).
	expanded []byte
	summary  map[string]any
	partial  bool
	// signerID names who made the signature, beyond the principals it
	// counts for: a trusted key's ID, a keyless certificate's issuer and
	// subject, a Notation certificate's subject. Signatures by one signer
	// (one signerID, or one KeyID) count once in a threshold. Empty and
	// no KeyID: unknown, counted apart.
	signerID string
	// certBound: a keyless certificate verified it, whose short validity
	// the trusted time had to fall in — so that time also says roughly
	// when it was made, not only that it existed by then.
	certBound bool
	// signedAt gives the earliest trusted time the signature existed by;
	// set once the signature verified, nil when it cannot have one.
	signedAt func() (trustedTime, bool)
	// signingTime is the time its signer signed into the signature (a
	// Notation envelope's signing time): it was made no later, whatever
	// later timestamp was added beside it. Zero: none.
	signingTime time.Time
	// validUntil is when the statement grows older than the request's
	// maxAge (zero without one): a verdict resting on it ends then.
	validUntil time.Time
}

// Err returns why the signature was rejected, nil if it verified. It matches
// one of the package's Err values with errors.Is.
func (s *Signature) Err() error { return s.err }

func (s *Signature) check(name string, o Outcome, detail string) {
	s.Checks = append(s.Checks, Check{Name: name, Outcome: o, Detail: detail})
}

func (s *Signature) fail(name string, err error) {
	s.check(name, Fail, err.Error())
	s.err = err
	s.Error = err.Error()
}

// LogEntry is a transparency-log entry carried in a bundle.
type LogEntry struct {
	Index int64  `json:"index"`
	Kind  string `json:"kind"`
	// URL is the log's URL, from the trusted root, when the log is trusted.
	URL string `json:"url,omitempty"`
	// Verified is true when the inclusion proof and checkpoint were verified offline.
	Verified bool `json:"verified"`
	// SETOnly is true when what was verified is the log's signed entry
	// timestamp alone: cosign v2's legacy layers carry no inclusion proof.
	SETOnly bool `json:"setOnly,omitempty"`
}

// add records one candidate (nil: not of the kind being verified).
func (r *Result) add(sig *Signature) {
	if sig == nil {
		r.Ignored++
		return
	}
	if sig.err == nil {
		sig.Verified = true
		r.Verified = true
	}
	r.Signatures = append(r.Signatures, *sig)
}

// err is nil when something verified, else an *Error listing the distinct
// reasons; none says what finding nothing means (nil: ErrNoSignatures).
func (r *Result) err(none error) error {
	if r.Verified {
		return nil
	}
	verr := &Error{Image: r.Image, Digest: r.Digest, noneErr: none}
	for _, s := range r.Signatures {
		if !slices.ContainsFunc(verr.Reasons, func(e error) bool { return e.Error() == s.err.Error() }) {
			verr.Reasons = append(verr.Reasons, s.err)
		}
	}
	return verr
}
