package oci

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// errNotRegular is a layout file that is a FIFO, a device, a directory or
// (where links are refused) a symbolic link: reading one could block or
// never end, so it is not read.
var errNotRegular = errors.New("not a regular file")

// readLayoutFile reads the regular file p, refusing one over max bytes.
// It opens without blocking (a FIFO) and checks what it opened, so a file
// swapped after a check is still refused; with noFollow a symbolic link is
// refused too.
func readLayoutFile(p string, max int64, noFollow bool) ([]byte, error) {
	f, err := openRegular(p, noFollow)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is over the %d-byte cap", p, max)
	}
	return b, nil
}

// openRegular opens p without blocking (a FIFO) and checks that what it
// opened is a regular file; with noFollow a symbolic link is refused too.
func openRegular(p string, noFollow bool) (*os.File, error) {
	flags := os.O_RDONLY | openNonblock
	if noFollow {
		flags |= openNoFollow
	}
	f, err := os.OpenFile(p, flags, 0)
	if err != nil {
		if noFollow && isLink(p) {
			return nil, fmt.Errorf("%s is a symbolic link: %w", p, errNotRegular)
		}
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is %s: %w", p, kindOf(st.Mode()), errNotRegular)
	}
	return f, nil
}

func isLink(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.Mode()&fs.ModeSymlink != 0
}

func kindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&(fs.ModeDevice|fs.ModeCharDevice) != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a plain file"
}

// layoutSubdir makes the directory rel (blobs, blobs/sha256) inside the
// layout, refusing one that is a symbolic link or not a directory: what
// Signet writes into a layout stays inside it.
func (l *LayoutDir) layoutSubdir(rel ...string) (string, error) {
	p := l.dir
	for _, r := range rel {
		p = filepath.Join(p, r)
		st, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return "", err
			}
			if st, err = os.Lstat(p); err != nil {
				return "", err
			}
		case err != nil:
			return "", err
		}
		if !st.IsDir() {
			what := "not a directory"
			if st.Mode()&fs.ModeSymlink != 0 {
				what = "a symbolic link"
			}
			return "", fmt.Errorf("writing to the layout %s: %s is %s; Signet writes only inside the layout (replace it with a directory)", l.dir, p, what)
		}
	}
	return p, nil
}
