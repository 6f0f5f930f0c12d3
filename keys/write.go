package keys

import (
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"os"
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
			if _, err := os.Stat(p); err == nil {
				return "", "", fmt.Errorf("writing %s: %w (use --force to replace it)", p, ErrExists)
			}
		}
	}
	if err := writeFile(keyPath, privPEM, 0o600); err != nil {
		return "", "", err
	}
	if err := writeFile(pubPath, pubPEM, 0o644); err != nil {
		return "", "", err
	}
	return keyPath, pubPath, nil
}

// writeFile writes data through a temporary file renamed into place, so a
// failed write never leaves a half-written key, and sets mode before any
// secret byte is written.
func writeFile(path string, data []byte, mode fs.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil { // umask-independent
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
