package listen

import (
	"errors"
	"strings"
	"syscall"
	"testing"
)

// TestAddressInUse: a second listener on the same address is refused in
// words, saying the address once, and errors.Is still sees the cause.
func TestAddressInUse(t *testing.T) {
	first, err := TCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	addr := first.Addr().String()
	_, err = TCP(addr)
	if err == nil {
		t.Fatal("a second listener on the same address was opened")
	}
	msg := err.Error()
	if !strings.Contains(msg, "another program is already listening there") || strings.Count(msg, addr) != 1 || strings.Contains(msg, "bind:") {
		t.Fatalf("message %q: want the address once and the cause in words", msg)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("%v does not match EADDRINUSE", err)
	}
}

// TestBadAddress: an address that cannot be parsed keeps the resolver's
// words, which name what is wrong, behind the address.
func TestBadAddress(t *testing.T) {
	_, err := TCP("127.0.0.1")
	if err == nil || !strings.HasPrefix(err.Error(), "cannot listen on 127.0.0.1: ") || strings.Contains(err.Error(), "listen tcp") {
		t.Fatalf("got %v", err)
	}
}
