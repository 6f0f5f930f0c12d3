package notary_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-dev/signet/notary"
)

// Describe reads an envelope without verifying it; anything that is not a
// JWS or COSE Notation envelope is refused.
func ExampleDescribe() {
	_, err := notary.Describe([]byte(`{"payload":"x"}`), "application/json")
	fmt.Println(errors.Is(err, notary.ErrEnvelope))
	// Output: true
}

// A verifier for one principal: signatures chaining to the Acme CA whose
// leaf subject is the security team's, timestamped by a trusted TSA.
func ExampleVerifier_Verify() {
	var acmeCA, tsaRoot *x509.Certificate // read from the policy's PEM files
	var manifest ocispec.Descriptor       // the image manifest's media type, digest and size
	var envelope []byte                   // the referrer's layer
	v, err := notary.NewVerifier([]notary.Principal{{
		Name:         "security",
		Certificates: []*x509.Certificate{acmeCA},
		Subject:      "CN=Security,O=Acme,ST=WA,C=US",
		TSA:          []*x509.Certificate{tsaRoot},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := v.Verify(context.Background(), manifest, "registry.example.com/app@"+manifest.Digest.String(), envelope, notary.MediaTypeJWS)
	if err != nil {
		fmt.Println(err) // one line per principal saying why
		return
	}
	fmt.Println(out.Principals, out.Timestamp)
}
