//go:build !signet_nokms

package main

// KMS providers for key references such as awskms://, gcpkms://, azurekms://
// and hashivault://. They register themselves with sigstore's kms package;
// the keys library stays free of cloud SDKs, and programs embedding it link
// only the providers they want. Build with -tags signet_nokms to leave them
// out (16 MB smaller, ~10 ms faster to start).
import (
	_ "github.com/sigstore/sigstore/pkg/signature/kms/aws"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/azure"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/gcp"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
)
