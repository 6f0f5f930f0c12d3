// Package companion finds the programs built and installed with signet — the
// KMS provider programs (cmd/sigstore-kms-*) and signet-server, which serves
// the admission, gate, fleet, log serve and quickstart commands for a split
// build of signet — and hands a command line over to signet-server.
//
// A companion is looked for next to the running signet first (symbolic
// links resolved: the one built with it), then on PATH.
package companion

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Dir is the directory of the running program, symbolic links resolved.
var Dir = sync.OnceValues(func() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return "", err
	}
	return filepath.Dir(exe), nil
})

// ErrNotFound is returned by Find when the program is neither next to
// signet nor on PATH.
var ErrNotFound = errors.New("not found")

// Find returns the path of the program called name: the one next to the
// running program, else the first on PATH.
func Find(name string) (string, error) {
	if dir, err := Dir(); err == nil {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return p, nil
}

// PathFirst returns path (a PATH value) with the running program's
// directory first, unless it is already on it; the KMS plugin protocol finds
// providers by name on PATH.
func PathFirst(path string) string {
	dir, err := Dir()
	if err != nil || slices.Contains(filepath.SplitList(path), dir) {
		return path
	}
	if path == "" {
		return dir
	}
	return dir + string(os.PathListSeparator) + path
}

// ServerProgram serves the commands a split build of signet hands over.
const ServerProgram = "signet-server"

// ServerRoles are the commands a split build of signet hands to
// signet-server, each as the words that name it after "signet": the server
// roles, and the commands that run a transparency log.
var ServerRoles = [][]string{{"admission"}, {"fleet"}, {"gate"}, {"log", "serve"}, {"quickstart"}}

// ServerRole reports whether args (a command line without the program's
// name) is for a command a split build hands over: the command itself, its
// help (signet help gate ...) or its shell completion (signet __complete
// gate ...).
func ServerRole(args []string) bool { return serverRole(args) != "" }

// serverRole is the command args are for, as 'signet gate' names it, if a
// split build hands it over; else "".
func serverRole(args []string) string {
	if len(args) > 0 && slices.Contains([]string{"help", "__complete", "__completeNoDesc"}, args[0]) {
		args = args[1:]
	}
	for _, r := range ServerRoles {
		if len(args) >= len(r) && slices.Equal(args[:len(r)], r) {
			return "'signet " + strings.Join(r, " ") + "'"
		}
	}
	return ""
}

// handedOverEnv marks the environment of a signet-server that signet ran: a
// signet-server that is itself a split build would run itself for ever.
const handedOverEnv = "SIGNET_HANDED_OVER"
