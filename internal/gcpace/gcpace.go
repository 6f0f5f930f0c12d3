// Package gcpace keeps the garbage collector close to the live heap while a
// large document is read. Streaming over a 100 MB statement that is already
// in memory makes short-lived garbage; at the default pacing the collector
// lets the heap grow by the live heap's size (the statement) before it
// runs, so the process peaks at about twice what it holds.
package gcpace

import (
	"runtime/debug"
	"sync"
)

var (
	mu    sync.Mutex
	held  int
	saved int
)

// Tight sets the collector's target percentage (GOGC) to percent, if that
// is lower than the current one, until every caller of Tight has called
// its release: concurrent callers (an admission webhook verifying two
// large attestations at once) share one setting and the first one's saved
// value is put back by the last release.
func Tight(percent int) (release func()) {
	mu.Lock()
	if held == 0 {
		// A large document ends the start-up floor: the pacing before it is
		// what Tight tightens, and what its last release puts back.
		endFloorLocked()
		saved = debug.SetGCPercent(percent)
		if saved >= 0 && saved < percent {
			debug.SetGCPercent(saved) // already tighter (or off): leave it
		}
	}
	held++
	mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			if held--; held == 0 {
				debug.SetGCPercent(saved)
			}
			mu.Unlock()
		})
	}
}
