package verify

import (
	"errors"
	"testing"
	"time"

	"github.com/signet-dev/signet/policy"
)

// TestKeyTimeBoundaries: a window is [validFrom, validUntil), and a
// revocation holds from revokedFrom itself: a signature placed exactly at
// validUntil or revokedFrom does not count, one exactly at validFrom does.
func TestKeyTimeBoundaries(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	until := from.Add(24 * time.Hour)
	k := trustedKey{name: "k", from: from, until: until}
	at := func(tm time.Time) trustedTime { return trustedTime{at: tm, by: byLog} }
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"at validFrom", inWindow(k, at(from), true), nil},
		{"just before validFrom", inWindow(k, at(from.Add(-time.Nanosecond)), true), ErrKeyWindow},
		{"just before validUntil", inWindow(k, at(until.Add(-time.Nanosecond)), true), nil},
		{"at validUntil", inWindow(k, at(until), true), ErrKeyWindow},
		{"no trusted time", inWindow(k, trustedTime{}, false), ErrKeyWindow},
		{"just before revokedFrom", revokedAt("k", policy.Revocation{From: until}, at(until.Add(-time.Nanosecond)), true), nil},
		{"at revokedFrom", revokedAt("k", policy.Revocation{From: until}, at(until), true), ErrKeyRevoked},
		{"revoked, no trusted time", revokedAt("k", policy.Revocation{From: until}, trustedTime{}, false), ErrKeyRevoked},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if (tc.want == nil) != (tc.err == nil) || (tc.want != nil && !errors.Is(tc.err, tc.want)) {
				t.Fatalf("got %v, want %v", tc.err, tc.want)
			}
		})
	}
}
