// Package kmsplugin runs one of sigstore's KMS providers as a plugin program
// of sigstore's kms/cliplugin protocol: the program is named
// sigstore-kms-NAME, takes the protocol version and a JSON request as its
// arguments and the message on stdin, and writes a JSON answer on stdout.
// The signet binary links no cloud SDK: for awskms://, gcpkms://, azurekms://
// and hashivault:// keys it runs the provider programs built from
// cmd/sigstore-kms-* (make build puts them next to signet), so commands that
// use no KMS do not pay for the SDKs' start-up.
package kmsplugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/common"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/encoding"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/handler"
)

// Main answers the request in os.Args with the provider registered for
// scheme (such as "awskms://") and returns the exit status.
func Main(scheme string) int { return Run(scheme, os.Args, os.Stdin, os.Stdout) }

// Run answers one request. Errors go to stdout as the protocol's error
// message, which the calling program reports; the exit status is 1 then.
func Run(scheme string, args []string, stdin io.Reader, stdout io.Writer) int {
	if err := run(scheme, args, stdin, stdout); err != nil {
		_ = handler.WriteErrorResponse(stdout, err)
		return 1
	}
	return 0
}

func run(scheme string, args []string, stdin io.Reader, stdout io.Writer) error {
	// Without its provider linked, kms.Get would fall back to running the
	// plugin program for the scheme: this very program, forever.
	if !slices.Contains(kms.SupportedProviders(), scheme) {
		return fmt.Errorf("this KMS plugin program was built without the %s provider", scheme)
	}
	if len(args) < 3 {
		return fmt.Errorf("a KMS plugin program is run by signet or cosign with the protocol version and a request as arguments, not by hand (%s keys)", scheme)
	}
	if args[1] != common.ProtocolVersion {
		return fmt.Errorf("the caller speaks KMS plugin protocol %q, this program %q: use the plugin programs built with the same signet", args[1], common.ProtocolVersion)
	}
	req, err := handler.GetPluginArgs(args)
	if err != nil {
		return fmt.Errorf("reading the KMS plugin request: %w", err)
	}
	init := req.InitOptions
	if init == nil || req.MethodArgs == nil {
		return errors.New("the KMS plugin request has no key or no method")
	}
	if init.ProtocolVersion != common.ProtocolVersion {
		return fmt.Errorf("the caller speaks KMS plugin protocol %q, this program %q: use the plugin programs built with the same signet", init.ProtocolVersion, common.ProtocolVersion)
	}
	ctx := context.Background()
	if init.CtxDeadline != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, *init.CtxDeadline)
		defer cancel()
	}
	var opts []signature.RPCOption
	if init.RPCOptions != nil { // UnpackRPCOptions dereferences it
		opts = encoding.UnpackRPCOptions(init.RPCOptions)
	}
	sv, err := kms.Get(ctx, scheme+init.KeyResourceID, init.HashFunc, opts...)
	if err != nil {
		return err
	}
	// Dispatch writes the answer, a method's error included.
	_, err = handler.Dispatch(stdout, stdin, req, sv)
	return err
}
