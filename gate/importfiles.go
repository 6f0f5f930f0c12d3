package gate

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The file-based state of signet before the database (and what it is
// renamed to once imported).
const (
	legacyRecords = "records.json"
	legacySeen    = "seen.log"
	legacyQueue   = "queue"
	importedExt   = ".imported"
)

// importFiles imports, once, the file-based state an older signet left in
// dir — records.json (the verdicts), seen.log (the accepted event ids) and
// queue/ (the jobs not done) — into the database in one transaction, then
// renames each to NAME.imported (kept for the operator to delete). The
// import is idempotent: rows already in the database are kept as they are,
// so a crash between the commit and the renames only imports again.
func importFiles(ctx context.Context, s *sqlStore, dir string) error {
	var found bool
	for _, name := range []string{legacyRecords, legacySeen, legacyQueue} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			found = true
		}
	}
	if !found {
		return nil
	}
	recs, err := legacyRecordsIn(dir)
	if err != nil {
		return err
	}
	seen, err := legacySeenIn(dir)
	if err != nil {
		return err
	}
	jobs, err := legacyJobsIn(dir)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range seen {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO events (id, received) VALUES (?, 0) ON CONFLICT (id) DO NOTHING`), id); err != nil {
				return err
			}
		}
		for _, j := range jobs {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO events (id, received) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`), j.ID, nanos(j.Received)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO jobs (event_id, repository, digest, tag, media_type, received, attempts) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`),
				j.ID, j.Repository, j.Digest, j.Tag, j.MediaType, nanos(j.Received), j.Attempts); err != nil {
				return err
			}
		}
		for _, r := range recs {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO records (`+recordColumns+`) VALUES (`+recordValues+`) ON CONFLICT (repository, digest) DO NOTHING`),
				recordArgs(&r)...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, name := range []string{legacyRecords, legacySeen, legacyQueue} {
		p := filepath.Join(dir, name)
		if err := os.Rename(p, p+importedExt); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("renaming %s after importing it: %w", p, err)
		}
	}
	return nil
}

func legacyRecordsIn(dir string) ([]Record, error) {
	p := filepath.Join(dir, legacyRecords)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rs []Record
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	return rs, nil
}

func legacySeenIn(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, legacySeen))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if id := sc.Text(); id != "" {
			ids = append(ids, id)
		}
	}
	return ids, sc.Err()
}

// legacyJobsIn reads queue/, oldest first (the files are named by the time
// they were received); a torn file, never acknowledged, is skipped.
func legacyJobsIn(dir string) ([]*job, error) {
	entries, err := os.ReadDir(filepath.Join(dir, legacyQueue))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(entries, func(a, b int) bool { return entries[a].Name() < entries[b].Name() })
	var out []*job
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, legacyQueue, e.Name()))
		if err != nil {
			return nil, err
		}
		var j job
		if json.Unmarshal(b, &j) != nil || j.ID == "" {
			continue
		}
		out = append(out, &j)
	}
	return out, nil
}
