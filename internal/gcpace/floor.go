package gcpace

import (
	"os"
	"runtime"
	"runtime/debug"
)

// A short command — verify one image, print help — allocates a few
// megabytes and exits; at the default pacing the collector runs once or
// twice on the way, stopping the world and marking what is about to be
// thrown away (3–5 ms of CPU and more of wall time on this project's 2-core
// machine, a sixth of `signet verify`'s). Floor lets the heap grow to a
// given size before the first collection, then hands the pacing back.

// floor is the state Floor keeps, under mu.
var floor struct {
	active  bool
	gen     int   // which Floor: a late cleanup of an earlier one is ignored
	percent int   // the collector's percentage before Floor
	limit   int64 // the memory limit before Floor
}

// floorEnded, when set (tests), is called when the floor ends.
var floorEnded func()

// Floor holds off the garbage collector until the Go runtime's memory
// reaches bytes (the collector's percentage off, a memory limit of bytes),
// and restores the pacing there was before at the first collection, or at
// the first Tight, whichever comes first. A process whose GOGC or
// GOMEMLIMIT is set in its environment keeps what it was given: Floor does
// nothing. Call it once, as early as can be: a command imports
// internal/gcpace/startfloor, which calls it during package
// initialisation, before most of the program's allocation.
func Floor(bytes int64) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if floor.active || held > 0 {
		return
	}
	floor.active = true
	floor.gen++
	floor.percent = debug.SetGCPercent(-1)
	floor.limit = debug.SetMemoryLimit(bytes)
	// The sentinel is unreachable at once; its cleanup runs after the first
	// collection that finds it so, which is the first collection. (Not a
	// tiny allocation, which could share a block with something kept.)
	sentinel := new([64]byte)
	runtime.AddCleanup(sentinel, func(gen int) {
		mu.Lock()
		if floor.gen == gen {
			endFloorLocked()
		}
		mu.Unlock()
	}, floor.gen)
}

// endFloorLocked puts back the pacing Floor replaced. Called with mu held.
func endFloorLocked() {
	if !floor.active {
		return
	}
	floor.active = false
	debug.SetMemoryLimit(floor.limit)
	if held == 0 {
		debug.SetGCPercent(floor.percent)
	} else {
		saved = floor.percent // Tight's last release puts it back
	}
	if floorEnded != nil {
		floorEnded()
	}
}
