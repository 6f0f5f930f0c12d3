//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	_ "github.com/jackc/pgx/v5/stdlib" // reads the gate's database during the test
	_ "modernc.org/sqlite"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/gate"
	"github.com/signet-dev/signet/internal/dbtest"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
)

// TestGateReplicas runs real `signet gate serve` processes against the real
// distribution registry: two replicas on one PostgreSQL database, and one
// gate on SQLite. Notifications arrive in a burst (the same ones to both
// replicas, different ones to each, two events for one image to both at
// once); one gate is killed with SIGKILL in the middle. The lone SQLite gate
// is started again and what it refused is sent again, as the registry does;
// the killed replica stays down, what it refused goes to the other, which
// takes over the jobs the dead one had claimed once their lease ends. Then every
// accepted event (a 2xx answer) has ended in one record with a verdict, and
// every settled image carries exactly one verification summary.
func TestGateReplicas(t *testing.T) {
	k := keys(t)
	reg, err := startDistributionConfig("distribution-replicas", false, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("postgres, two replicas", func(t *testing.T) {
		srv := dbtest.Postgres(t)
		runReplicas(t, reg.host, k, "pg", srv.NewDatabase(t, "gate"), 2)
	})
	t.Run("sqlite, one gate", func(t *testing.T) {
		runReplicas(t, reg.host, k, "lite", filepath.Join(stateDir, "gate-replicas-sqlite"), 1)
	})
}

// gateProc is one `signet gate serve` process.
type gateProc struct {
	name, addr string
	cmd        *exec.Cmd
	args       []string
	env        []string
	starts     int
}

func (g *gateProc) start(t *testing.T) {
	t.Helper()
	g.starts++
	cmd, err := startProcessEnv(fmt.Sprintf("%s-%d", g.name, g.starts), g.env, tool("signet", ""), g.args...)
	if err != nil {
		t.Fatal(err)
	}
	g.cmd = cmd
	if err := waitHTTP("http://"+g.addr+"/healthz", 200); err != nil {
		t.Fatalf("%s: %v\n%s", g.name, err, g.log())
	}
}

// kill ends the gate with SIGKILL, as a crash would.
func (g *gateProc) kill() {
	_ = syscall.Kill(g.cmd.Process.Pid, syscall.SIGKILL)
	g.cmd.Wait()
}

func (g *gateProc) log() string {
	b, _ := os.ReadFile(filepath.Join(stateDir, fmt.Sprintf("%s-%d.log", g.name, g.starts)))
	return string(b)
}

const replicaSecret, replicaToken = "e2e-replica-secret", "e2e-replica-status-token"

// send is one notification to one gate.
type send struct {
	gate  int
	image int
	body  []byte
}

func runReplicas(t *testing.T, host string, k *keyMaterial, tag, state string, replicas int) {
	dir := filepath.Join(stateDir, "gate-replicas-"+tag)
	os.MkdirAll(dir, 0o700)
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte(fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nmetadata: {name: org-replicas}\nimages:\n  - pattern: %q\n    signers: [{name: release, key: %s}]\n",
		host+"/**", k.signetPub)), 0o644)
	env := toolEnv("SIGNET_PASSWORD="+password, "SIGNET_GATE_SECRET="+replicaSecret, "SIGNET_GATE_STATUS_TOKEN="+replicaToken)
	var gates []*gateProc
	for i := range replicas {
		addr, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		g := &gateProc{name: fmt.Sprintf("gate-%s-%d", tag, i), addr: addr, env: env, args: []string{"gate", "serve", "--policy", pol, "--registry", host,
			"--key", k.cosignKey, "--addr", addr, "--state", state, "--grace", "3s", "--recheck", "500ms", "--lease", "3s"}}
		g.start(t)
		gates = append(gates, g)
	}

	// 30 images, two in three signed.
	const n = 30
	var images []name.Digest
	signed := map[int]bool{}
	for i := range n {
		d := pushImage(t, host, fmt.Sprintf("replicas-%s/app%d:v1", tag, i%3))
		if i%3 != 2 {
			expect(t, "signet sign", signet(t, "sign", "--key", k.signetKey, d.String()), exitOK)
			signed[i] = true
		}
		images = append(images, d)
	}
	event := func(i int, id, tg string) []byte {
		b, _ := json.Marshal(map[string]any{"events": []any{map[string]any{"id": id, "timestamp": time.Now(), "action": "push",
			"target": map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": images[i].DigestStr(), "size": 100,
				"repository": fmt.Sprintf("replicas-%s/app%d", tag, i%3), "tag": tg}}}})
		return b
	}
	var sends []send
	for i := range n {
		first := event(i, fmt.Sprintf("e2e-%s-%d", tag, i), "v1")
		switch {
		case replicas == 1:
			sends = append(sends, send{0, i, first})
		case i%3 == 0: // the same event to both
			sends = append(sends, send{0, i, first}, send{1, i, first})
		case i%3 == 1: // two events for the image, one to each
			sends = append(sends, send{0, i, first}, send{1, i, event(i, fmt.Sprintf("e2e-%s-%d-latest", tag, i), "latest")})
		default: // one event to one
			sends = append(sends, send{i % 2, i, first})
		}
	}

	// The burst, four at a time; the last gate is killed halfway.
	victim := gates[len(gates)-1]
	var mu sync.Mutex
	var accepted int
	var refused []send
	post := func(s send) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+gates[s.gate].addr+"/events", bytes.NewReader(s.body))
		req.Header.Set("Authorization", "Bearer "+replicaSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	work := make(chan send)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				code := post(s)
				mu.Lock()
				if code/100 == 2 {
					accepted++
				} else {
					refused = append(refused, s)
				}
				mu.Unlock()
			}
		}()
	}
	held := -1
	for i, s := range sends {
		if i == len(sends)/2 {
			pid := victim.cmd.Process.Pid
			victim.kill()
			held = heldBy(t, state, pid)
		}
		work <- s
	}
	close(work)
	wg.Wait()
	t.Logf("%s: %d of %d notifications answered 2xx in the burst; %d refused (the killed gate); it died holding %d jobs", tag, accepted, len(sends), len(refused), held)

	if replicas == 1 {
		victim.start(t)
	} else {
		// The killed replica stays down: what it was refused goes to the
		// other (as a load balancer fails over), which also takes the jobs
		// the dead one had claimed once their lease ends.
		for i := range refused {
			refused[i].gate = 0
		}
	}
	for _, s := range refused {
		code := 0
		for try := 0; try < 60 && code/100 != 2; try++ {
			if code = post(s); code/100 != 2 {
				time.Sleep(250 * time.Millisecond)
			}
		}
		if code/100 != 2 {
			t.Fatalf("notification of image %d sent again: %d", s.image, code)
		}
		accepted++
	}

	// Wait until every image has settled with its summary and the queue is
	// empty (bounded).
	var st gate.Status
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st = replicaStatus(t, gates[0].addr)
		settled := 0
		for _, r := range st.Records {
			if r.VSAResult != "" {
				settled++
			}
		}
		if settled == n && st.Queue == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d images settled, queue %d after 3 minutes\n%s", tag, settled, n, st.Queue, victim.log())
		}
		time.Sleep(250 * time.Millisecond)
	}
	records := map[string]gate.Record{}
	for _, r := range st.Records {
		records[r.Digest] = r
	}
	client := oci.New()
	var verdicts, summaries, duplicates int
	for i, d := range images {
		r, ok := records[d.DigestStr()]
		want := map[bool]string{true: gate.StatePassed, false: gate.StateUnverified}[signed[i]]
		if !ok || r.State != want {
			t.Errorf("%s: image %d: record %+v, want %s", tag, i, r, want)
			continue
		}
		verdicts++
		found, err := attest.Statements(context.Background(), client, d.String(), policy.VSAPredicateType)
		if err != nil {
			t.Fatalf("listing the summaries of %s: %v", d, err)
		}
		summaries += len(found)
		if len(found) != 1 {
			duplicates += len(found) - 1
			t.Errorf("%s: image %d (%s) has %d summaries, want 1", tag, i, r.State, len(found))
		}
	}
	t.Logf("replicas: accepted=%d verdicts=%d summaries=%d duplicates=%d (engine=%s, gates=%d)", accepted, verdicts, summaries, duplicates, tag, replicas)
	for _, g := range gates {
		if g.cmd.ProcessState == nil {
			g.kill()
		}
	}
}

// heldBy counts the jobs in state claimed by the gate whose process id was
// pid (a replica's name in its claims is host/pid/random).
func heldBy(t *testing.T, state string, pid int) int {
	t.Helper()
	driver, dsn := "sqlite", "file:"+filepath.Join(state, "gate.db")+"?_pragma=busy_timeout(5000)"
	if strings.HasPrefix(state, "postgres://") {
		driver, dsn = "pgx", state
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM jobs WHERE claimed_by LIKE '%/' || ` + fmt.Sprint(pid) + ` || '/%'`).Scan(&n); err != nil {
		t.Fatalf("counting the jobs the killed gate held: %v", err)
	}
	return n
}

// replicaStatus is the gate's GET /status (every record).
func replicaStatus(t *testing.T, addr string) gate.Status {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/status?limit=1000", nil)
	req.Header.Set("Authorization", "Bearer "+replicaToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st gate.Status
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		t.Fatalf("GET /status: %s", resp.Status)
	}
	return st
}

// TestGateDiskFull runs `signet gate serve` on SQLite with a file-size
// limit (ulimit -f, 2 MiB), as a full disk: once the database cannot grow,
// new events are answered 503 (the registry sends them again), and every
// event answered 200 is in the database — none acknowledged and lost.
func TestGateDiskFull(t *testing.T) {
	k := keys(t)
	dir := filepath.Join(stateDir, "gate-disk-full")
	state := filepath.Join(dir, "state")
	os.MkdirAll(dir, 0o700)
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte(fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nmetadata: {name: full}\nimages:\n  - pattern: \"**\"\n    signers: [{name: release, key: %s}]\n", k.signetPub)), 0o644)
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	// No registry answers on port 1: the workers' fetches fail and are
	// retried later; the queue only grows.
	g := &gateProc{name: "gate-disk-full", addr: addr, env: toolEnv("SIGNET_PASSWORD="+password, "SIGNET_GATE_SECRET="+replicaSecret),
		args: []string{"-c", fmt.Sprintf("ulimit -f 2048 && exec %q gate serve --policy %q --registry 127.0.0.1:1 --key %q --addr %s --state %q",
			tool("signet", ""), pol, k.cosignKey, addr, state)}}
	cmd, err := startProcessEnv(g.name+"-1", g.env, "/bin/bash", g.args...)
	if err != nil {
		t.Fatal(err)
	}
	g.cmd, g.starts = cmd, 1
	if err := waitHTTP("http://"+addr+"/healthz", 200); err != nil {
		t.Fatalf("%v\n%s", err, g.log())
	}
	var ok []string
	refused := 0
	pad := string(bytes.Repeat([]byte("x"), 200))
	for i := 0; i < 5000 && refused < 20; i++ { // bounded: 2 MiB fills within a few thousand events
		id := fmt.Sprintf("full-%05d-%s", i, pad)
		b, _ := json.Marshal(map[string]any{"events": []any{map[string]any{"id": id, "timestamp": time.Now(), "action": "push",
			"target": map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": fmt.Sprintf("sha256:%064x", i), "size": 100,
				"repository": fmt.Sprintf("full/app%d", i), "tag": "v1"}}}})
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/events", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+replicaSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("event %d: %v (did the gate die of the file-size limit?)\n%s", i, err, g.log())
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			ok = append(ok, id)
		case http.StatusServiceUnavailable:
			if !strings.Contains(string(msg), "state cannot be written") {
				t.Fatalf("event %d refused for another reason: %s", i, msg)
			}
			refused++
		default:
			t.Fatalf("event %d: %s, want 200 or 503", i, resp.Status)
		}
	}
	if refused == 0 || len(ok) == 0 {
		t.Fatalf("%d events accepted, %d refused: want the limit reached after some were accepted", len(ok), refused)
	}
	g.kill()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(state, "gate.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lost := 0
	for _, id := range ok {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM events WHERE id = ?`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d events answered 200 are not in the database", lost, len(ok))
	}
	t.Logf("disk full: %d events accepted before the 2 MiB limit, then %d answered 503; none of the accepted lost", len(ok), refused)
}
