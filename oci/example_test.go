package oci_test

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/oci"
)

// Where signatures live for a registry without the referrers API, and
// where cosign v2 put them.
func ExampleFallbackTag() {
	d, _ := name.NewDigest("registry.example.com/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	fmt.Println(oci.FallbackTag(d).TagStr())
	fmt.Println(oci.LegacySignatureTag(d).TagStr())
	// Output:
	// sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	// sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig
}
