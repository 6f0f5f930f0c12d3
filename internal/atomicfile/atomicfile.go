// Package atomicfile writes files whole. The bytes go to a temporary file
// with a random name in the destination's directory, created exclusively
// (O_CREATE|O_EXCL: a symlink planted there is never followed, and the
// name cannot be guessed to plant one), with its mode set before the first
// byte is written and synced before it is moved into place. A reader sees
// the old file or the new one, never half of one, and nothing is ever
// written through a symlink.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Create writes a new file at path with mode. If anything is at path
// already — a file, a directory, a symlink, even one pointing nowhere — it
// writes nothing and returns an error wrapping fs.ErrExist.
func Create(path string, data []byte, mode fs.FileMode) error {
	tmp, err := writeTemp(path, data, mode)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	// A hard link fails if path exists and, unlike a rename, never replaces
	// it; it does not follow a symlink at path.
	err = os.Link(tmp, path)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("writing %s: %w", path, fs.ErrExist)
	}
	// A file system without hard links: create path exclusively instead
	// (O_EXCL does not follow a symlink either).
	return createExclusive(path, data, mode)
}

// Replace writes path with mode, replacing whatever is there; a symlink at
// path is replaced, not followed.
func Replace(path string, data []byte, mode fs.FileMode) error {
	tmp, err := writeTemp(path, data, mode)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// writeTemp writes data to a new temporary file next to path and returns
// its name.
func writeTemp(path string, data []byte, mode fs.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp") // O_EXCL, mode 0600
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	if err := fill(f, data, mode); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return tmp, nil
}

// fill sets f's mode (umask-independent, before any byte is written), then
// writes, syncs and closes it.
func fill(f *os.File, data []byte, mode fs.FileMode) error {
	err := f.Chmod(mode)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func createExclusive(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := fill(f, data, mode); err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
