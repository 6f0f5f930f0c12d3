package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// defaultTimeout bounds a verifying command: long enough to wait out a
// registry's rate limits (429 with Retry-After is retried until then),
// short enough that a script or CI job is not held forever.
const defaultTimeout = 5 * time.Minute

// timeoutHelp is the --timeout paragraph of a verifying command's help.
const timeoutHelp = `--timeout (default 5m) bounds the whole command. A registry that is rate
limiting (429, or 503 with Retry-After) is asked again, as often as it
allows, until then; one that is down (refused connections, 5xx with no
Retry-After) fails after a few attempts. 0 sets no deadline (each request
then waits out rate limits for at most 2 minutes).

`

func addTimeoutFlag(cmd *cobra.Command, d *time.Duration) {
	cmd.Flags().DurationVar(d, "timeout", defaultTimeout, "how long the command may take in all; rate-limited registry requests are retried until then (0: no deadline)")
}

// withTimeout gives cmd's context the deadline d (none when d is 0); the
// caller defers the cancel it returns.
func withTimeout(cmd *cobra.Command, d time.Duration) (context.CancelFunc, error) {
	if d < 0 {
		return nil, usageError{fmt.Errorf("--timeout must be 0 (no deadline) or more, not %s", d)}
	}
	if d == 0 {
		return func() {}, nil
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), d)
	cmd.SetContext(ctx)
	return cancel, nil
}
