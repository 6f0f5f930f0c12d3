package main

import (
	"os"
	"path/filepath"
)

// signetHome returns $SIGNET_HOME, else ~/.signet.
func signetHome() string {
	if h := os.Getenv("SIGNET_HOME"); h != "" {
		return h
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".signet"
	}
	return filepath.Join(home, ".signet")
}

// homeFile returns SIGNET_HOME/name if it exists, else "".
func homeFile(name string) string {
	p := filepath.Join(signetHome(), name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

const (
	signingConfigFile = "signing_config.json"
	trustedRootFile   = "trusted_root.json"
)
