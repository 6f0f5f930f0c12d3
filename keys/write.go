package keys

import (
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/signet-dev/signet/internal/atomicfile"
)

// ErrExists means a key file is already there and overwriting was not asked for.
var ErrExists = errors.New("file already exists")

// WriteKeyPair writes prefix.key (encrypted with password, mode 0600) and
// prefix.pub (mode 0644). Existing files are refused unless overwrite is set.
// It returns the two paths.
func WriteKeyPair(prefix string, priv crypto.Signer, password []byte, overwrite bool) (string, string, error) {
	privPEM, err := EncryptPrivateKey(priv, password)
	if err != nil {
		return "", "", err
	}
	pubPEM, err := PublicKeyPEM(priv.Public())
	if err != nil {
		return "", "", err
	}
	keyPath, pubPath := prefix+".key", prefix+".pub"
	if !overwrite {
		for _, p := range []string{keyPath, pubPath} {
			if _, err := os.Lstat(p); err == nil { // a symlink, even a dangling one, counts
				return "", "", fmt.Errorf("writing %s: %w (use --force to replace it)", p, ErrExists)
			}
		}
	}
	if err := writeFile(keyPath, privPEM, 0o600, overwrite); err != nil {
		return "", "", err
	}
	if err := writeFile(pubPath, pubPEM, 0o644, overwrite); err != nil {
		if !overwrite {
			os.Remove(keyPath) // written just now: the pair goes together
		}
		return "", "", err
	}
	return keyPath, pubPath, nil
}

// writeFile writes a key file whole through a temporary file with a random
// name (mode set before any secret byte is written), so a failed write
// never leaves half a key and nothing is written through a symlink planted
// at a predictable name. Without overwrite, an existing file — or symlink —
// at path is refused, never replaced.
func writeFile(path string, data []byte, mode fs.FileMode, overwrite bool) error {
	write := atomicfile.Create
	if overwrite {
		write = atomicfile.Replace
	}
	err := write(path, data, mode)
	if errors.Is(err, fs.ErrExist) && !overwrite {
		return fmt.Errorf("writing %s: %w (use --force to replace it)", path, ErrExists)
	}
	return err
}
