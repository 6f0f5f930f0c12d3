package verify

import (
	"errors"
	"fmt"
	"github.com/signet-dev/signet/policy"
	"strings"
)

// Reasons a signature is rejected. Each rejected Signature carries one of
// these (see Signature.Err), and a failed Verify returns an *Error that
// matches ErrNoValidSignature and every reason found, with errors.Is.
var (
	// ErrNoSignatures means nothing that looks like a signature is attached.
	ErrNoSignatures = errors.New("no signatures found")
	// ErrNoValidSignature means signatures were found but none verified.
	ErrNoValidSignature = errors.New("no valid signature")
	// ErrBadSignature means the signature does not verify with any trusted key
	// (a modified payload, or a signature by another key).
	ErrBadSignature = errors.New("signature does not verify with any trusted key")
	// ErrDigestMismatch means a valid signature signs another image digest:
	// it was copied onto this image.
	ErrDigestMismatch = errors.New("signature is for another image digest")
	// ErrRepositoryMismatch means a valid signature of a mirrored image
	// names another repository than the mirror's origin.
	ErrRepositoryMismatch = errors.New("signature names another repository")
	// ErrMalformed means the signature artifact could not be parsed.
	ErrMalformed = errors.New("malformed signature artifact")
	// ErrAnnotationMismatch means a required annotation is missing or differs.
	ErrAnnotationMismatch = errors.New("required annotation missing or different")
	// ErrTransparencyLog means a required log entry is missing, or an entry
	// does not verify (inclusion proof, checkpoint signature, or body).
	ErrTransparencyLog = errors.New("transparency log check failed")
	// ErrPredicateType means an attestation's signed statement is of another
	// predicate type than its referrer claims.
	ErrPredicateType = errors.New("predicate type mismatch")
	// ErrConditionFalse means an attestation's CEL condition evaluated to false.
	ErrConditionFalse = policy.ErrConditionFalse
	// ErrConditionInvalid means a CEL condition does not compile or does not
	// evaluate to a bool.
	ErrConditionInvalid = policy.ErrConditionInvalid
	// ErrTooOld means an attestation is older than its requirement's maxAge.
	ErrTooOld = errors.New("attestation too old")
	// ErrFutureTime means an attestation's age cannot be measured: its time
	// is in the future (beyond clock skew), or after the trusted time at
	// which it was logged or timestamped.
	ErrFutureTime = errors.New("attestation dated in the future")
	// ErrUnreadable means the artifact could not be fetched from the registry.
	ErrUnreadable = errors.New("signature artifact could not be read")
)

// Error is returned by Verify when an image has no valid signature. It lists
// why each candidate signature was rejected.
type Error struct {
	Image   string
	Digest  string
	Reasons []error
	noneErr error  // what "nothing found" means for this call; ErrNoSignatures by default
	invalid string // what "none verified" says for this call; ErrNoValidSignature's text by default
}

func (e *Error) Error() string {
	if len(e.Reasons) == 0 {
		return fmt.Sprintf("%s (%s): %v", e.Image, e.Digest, e.none())
	}
	parts := make([]string, len(e.Reasons))
	for i, r := range e.Reasons {
		parts[i] = r.Error()
	}
	invalid := e.invalid
	if invalid == "" {
		invalid = ErrNoValidSignature.Error()
	}
	return fmt.Sprintf("%s (%s): %s: %s", e.Image, e.Digest, invalid, strings.Join(parts, "; "))
}

// Unwrap lets errors.Is see the class (ErrNoSignatures or ErrNoValidSignature)
// and every reason.
func (e *Error) Unwrap() []error {
	if len(e.Reasons) == 0 {
		return []error{ErrNoSignatures, e.none()}
	}
	return append([]error{ErrNoValidSignature}, e.Reasons...)
}

func (e *Error) none() error {
	if e.noneErr != nil {
		return e.noneErr
	}
	return ErrNoSignatures
}
