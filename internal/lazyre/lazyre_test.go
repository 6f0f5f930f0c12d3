package lazyre

import "testing"

func TestCompiledOnFirstUse(t *testing.T) {
	r := New(`^sha256-([0-9a-f]{4})$`)
	if r.re != nil {
		t.Fatal("compiled before first use")
	}
	if !r.MatchString("sha256-abcd") || r.MatchString("sha256-abc") {
		t.Fatalf("MatchString disagrees with %s", r)
	}
	if got := r.FindStringSubmatch("sha256-0a1b"); len(got) != 2 || got[1] != "0a1b" {
		t.Fatalf("FindStringSubmatch = %q, want the digest part", got)
	}
	if got := New(`[^a-z]+`).ReplaceAllString("a.B-c", "_"); got != "a_c" {
		t.Fatalf("ReplaceAllString = %q, want a_c", got)
	}
	if r.Compiled() != r.Compiled() {
		t.Fatal("compiled twice")
	}
}

func TestInvalidPanicsOnFirstUse(t *testing.T) {
	r := New(`(`)
	defer func() {
		if recover() == nil {
			t.Fatal("an invalid expression matched instead of panicking")
		}
	}()
	r.MatchString("x")
}
