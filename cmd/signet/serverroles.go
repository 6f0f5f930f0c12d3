//go:build !signet_split || !unix

package main

import (
	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/gate"
)

// splitBuild is false: this signet serves admission, gate and fleet itself
// (serverroles_split.go is the other way).
const splitBuild = false

// serverCompletedFlags are the fixed flag values of the server roles that
// shell completion offers.
func serverCompletedFlags() []flagValues {
	return []flagValues{
		{"", "failure-mode", []string{
			string(admission.FailClosed) + "\tdeny what could not be verified",
			string(admission.FailReceipt) + "\tadmit a digest that passed within --cache-ttl",
		}},
		{"signet gate status", "state", []string{gate.StatePending, gate.StatePassed, gate.StateAllowed, gate.StateUnverified, gate.StateFailed, gate.StateError}},
	}
}
