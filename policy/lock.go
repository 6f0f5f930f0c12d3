package policy

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/signet-dev/signet/internal/atomicfile"
)

// LockFile pins tags to digests (written by `signet lock`, committed by CI).
type LockFile struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Images     []LockEntry `json:"images"`
}

// LockEntry is one pinned tag.
type LockEntry struct {
	// Ref is the tag reference, normalised (registry/repo:tag).
	Ref      string    `json:"ref"`
	Digest   string    `json:"digest"`
	LockedAt time.Time `json:"lockedAt"`
}

// Digest returns the locked digest for ref, and whether ref is locked.
// References are compared as rules match them (NormalizeReference), so
// another spelling of a locked tag finds its pin.
func (l *LockFile) Digest(ref string) (string, bool) {
	if l == nil {
		return "", false
	}
	want, err := NormalizeReference(ref)
	if err != nil {
		return "", false
	}
	for _, e := range l.Images {
		if got, err := NormalizeReference(e.Ref); err == nil && got == want {
			return e.Digest, true
		}
	}
	return "", false
}

// Set pins ref to digest at now, replacing an earlier pin.
func (l *LockFile) Set(ref, digest string, now time.Time) {
	for i := range l.Images {
		if l.Images[i].Ref == ref {
			l.Images[i] = LockEntry{Ref: ref, Digest: digest, LockedAt: now.UTC()}
			return
		}
	}
	l.Images = append(l.Images, LockEntry{Ref: ref, Digest: digest, LockedAt: now.UTC()})
	sort.Slice(l.Images, func(i, j int) bool { return l.Images[i].Ref < l.Images[j].Ref })
}

// ReadLock reads a lock file; a missing file is an empty lock.
func ReadLock(path string) (*LockFile, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return &LockFile{APIVersion: APIVersion, Kind: "Lock"}, nil
	}
	if err != nil {
		return nil, err
	}
	var l LockFile
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("parsing lock file %s: %w", path, err)
	}
	if l.Kind != "Lock" {
		return nil, fmt.Errorf("lock file %s: kind %q, want Lock", path, l.Kind)
	}
	return &l, nil
}

// WriteLock writes a lock file.
func WriteLock(path string, l *LockFile) error {
	l.APIVersion, l.Kind = APIVersion, "Lock"
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Replace(path, append(b, '\n'), 0o644)
}
