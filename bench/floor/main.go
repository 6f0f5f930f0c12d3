// Command floor is the bench's lower bound for a Sigstore verifier's
// start-up: a program that links only what any tool verifying cosign
// signatures in a registry must — sigstore-go's verifier, bundle and trusted
// root, go-containerregistry's registry client — and cobra, and does nothing
// but print its help. Every package it links runs its init on every start,
// used or not, so its `--help` is what signet's start-up would cost with none
// of signet's own features (policy, CEL, Notation, attestations) linked.
//
// The bench's start-up step builds it and measures it beside signet and
// crane (go run ./bench -only start-up). It is not shipped.
package main

import (
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/spf13/cobra"
)

// Referenced so that the linker keeps the packages, as a verifier would.
var (
	_ = remote.Get
	_ = bundle.LoadJSONFromPath
	_ = root.NewTrustedRootFromPath
	_ = verify.NewVerifier
)

func main() {
	cmd := &cobra.Command{Use: "floor", Short: "The smallest Sigstore image verifier's start-up (a bench reference)"}
	cmd.AddCommand(&cobra.Command{Use: "verify IMAGE", Short: "Not implemented: the bench measures start-up only"})
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
