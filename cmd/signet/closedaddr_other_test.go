//go:build !unix

package main

import (
	"net"
	"testing"
)

// closedAddr is a 127.0.0.1 address where nothing listens (here, one that
// was free a moment ago).
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
