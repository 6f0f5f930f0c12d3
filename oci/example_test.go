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

// How an image in an OCI layout directory is named.
func ExampleParseLayoutReference() {
	for _, s := range []string{"oci-layout:./app:v1", "oci-layout:/mnt/a:b/app", "oci-layout:app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"} {
		r, _ := oci.ParseLayoutReference(s)
		fmt.Printf("dir=%s tag=%q digest=%q\n", r.Dir, r.Tag, r.Digest)
	}
	// Output:
	// dir=./app tag="v1" digest=""
	// dir=/mnt/a:b/app tag="" digest=""
	// dir=app tag="" digest="sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
}
