package main

import (
	"errors"
	"fmt"
	"net"

	"github.com/signet-dev/signet/doctor"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/trustbundle"
	"github.com/signet-dev/signet/verify"
)

// Exit codes: one table for every command. Commands return errors;
// exitCode maps them to these codes by type and sentinel, and nothing else
// picks a code. exitCodesHelp (root and verify --help) and the README's
// "Exit codes" section document the same table.
const (
	exitOK           = 0 // succeeded: verified, allowed, done
	exitError        = 1 // a bad input file (unreadable or invalid key, policy, predicate, lock file, trusted root), or any other failure
	exitUsage        = 2 // how the command was called: unknown command or flag, bad flag value, wrong arguments, malformed image reference
	exitNoSignatures = 3 // --key/identity verification: nothing that looks like a signature (attestation of the type) is attached
	exitInvalid      = 4 // --key/identity verification: signatures found, none valid; a log that rewrote its history; doctor: damage not repaired
	exitRegistry     = 5 // a registry, transparency log or other service could not be reached, refused, or lacks the image
	exitPolicyDenied = 6 // the policy denies the image (--policy, admission review), whichever check failed
	exitRevoked      = 7 // a recall list refuses the image: its digest is recalled, or its signatures are by a revoked key
)

const exitCodesHelp = `Exit codes (the same for every command):
  0  success: every image verified, or allowed by the policy
  1  a bad input file (a key, policy, predicate, statement, manifest, lock
     file or trusted root that cannot be read or is invalid), or any other
     failure
  2  usage error: unknown command or flag, bad flag value, wrong number of
     arguments, malformed image reference
  3  no signatures (or attestations of --type) found on an image
  4  signatures found, but none is valid for the trusted keys or identities
     (wrong key, tampered payload, signature copied from another digest,
     missing annotation, failed transparency-log check, attestation
     condition false); also a log that rewrote its history (log verify),
     and a trust bundle refused (rollback, freeze, altered, untrusted root);
     and signet doctor finding damage it did not repair
  5  a registry, transparency log or other service could not be reached,
     refused the request, or lacks the image: retrying may help
  6  denied by the policy (--policy, admission review), whichever check
     failed: a tag rule, a lock, a signed head, missing or invalid
     signatures, valid signatures from too few of the required signers,
     an attestation condition or age, no rule matching under defaultAction
     deny. The failed check and its class (not-found, invalid,
     policy-denied) are printed, and are in -o json.
  7  revoked: a recall list (--recalls, or the policy's recalls) recalls
     the image's digest, or the only signatures that would count are by a
     key it revokes, made after the revocation or with no trusted time
     (class revoked; the recall's reason is printed)
3 and 4 are the verdicts of --key and keyless-identity verification; with
--policy the policy gives the verdict, so any denial is 6 (7 when a recall
decided it, 5 when the registry could not answer). With several images the
worst result decides: 5, then 1, then 7, 6, 4, 3.`

// errPolicyDenied marks a refusal by the policy.
var errPolicyDenied = errors.New("denied by the policy")

// errRevoked marks a refusal by a recall list (a policy decision of class revoked).
var errRevoked = fmt.Errorf("%w: revoked", errPolicyDenied)

// usageError marks errors in how the command was called.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// unavailableError marks an error from a service (a registry, a log) that
// could not be reached or did not answer, where the error itself no longer
// says so (a library that formatted the network error away).
type unavailableError struct{ error }

func (u unavailableError) Unwrap() error { return u.error }

// reported marks an error the command has already printed: run adds
// nothing, and the exit code is the wrapped error's.
type reported struct{ error }

func (r reported) Unwrap() error { return r.error }

// silentError carries the exit code of several outcomes the command has
// already printed (the worst of them, see worse).
type silentError struct{ code int }

func (s silentError) Error() string { return "" }

// quiet says whether run should print nothing more about err.
func quiet(err error) bool {
	var s silentError
	var r reported
	return errors.As(err, &s) || errors.As(err, &r)
}

// exitCode maps a command's error to its exit code: the table above.
func exitCode(err error) int {
	var u usageError
	var s silentError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &s):
		return s.code
	case errors.As(err, &u):
		return exitUsage
	case unavailable(err):
		return exitRegistry
	case errors.Is(err, errRevoked), errors.Is(err, verify.ErrRecalled), errors.Is(err, verify.ErrKeyRevoked):
		return exitRevoked
	case errors.Is(err, errPolicyDenied):
		return exitPolicyDenied
	case errors.Is(err, verify.ErrNoValidSignature), errors.Is(err, tlog.ErrInconsistent), bundleRefused(err), errors.Is(err, doctor.ErrDamaged):
		return exitInvalid
	case errors.Is(err, verify.ErrNoSignatures):
		return exitNoSignatures
	}
	return exitError
}

// bundleRefused says whether err is a trust bundle's refusal (rollback,
// freeze, altered...), not a failure to read it.
func bundleRefused(err error) bool {
	c := trustbundle.ClassOf(err)
	return c != "" && c != trustbundle.ClassUnavailable
}

// unavailable says whether err comes from a registry, log or other service
// that could not be reached or answered with a failure: a registry error,
// an image not found, a refused or broken connection, a name that does not
// resolve, a timeout (as when signing while the transparency log is down).
func unavailable(err error) bool {
	var u unavailableError
	if errors.Is(err, oci.ErrRegistry) || errors.Is(err, oci.ErrNotFound) || errors.As(err, &u) {
		return true
	}
	var op *net.OpError
	var dns *net.DNSError
	var ne net.Error
	return errors.As(err, &op) || errors.As(err, &dns) || (errors.As(err, &ne) && ne.Timeout())
}

// decisionError is a policy verdict as an error: nil when the image is
// allowed; a registry error when the registry could not answer (the image
// or what is attached to it could not be read); otherwise errPolicyDenied,
// whichever check failed — its class is in the decision printed.
func decisionError(d *verify.Decision) error {
	if d.Allowed {
		return nil
	}
	if d.Class == verify.ClassTransient {
		return fmt.Errorf("%w: %s", oci.ErrRegistry, d.Reason)
	}
	for _, c := range d.Checks {
		if c.Outcome == verify.Fail || c.Outcome == verify.Errored {
			if c.Outcome == verify.Errored && c.Class == verify.ClassNotFound {
				return fmt.Errorf("%w: %s", oci.ErrNotFound, d.Reason)
			}
			break
		}
	}
	if d.Class == verify.ClassRevoked {
		return fmt.Errorf("%w: %s", errRevoked, d.Reason)
	}
	return fmt.Errorf("%w: %s", errPolicyDenied, d.Reason)
}

// worse returns the exit code that should win when several images fail:
// a registry failure (the verdict is unknown), then any other error, then
// the highest code.
func worse(a, b int) int {
	rank := func(c int) int {
		switch c {
		case exitRegistry:
			return 10
		case exitError:
			return 9
		}
		return c
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}
