// Package listen opens the TCP listeners of signet's servers (the local
// registry, the transparency log, the admission webhook, the push gate),
// with errors that say what to do: an address in use or a port that needs
// privileges is said once, in words, not as the socket call's own text.
package listen

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// TCP listens on addr (host:port).
func TCP(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, explain(err))
	}
	return ln, nil
}

// explainedError keeps the socket error for errors.Is and errors.As while
// saying it in words.
type explainedError struct {
	msg string
	err error
}

func (e explainedError) Error() string { return e.msg }
func (e explainedError) Unwrap() error { return e.err }

func explain(err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return explainedError{"another program is already listening there; stop it, or give another address (port 0 picks a free one)", err}
	case errors.Is(err, syscall.EACCES):
		return explainedError{"permission denied; ports below 1024 need privileges, so give a higher port", err}
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return explainedError{"no network interface of this machine has that address; use 127.0.0.1, or an address this machine has", err}
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return explainedError{op.Err.Error(), err}
	}
	return err
}
