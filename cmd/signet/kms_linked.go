//go:build signet_kms_linked

package main

// With -tags signet_kms_linked, sigstore's AWS, GCP, Azure and Vault KMS
// providers are linked into signet (one binary, ~16 MB larger, ~2 ms slower
// to start every command) instead of run as cmd/sigstore-kms-* programs.
import (
	_ "github.com/sigstore/sigstore/pkg/signature/kms/aws"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/azure"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/gcp"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
)
