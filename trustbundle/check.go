package trustbundle

import (
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/policy"
)

// Check parses every file as its role says it is (a Sigstore trusted root
// and signing config, a signet policy, a PEM public key, a recall list), so
// that a bundle is refused when it is made, not when a verifier needs it.
func (b *Bundle) Check() error {
	for _, f := range b.Files {
		if err := checkFile(f); err != nil {
			return fmt.Errorf("%w: %s (%s): %w", ErrInvalid, f.Name, f.Role, err)
		}
	}
	if err := b.checkPolicies(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

func checkFile(f File) error {
	var err error
	switch f.Role {
	case RoleTrustedRoot:
		_, err = root.NewTrustedRootFromJSON(f.Data)
	case RoleSigningConfig:
		_, err = root.NewSigningConfigFromJSON(f.Data)
	case RolePolicy:
		_, _, err = policy.Parse(f.Data)
	case RoleKey:
		_, err = keys.ParsePublicKey(f.Data)
	case RoleRecalls:
		_, err = policy.ParseRecalls(f.Data)
	}
	return err
}
