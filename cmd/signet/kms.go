//go:build !signet_kms_linked

package main

// KMS keys (awskms://, gcpkms://, azurekms://, hashivault://) are served by
// provider programs built from this repository, cmd/sigstore-kms-NAME, which
// signet runs through sigstore's KMS plugin protocol (kms/cliplugin) rather
// than linking four cloud SDKs whose package initialisation every command
// paid for. make build puts them next to signet; signet looks there first,
// then on PATH. Build with -tags signet_kms_linked to link the providers
// into signet instead (kms_linked.go).
import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/signet-dev/signet/internal/companion"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin"
)

// kmsSchemes are the key references served by cmd/sigstore-kms-*.
var kmsSchemes = []string{"awskms://", "gcpkms://", "azurekms://", "hashivault://"}

func init() {
	for _, s := range kmsSchemes {
		kms.AddProvider(s, kmsPlugin(s))
	}
}

// kmsPlugin runs the provider program for scheme.
func kmsPlugin(scheme string) kms.ProviderInit {
	return func(ctx context.Context, ref string, h crypto.Hash, opts ...signature.RPCOption) (kms.SignerVerifier, error) {
		kmsPluginsOnPath()
		sv, err := cliplugin.LoadSignerVerifier(ctx, ref, h, opts...)
		if errors.Is(err, exec.ErrNotFound) {
			name := cliplugin.PluginBinaryPrefix + strings.TrimSuffix(scheme, "://")
			return nil, fmt.Errorf("%s keys need the program %s, which is neither next to signet nor on PATH: "+
				"make build builds it into bin/ beside signet, or: go install github.com/signet-dev/signet/cmd/%s", scheme, name, name)
		}
		return sv, err
	}
}

// kmsPluginsOnPath puts signet's own directory first on PATH, once, when a
// KMS key is first used: the plugin protocol finds a provider program by its
// name on PATH, and the one beside signet is the one built with it.
var kmsPluginsOnPath = sync.OnceFunc(func() {
	os.Setenv("PATH", companion.PathFirst(os.Getenv("PATH")))
})
