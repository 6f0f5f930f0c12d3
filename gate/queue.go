package gate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"
)

// claimBatch is the most jobs one claim takes (never more than the idle
// workers).
const claimBatch = 16

// dispatch hands queued jobs to idle workers: it claims as many as there
// are idle workers (one token each on idle), sends them on work, and when
// the queue has no more waits for a job queued here (wake) or the poll (a
// job queued by another process, or a retry come due). It closes work when
// ctx ends.
func (g *Gate) dispatch(ctx context.Context, work chan<- *job, idle chan struct{}) {
	defer close(work)
	poll := time.NewTicker(g.cfg.Poll)
	defer poll.Stop()
	for {
		select {
		case <-idle:
		case <-ctx.Done():
			return
		}
		n := 1
	more:
		for n < claimBatch {
			select {
			case <-idle:
				n++
			default:
				break more
			}
		}
		now := g.cfg.Now()
		jobs, err := g.store.claim(ctx, g.hold(now), n, now)
		if err != nil && ctx.Err() == nil {
			g.cfg.Log.Error("claiming queued jobs", "error", err.Error())
		}
		for range n - len(jobs) {
			idle <- struct{}{}
		}
		for _, j := range jobs {
			g.mu.Lock()
			g.held[j.seq] = true
			g.mu.Unlock()
			select {
			case work <- j:
			case <-ctx.Done():
				return
			}
		}
		if len(jobs) < n {
			select {
			case <-ctx.Done():
				return
			case <-g.wake:
			case <-poll.C:
			}
		}
	}
}

// hold is this replica's claim from now on, until its lease ends.
func (g *Gate) hold(now time.Time) hold { return hold{Owner: g.owner, Until: now.Add(g.cfg.Lease)} }

// unhold forgets a job once its worker is done with it: its lease is no
// longer renewed, so one left in the queue (its verdict could not be
// saved) is claimed again when the lease ends.
func (g *Gate) unhold(j *job) {
	g.mu.Lock()
	delete(g.held, j.seq)
	g.mu.Unlock()
}

// renew extends the leases of the jobs being worked on here.
func (g *Gate) renew(ctx context.Context, now time.Time) {
	g.mu.Lock()
	seqs := make([]int64, 0, len(g.held))
	for seq := range g.held {
		seqs = append(seqs, seq)
	}
	g.mu.Unlock()
	if len(seqs) == 0 {
		return
	}
	if err := g.store.renew(ctx, g.hold(now), seqs); err != nil {
		g.cfg.Log.Error("renewing the leases of the jobs being worked on", "error", err.Error())
	}
}

// releaseAll gives up this replica's claims as it stops, for another
// replica (or the next run) to claim at once.
func (g *Gate) releaseAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.store.release(ctx, g.owner); err != nil {
		g.cfg.Log.Warn("releasing the jobs being worked on (they are claimed again when their lease ends)", "error", err.Error())
	}
}

// retry puts j back in the queue to be claimed no earlier than notBefore.
func (g *Gate) retry(ctx context.Context, j *job, notBefore time.Time) {
	if err := g.store.retry(ctx, j, g.owner, notBefore); err != nil {
		g.cfg.Log.Error("scheduling a job again (it is claimed again when its lease ends)", "id", j.ID, "error", err.Error())
	}
}

// kick tells the dispatcher a job was queued.
func (g *Gate) kick() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// replicaName names this process in its claims: host, process id and a
// random part (a restarted process with a reused id is another replica).
func replicaName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}
