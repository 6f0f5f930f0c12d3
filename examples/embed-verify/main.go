// Command embed-verify shows how a Go program embeds Signet's policy engine:
// load a policy, decide for images, act on the decision's data.
//
//	go run ./examples/embed-verify POLICY IMAGE...
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: embed-verify POLICY IMAGE...")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Key files in the policy are relative to it; env:// keys need a lookup.
	compiled, err := policy.Load(os.Args[1], keys.Loader{Lookup: os.LookupEnv})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// One engine per policy, shared by every request: its cache remembers
	// verdicts per digest (passes for 5 minutes, failures for 30 seconds).
	engine, err := verify.NewEngine(oci.New(), compiled, verify.WithCache(10_000, 5*time.Minute, 30*time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 0
	for _, d := range engine.DecideAll(ctx, os.Args[2:]) {
		if !d.Allowed {
			code = 1
			fmt.Printf("DENY  %s: %s\n", d.Image, d.Reason)
			continue
		}
		// Pin what runs to what was verified.
		fmt.Printf("ALLOW %s → run %s\n", d.Image, d.Digest)
	}
	os.Exit(code)
}
