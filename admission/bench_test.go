package admission_test

import (
	"bytes"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkWebhook drives /validate over HTTPS on loopback with 8 concurrent
// clients, each review a Deployment running one signed image by tag, with
// the engine's cache warm (setup's engine) — and reports p50/p99 and req/s.
func BenchmarkWebhook(b *testing.B) { benchWebhook(b) }

// BenchmarkWebhookCold is the same with no cache: every review verifies.
func BenchmarkWebhookCold(b *testing.B) { benchWebhook(b) }

// BenchmarkWebhookSteady sends reviews at a steady 200 per second (open
// loop: a slow answer does not slow the senders, as with an API server),
// warm cache; run with -benchtime=2000x for 10 s of load.
func BenchmarkWebhookSteady(b *testing.B) { benchSteady(b, 200) }

// BenchmarkWebhookSteadyCold is the same with no cache.
func BenchmarkWebhookSteadyCold(b *testing.B) { benchSteady(b, 200) }

func benchSteady(b *testing.B, rate int) {
	e := setupTB(b, "enforce", b.Name() != "BenchmarkWebhookSteadyCold")
	body := review("Deployment", workload("Deployment", e.signed))
	client := e.srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	lat := make([]time.Duration, b.N)
	sem := make(chan struct{}, 256) // bound on requests in flight
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if wait := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); wait > 0 {
			time.Sleep(wait)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			lat[i], _ = validate(b, client, e.srv.URL, body)
		}()
	}
	wg.Wait()
	report(b, lat, time.Since(start))
}

// validate posts one review and times it.
func validate(b *testing.B, client *http.Client, url string, body []byte) (time.Duration, bool) {
	t0 := time.Now()
	resp, err := client.Post(url+"/validate", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Error(err)
		return 0, false
	}
	io.Copy(io.Discard, resp.Body) // drained, so the connection is reused as the API server's is
	resp.Body.Close()
	return time.Since(t0), true
}

func report(b *testing.B, lat []time.Duration, elapsed time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	}
}

func benchWebhook(b *testing.B) {
	e := setupB(b)
	body := review("Deployment", workload("Deployment", e.signed))
	client := e.srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 16 // keep 8 clients' connections alive
	var mu sync.Mutex
	var lat []time.Duration
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				d, ok := validate(b, client, e.srv.URL, body)
				if !ok {
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	report(b, lat, time.Since(start))
}
