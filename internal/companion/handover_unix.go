//go:build unix

package companion

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// HandOver replaces the running program with signet-server, given the same
// arguments and environment: same process, same signals, same standard
// streams. It returns only when it could not.
func HandOver(args []string) error {
	role := serverRole(args)
	if role == "" {
		role = "this command"
	}
	if os.Getenv(handedOverEnv) != "" {
		return fmt.Errorf("%s was run for %s but hands it over too: it is a split build (-tags signet_split); "+
			"build %s without that tag (make build does)", ServerProgram, role, ServerProgram)
	}
	path, err := Find(ServerProgram)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%s runs in %s, which is neither next to signet nor on PATH: make build builds both into bin/; "+
			"or build signet without -tags signet_split to have every command in one program", role, ServerProgram)
	}
	if err != nil {
		return err
	}
	err = syscall.Exec(path, append([]string{path}, args...), append(os.Environ(), handedOverEnv+"=1"))
	return fmt.Errorf("running %s for %s: %w", path, role, err)
}
