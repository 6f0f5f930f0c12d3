// Command signet signs, attests and verifies container images.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"

	"github.com/signet-dev/signet/internal/companion"
	// No collection from package initialisation on until the runtime holds
	// 32 MiB (most commands allocate a few megabytes and exit); the usual
	// pacing after (internal/gcpace).
	_ "github.com/signet-dev/signet/internal/gcpace/startfloor"
)

func main() {
	// Tessera logs through klog; Signet reports what matters itself.
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	if splitBuild && companion.ServerRole(os.Args[1:]) {
		err := companion.HandOver(os.Args[1:])
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(exitCode(err))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
