package gate

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/signet-dev/signet/internal/atomicfile"
)

// job is one unit of queued work: a pushed manifest to look at.
type job struct {
	// ID is the notification event's id (or one derived from its content).
	ID         string    `json:"id"`
	Repository string    `json:"repository"`
	Digest     string    `json:"digest"`
	Tag        string    `json:"tag,omitempty"`
	MediaType  string    `json:"mediaType,omitempty"`
	Received   time.Time `json:"received"`
	// Attempts counts transient failures so far.
	Attempts int `json:"attempts,omitempty"`
	// Recheck is a re-verification the gate scheduled itself (not an event).
	Recheck bool `json:"recheck,omitempty"`

	file string // its file in the queue directory; "" for in-memory jobs
}

// store keeps the gate's state on disk, so a restart loses nothing accepted:
//   - queue/: one file per accepted, unprocessed job (written before the
//     registry is answered, removed when its verdict is saved);
//   - seen.log: the ids of accepted events, one per line, for idempotency;
//   - records.json: the verdict of every digest seen, newest last.
type store struct {
	dir string

	mu      sync.Mutex
	seen    map[string]bool
	seenLog *os.File
	records map[string]*Record // by repository@digest
	queued  int
}

// maxRecords bounds records.json; the oldest settled records go first.
const maxRecords = 5000

func openStore(dir string) (*store, error) {
	if err := os.MkdirAll(filepath.Join(dir, "queue"), 0o700); err != nil {
		return nil, err
	}
	s := &store{dir: dir, seen: map[string]bool{}, records: map[string]*Record{}}
	if f, err := os.Open(filepath.Join(dir, "seen.log")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			s.seen[sc.Text()] = true
		}
		f.Close()
	}
	var err error
	if s.seenLog, err = os.OpenFile(filepath.Join(dir, "seen.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(dir, "records.json")); err == nil {
		var rs []*Record
		if err := json.Unmarshal(b, &rs); err != nil {
			return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, "records.json"), err)
		}
		for _, r := range rs {
			s.records[r.key()] = r
		}
	}
	return s, nil
}

func (s *store) close() error { return s.seenLog.Close() }

// errQueueFull asks the registry to send the notification again later.
var errQueueFull = errors.New("the gate's queue is full")

// accept records an event as seen and queues its job durably. It returns
// false for an event already accepted.
func (s *store) accept(j *job, max int) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[j.ID] {
		return false, nil
	}
	if s.queued >= max {
		return false, errQueueFull
	}
	sum := sha256.Sum256([]byte(j.ID))
	j.file = filepath.Join(s.dir, "queue", fmt.Sprintf("%020d-%s.json", j.Received.UnixNano(), hex.EncodeToString(sum[:8])))
	b, _ := json.Marshal(j)
	if err := writeSync(j.file, b); err != nil {
		return false, err
	}
	if _, err := s.seenLog.WriteString(j.ID + "\n"); err != nil {
		return false, err
	}
	if err := s.seenLog.Sync(); err != nil {
		return false, err
	}
	s.seen[j.ID] = true
	s.queued++
	return true, nil
}

// pending lists the queued jobs, oldest first (after a restart).
func (s *store) pending() ([]*job, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "queue"))
	if err != nil {
		return nil, err
	}
	var out []*job
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := filepath.Join(s.dir, "queue", e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var j job
		if err := json.Unmarshal(b, &j); err != nil {
			// A torn write of a job never acknowledged: drop it.
			os.Remove(p)
			continue
		}
		j.file = p
		out = append(out, &j)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].file < out[b].file })
	s.mu.Lock()
	s.queued = len(out)
	s.mu.Unlock()
	return out, nil
}

// done removes a processed job from the queue.
func (s *store) done(j *job) {
	if j.file == "" {
		return
	}
	if os.Remove(j.file) != nil {
		return // already done
	}
	s.mu.Lock()
	s.queued--
	s.mu.Unlock()
}

// update changes (or creates) the record of repository@digest under the
// lock and saves all records.
func (s *store) update(repo, digest string, f func(r *Record)) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := repo + "@" + digest
	r, ok := s.records[key]
	if !ok {
		r = &Record{Repository: repo, Digest: digest}
		s.records[key] = r
	}
	f(r)
	s.trim()
	return *r, s.save()
}

func (s *store) get(repo, digest string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[repo+"@"+digest]
	if !ok {
		return Record{}, false
	}
	return *r, true
}

// all returns copies of the records, newest push first.
func (s *store) all() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, 0, len(s.records))
	for _, r := range s.records {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Pushed.Equal(out[j].Pushed) {
			return out[i].Pushed.After(out[j].Pushed)
		}
		return out[i].key() < out[j].key()
	})
	return out
}

func (s *store) queueDepth() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queued
}

// trim drops the oldest settled records beyond maxRecords.
func (s *store) trim() {
	if len(s.records) <= maxRecords {
		return
	}
	var settled []*Record
	for _, r := range s.records {
		if r.State != StatePending {
			settled = append(settled, r)
		}
	}
	sort.Slice(settled, func(i, j int) bool { return settled[i].Updated.Before(settled[j].Updated) })
	for _, r := range settled[:min(len(settled), len(s.records)-maxRecords)] {
		delete(s.records, r.key())
	}
}

func (s *store) save() error {
	rs := make([]*Record, 0, len(s.records))
	for _, r := range s.records {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].key() < rs[j].key() })
	b, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	return writeSync(filepath.Join(s.dir, "records.json"), b)
}

// writeSync writes a file whole: a temporary file with a random name (never
// one a planted symlink could be waiting at), fsync, rename.
func writeSync(path string, data []byte) error {
	return atomicfile.Replace(path, data, 0o600)
}
