package admission_test

import (
	"bytes"
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
				t0 := time.Now()
				resp, err := client.Post(e.srv.URL+"/validate", "application/json", bytes.NewReader(body))
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Error(err)
					return
				}
				resp.Body.Close()
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	}
}
