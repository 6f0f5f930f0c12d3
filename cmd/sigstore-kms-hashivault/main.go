// Command sigstore-kms-hashivault signs with HashiCorp Vault keys (hashivault:// references)
// for signet, which links no cloud SDK and runs this program instead through
// sigstore's KMS plugin protocol (cosign can use it too). make build puts it
// next to signet, where signet finds it; so does a directory on PATH.
package main

import (
	"os"

	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"

	"github.com/signet-dev/signet/internal/kmsplugin"
)

func main() { os.Exit(kmsplugin.Main("hashivault://")) }
