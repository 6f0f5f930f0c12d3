package tlog

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
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
	priv, err := LoadKey(KeyPath(dir))
	if err != nil {
		return nil, err
	}
	return priv.Public(), nil
}

// restoreKey is what to do about a log key that cannot be used.
const restoreKey = "restore the log's own key from a backup (a new key would make a new log that clients do not trust)"

// KeyPath is where a log directory keeps the log's private signing key.
func KeyPath(dir string) string { return filepath.Join(dir, "log.key") }

// LoadKey reads a log's private signing key; a missing file is
// os.ErrNotExist. The key is never part of an error.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("log key %s is not PEM; %s", path, restoreKey)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("log key %s does not hold a PKCS #8 private key, as the log writes it; %s", path, restoreKey)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("log key %s is not an Ed25519 key, which the log signs its checkpoints with; %s", path, restoreKey)
	}
	return priv, nil
}
