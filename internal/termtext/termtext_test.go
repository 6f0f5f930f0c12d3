package termtext

import "testing"

func TestClean(t *testing.T) {
	type inner struct {
		S []string
		M map[string]string
	}
	v := struct {
		A string
		P *inner
		b string
	}{A: "ok\x1b[31m", P: &inner{S: []string{"\x9b1m", "plain", "\u009b2m", "ünïcödé ✔"}, M: map[string]string{"k": "a\u202eb\nc"}}, b: "\x1b"}
	Clean(&v)
	if v.A != `ok\x1b[31m` || v.P.S[0] != `\x9b1m` || v.P.S[1] != "plain" || v.P.S[2] != `\u009b2m` || v.P.S[3] != "ünïcödé ✔" || v.P.M["k"] != `a\u202eb\nc` || v.b != "\x1b" {
		t.Fatalf("%q %q %q", v.A, v.P.S, v.P.M)
	}
}
