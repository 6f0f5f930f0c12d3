package gcpace

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// pacing returns the collector's percentage and memory limit.
func pacing() (int, int64) {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p, debug.SetMemoryLimit(-1)
}

// withPacing sets a known pacing for a test and puts the old one back.
func withPacing(t *testing.T) {
	t.Helper()
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	oldP := debug.SetGCPercent(100)
	oldL := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		mu.Lock()
		floor.active, floorEnded = false, nil
		mu.Unlock()
		debug.SetGCPercent(oldP)
		debug.SetMemoryLimit(oldL)
	})
}

func TestFloorEndsAtFirstCollection(t *testing.T) {
	withPacing(t)
	ended := make(chan struct{})
	floorEnded = func() { close(ended) }
	Floor(32 << 20)
	if p, l := pacing(); p != -1 || l != 32<<20 {
		t.Fatalf("during the floor: GOGC %d, limit %d; want off and 32 MiB", p, l)
	}
	runtime.GC()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the floor did not end at the first collection")
	}
	if p, l := pacing(); p != 100 || l != math.MaxInt64 {
		t.Errorf("after the floor: GOGC %d, limit %d; want 100 and no limit", p, l)
	}
}

func TestTightEndsFloor(t *testing.T) {
	withPacing(t)
	Floor(32 << 20)
	release := Tight(25)
	if p, l := pacing(); p != 25 || l != math.MaxInt64 {
		t.Fatalf("Tight during the floor: GOGC %d, limit %d; want 25 and no limit", p, l)
	}
	release()
	if p, _ := pacing(); p != 100 {
		t.Errorf("after Tight's release: GOGC %d, want the 100 from before the floor", p)
	}
	runtime.GC() // the floor's late cleanup changes nothing
	time.Sleep(50 * time.Millisecond)
	if p, l := pacing(); p != 100 || l != math.MaxInt64 {
		t.Errorf("after a collection: GOGC %d, limit %d; want 100 and no limit", p, l)
	}
}

func TestFloorKeepsWhatTheEnvironmentSet(t *testing.T) {
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			withPacing(t)
			t.Setenv(env, "200")
			Floor(32 << 20)
			if p, l := pacing(); p != 100 || l != math.MaxInt64 {
				t.Errorf("with %s set: GOGC %d, limit %d; want both untouched", env, p, l)
			}
		})
	}
}

func TestFloorOnce(t *testing.T) {
	withPacing(t)
	Floor(32 << 20)
	Floor(64 << 20)
	if _, l := pacing(); l != 32<<20 {
		t.Errorf("a second Floor: limit %d, want the first's 32 MiB", l)
	}
}
