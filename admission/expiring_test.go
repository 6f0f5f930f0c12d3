package admission

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/verify"
)

type allowAll struct{ calls int }

func (a *allowAll) DecideAll(_ context.Context, images []string) []*verify.Decision {
	a.calls++
	var out []*verify.Decision
	for _, img := range images {
		out = append(out, &verify.Decision{Image: img, Allowed: true})
	}
	return out
}

func (a *allowAll) Fallback(image, _ string, _, _ bool) *verify.Decision {
	return &verify.Decision{Image: image, Allowed: true}
}

func TestExpiring(t *testing.T) {
	t.Parallel()
	start := time.Now()
	now := start
	inner := &allowAll{}
	e := NewExpiring(inner, start.Add(time.Hour), "trust bundle r:prod version 3").WithClock(func() time.Time { return now })
	for _, tc := range []struct {
		name  string
		at    time.Time
		allow bool
	}{
		{"valid", start.Add(time.Minute), true},
		{"at expiry", start.Add(time.Hour), false},
		{"after", start.Add(2 * time.Hour), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now = tc.at
			d := e.DecideAll(context.Background(), []string{"img"})[0]
			fb := e.Fallback("img", "registry down", true, false)
			if d.Allowed != tc.allow || fb.Allowed != tc.allow {
				t.Fatalf("allowed %v/%v, want %v", d.Allowed, fb.Allowed, tc.allow)
			}
			if !tc.allow && (d.Class != verify.ClassTransient || !strings.Contains(d.Reason, "trust bundle r:prod version 3 expired")) {
				t.Fatalf("denial: %+v", d)
			}
		})
	}
	calls := inner.calls
	e.Extend(start.Add(3 * time.Hour))
	if d := e.DecideAll(context.Background(), []string{"img"})[0]; !d.Allowed || inner.calls != calls+1 {
		t.Fatalf("extended: %+v", d)
	}
}
