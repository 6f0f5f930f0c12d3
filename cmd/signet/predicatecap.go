package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/verify"
)

// maxPredicateUsage is --max-predicate-size's help, the same on every
// command that verifies attestations.
const maxPredicateUsage = "largest detached predicate document to read, in bytes (larger ones are refused unread)"

// addPredicateCapFlag adds --max-predicate-size, the cap on detached
// predicate documents, to a command that verifies attestations (directly or
// through a policy).
func (o *trustOptions) addPredicateCapFlag(cmd *cobra.Command) {
	o.capFlag = true
	cmd.Flags().Int64Var(&o.maxPredicate, "max-predicate-size", verify.DefaultMaxDetachedBytes, maxPredicateUsage)
}

// predicateCap is the engine option for --max-predicate-size (the default
// when the command has no such flag).
func (o *trustOptions) predicateCap() verify.EngineOption {
	return verify.WithEngineMaxPredicateBytes(o.maxPredicate)
}

// checkPredicateCap refuses a --max-predicate-size under one byte rather
// than read it as the default.
func (o *trustOptions) checkPredicateCap() error {
	if o.capFlag && o.maxPredicate < 1 {
		return usageError{fmt.Errorf("--max-predicate-size must be at least 1 byte, not %d (the default is %d, 2 GiB)", o.maxPredicate, verify.DefaultMaxDetachedBytes)}
	}
	return nil
}
