package tlog

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Info is what a log directory records about the log it holds, so `signet
// log info` and the trust files describe it without the server running.
type Info struct {
	Origin string `json:"origin"`
	URL    string `json:"url"`
}

const infoFile = "log.json"

// SaveInfo records info in the log directory.
func SaveInfo(dir string, info Info) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, infoFile), b, 0o644)
}

// LoadInfo reads what SaveInfo wrote.
func LoadInfo(dir string) (Info, error) {
	var info Info
	b, err := os.ReadFile(filepath.Join(dir, infoFile))
	if err != nil {
		return info, fmt.Errorf("reading log info (has `signet log serve` run with --dir %s?): %w", dir, err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("parsing %s: %w", filepath.Join(dir, infoFile), err)
	}
	return info, nil
}

// ReadCheckpointFile returns the latest checkpoint a log directory holds.
func ReadCheckpointFile(dir string) ([]byte, error) {
	return os.ReadFile(filepath.Join(dir, "tiles", "checkpoint"))
}

// PublicKeyFromDir loads the public half of the log's key in dir.
func PublicKeyFromDir(dir string) (any, error) {
	priv, err := loadKey(filepath.Join(dir, keyFile))
	if err != nil {
		return nil, err
	}
	return priv.Public(), nil
}
