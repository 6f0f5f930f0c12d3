package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/signet-dev/signet/internal/faultproxy"
)

// rateLimitRuns bounds the rate-limit step: each run waits out Retry-After
// on most of its requests (seconds each).
const rateLimitRuns = 9

// rateLimit runs `signet verify` of one image through a registry that lets
// one request in three through and answers the others 429 and 503 in turn,
// each with Retry-After: 1 (a busy registry pacing its clients): how many
// runs of rateLimitRuns verified, and how long a run took. Signet retries a
// rate limit for as long as its --timeout allows (default 5 minutes).
func (b *bench) rateLimit() error {
	const section = "rate-limited registry"
	images, err := b.push("bench/ratelimit", rateLimitRuns)
	if err != nil {
		return err
	}
	if _, _, err := b.run(filepath.Join(b.bin, "signet"), append([]string{"sign", "--no-tlog", "--key", b.keyFile}, images...)...); err != nil {
		return err
	}
	p, stop := faultproxy.Start(b.registry, faultproxy.Rule{Kind: faultproxy.Throttle, Every: 3, RetryAfter: "1"})
	defer stop()
	var ok, ms []float64
	failures := 0
	var lastErr string
	for _, img := range images {
		t, _, err := b.run(filepath.Join(b.bin, "signet"), "verify", "--key", b.pubKey, p.Host+strings.TrimPrefix(img, b.registry))
		if err != nil {
			failures++
			lastErr = firstLine(err.Error())
			continue
		}
		ms = append(ms, t.Seconds()*1000)
	}
	ok = append(ok, float64(rateLimitRuns-failures)*100/rateLimitRuns)
	note := fmt.Sprintf("%d runs, one image each, a new image per run", rateLimitRuns)
	if failures > 0 {
		note += "; last failure: " + lastErr
	}
	b.add(section, "signet verify through a registry letting one request in three through: runs that verified", "%", ok, note).Better = higherIsBetter
	if len(ms) > 0 {
		b.add(section, "signet verify through that registry: wall time of a run that verified", "ms", ms, "Retry-After: 1 on two requests in three")
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
