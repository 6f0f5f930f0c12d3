package gcpace

import (
	"runtime/debug"
	"testing"
)

func TestTightNestsAndRestores(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)

	a := Tight(25)
	b := Tight(25)
	if got := debug.SetGCPercent(25); got != 25 {
		t.Fatalf("while held: GOGC %d, want 25", got)
	}
	a()
	a() // a second release of the same hold does nothing
	if got := debug.SetGCPercent(25); got != 25 {
		t.Fatalf("one of two released: GOGC %d, want 25", got)
	}
	b()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("all released: GOGC %d, want the saved 100", got)
	}

	debug.SetGCPercent(10)
	c := Tight(25)
	if got := debug.SetGCPercent(10); got != 10 {
		t.Fatalf("already tighter: GOGC %d, want 10 kept", got)
	}
	c()
	if got := debug.SetGCPercent(100); got != 10 {
		t.Fatalf("released: GOGC %d, want 10 back", got)
	}
}
