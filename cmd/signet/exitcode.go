package main

import (
	"errors"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/verify"
)

// Exit codes. They are documented in 'signet verify --help' and the README.
const (
	exitOK           = 0 // verified / succeeded
	exitError        = 1 // any other failure (bad key, I/O)
	exitUsage        = 2 // bad flags or arguments
	exitNoSignatures = 3 // nothing that looks like a signature is attached
	exitInvalid      = 4 // signatures found, none valid for the trusted keys
	exitRegistry     = 5 // the registry could not be reached, refused, or lacks the image
	exitPolicyDenied = 6 // the policy refuses the image (tag rule, lock, condition, default deny)
)

const exitCodesHelp = `Exit codes:
  0  verified (every image has at least one valid signature)
  1  other error (unreadable key, bad input file)
  2  usage error (flags or arguments)
  3  no signatures found on an image
  4  signatures found, but none is valid (wrong key, tampered payload,
     signature copied from another digest, missing annotation, failed
     transparency-log check, attestation condition false)
  5  registry or network error (unreachable, auth refused, image not found)
  6  denied by the policy (--policy): a tag rule, a lock, an attestation
     condition or age, valid signatures from too few of the required
     signers (threshold), or no rule matching under defaultAction deny
With several images the highest code wins, except that 5 outranks 3 and 4.`

// usageError marks errors in how the command was called.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// silentError carries an exit code for a failure the command already reported.
type silentError struct{ code int }

func (s silentError) Error() string { return "" }

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
	case errors.Is(err, oci.ErrRegistry), errors.Is(err, oci.ErrNotFound):
		return exitRegistry
	case errors.Is(err, verify.ErrNoValidSignature):
		return exitInvalid
	case errors.Is(err, verify.ErrNoSignatures):
		return exitNoSignatures
	}
	return exitError
}

// worse returns the exit code that should win when several images fail.
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
