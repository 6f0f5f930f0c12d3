package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/internal/faultproxy"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// latencies are how far away the registry is made to be: the fault proxy
// holds every request this long.
var latencies = []time.Duration{20 * time.Millisecond, 50 * time.Millisecond}

// latency measures verification through the fault proxy in front of the
// benchmark registry, holding every request 20 and 50 ms: signet verify of
// 1 and 100 images (whole process), one verification in process, the
// policy engine cold, and the admission webhook (in process, over HTTPS)
// with pods of 1 and 8 containers — one cold review at a time (its
// latency over the registry latency is the critical path in round trips)
// and 200 reviews/s, cold and warm.
func (b *bench) latency() error {
	p, stop := faultproxy.Start(b.registry)
	defer stop()
	images, err := b.push("bench/latency", 100)
	if err != nil {
		return err
	}
	pod, err := b.pushPod(8)
	if err != nil {
		return err
	}
	all := append(slices.Clone(images), pod...)
	if _, _, err := b.run(filepath.Join(b.bin, "signet"), append([]string{"sign", "--no-tlog", "--key", b.keyFile}, all...)...); err != nil {
		return err
	}
	via := func(refs []string) []string {
		out := make([]string, len(refs))
		for i, r := range refs {
			out[i] = p.Host + strings.TrimPrefix(r, b.registry)
		}
		return out
	}
	images, pod = via(images), via(pod)
	tags := make([]string, len(pod))
	for i, r := range pod {
		tags[i] = r[:strings.Index(r, "@")] + ":v1"
	}
	for _, l := range latencies {
		p.SetLatency(l)
		section := fmt.Sprintf("registry %d ms away", l.Milliseconds())
		if err := b.latencyVerify(section, l, images); err != nil {
			return err
		}
		if err := b.latencyEngine(section, l, images, tags[0]); err != nil {
			return err
		}
		for _, n := range []int{1, 8} {
			if err := b.latencyAdmission(section, l, p, tags[:n]); err != nil {
				return err
			}
		}
	}
	return nil
}

// pushPod pushes n small random images, each in its own repository and
// tagged v1 (a pod's containers), and returns their digest references.
func (b *bench) pushPod(n int) ([]string, error) {
	var out []string
	for i := range n {
		d, err := b.pushImage(fmt.Sprintf("%s/bench/pod/c%d:v1", b.registry, i))
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// latencyVerify times signet verify (whole process) of 1 and 100 images,
// and one in-process verification with a new client.
func (b *bench) latencyVerify(section string, l time.Duration, images []string) error {
	for _, n := range []int{1, 100} {
		var ms []float64
		for range b.runs {
			t, _, err := b.run(filepath.Join(b.bin, "signet"), append([]string{"verify", "--key", b.pubKey}, images[:n]...)...)
			if err != nil {
				return err
			}
			ms = append(ms, t.Seconds()*1000)
		}
		b.add(section, fmt.Sprintf("signet verify, %d image(s), whole process", n), "ms", ms, "")
	}
	pem, err := os.ReadFile(b.pubKey)
	if err != nil {
		return err
	}
	pub, err := keys.ParsePublicKey(pem)
	if err != nil {
		return err
	}
	var ms, trips []float64
	for i := range b.runs {
		v, err := verify.New(oci.New(), []verify.Key{{Name: "release.pub", PublicKey: pub}})
		if err != nil {
			return err
		}
		t0 := time.Now()
		if _, err := v.Verify(context.Background(), images[i%len(images)], verify.Request{}); err != nil {
			return err
		}
		took := time.Since(t0)
		ms, trips = append(ms, took.Seconds()*1000), append(trips, float64(took)/float64(l))
	}
	b.add(section, "verify one image by digest, in process, new client", "ms", ms, "")
	b.add(section, "verify one image by digest, in process: time over latency", "round trips", trips, "critical path measured")
	return nil
}

// engine compiles the benchmark policy for images at host.
func (b *bench) engine(host string, opts ...verify.EngineOption) (*verify.Engine, error) {
	doc := fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    signers: [{name: release, key: release.pub}]\n", host+"/bench/**")
	c, err := policy.Compile([]byte(doc), b.work, keys.Loader{})
	if err != nil {
		return nil, err
	}
	return verify.NewEngine(oci.New(), c, opts...)
}

// latencyEngine times a cold engine (new engine and client, no cache): one
// tag, and 100 distinct digests in one DecideAll (8 workers).
func (b *bench) latencyEngine(section string, l time.Duration, images []string, tag string) error {
	host := tag[:strings.Index(tag, "/")]
	for _, c := range []struct {
		label  string
		images []string
	}{{"policy engine cold, one tag", []string{tag}}, {"policy engine cold, 100 distinct digests", images}} {
		var ms []float64
		for range b.runs {
			e, err := b.engine(host)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			t0 := time.Now()
			ds := e.DecideAll(ctx, c.images)
			took := time.Since(t0)
			cancel()
			for _, d := range ds {
				if !d.Allowed {
					return fmt.Errorf("%s: %s refused: %s", c.label, d.Image, d.Reason)
				}
			}
			ms = append(ms, took.Seconds()*1000)
		}
		b.add(section, c.label, "ms", ms, "")
	}
	return nil
}

// latencyAdmission drives the webhook with a pod of len(images)
// containers: one cold review at a time (a new engine each), then 400
// reviews at 200/s (2 s, bounded to a minute), cold (no cache) and warm.
func (b *bench) latencyAdmission(section string, l time.Duration, p *faultproxy.Proxy, images []string) error {
	host := p.Host
	body := podReview(images)
	var single, trips []float64
	for range b.runs {
		e, err := b.engine(host)
		if err != nil {
			return err
		}
		srv := webhookServer(e)
		d, err := postReview(srv.Client(), srv.URL, body)
		srv.Close()
		if err != nil {
			return err
		}
		single, trips = append(single, d.Seconds()*1000), append(trips, float64(d)/float64(l))
	}
	pod := fmt.Sprintf("pod of %d container(s)", len(images))
	b.add(section, "admission, one cold review, "+pod, "ms", single, "")
	b.add(section, "admission, one cold review, "+pod+": time over latency", "round trips", trips, "critical path measured")
	for _, warm := range []bool{false, true} {
		var p50, p99, perReview, most []float64
		for range b.runs {
			var opts []verify.EngineOption
			if warm {
				opts = append(opts, verify.WithCache(1000, time.Hour, time.Minute))
			}
			e, err := b.engine(host, opts...)
			if err != nil {
				return err
			}
			srv := webhookServer(e)
			if warm {
				if _, err := postReview(srv.Client(), srv.URL, body); err != nil {
					srv.Close()
					return err
				}
			}
			p.ResetCounts()
			lat, err := steady(srv.Client(), srv.URL, body, 200, 400, time.Minute)
			srv.Close()
			if err != nil {
				return err
			}
			p50, p99 = append(p50, pct(lat, 50)), append(p99, pct(lat, 99))
			perReview, most = append(perReview, float64(p.Total())/float64(len(lat))), append(most, float64(p.MaxInFlight()))
		}
		label := map[bool]string{false: "cold (no cache)", true: "warm"}[warm]
		b.add(section, fmt.Sprintf("admission at 200 reviews/s, %s, %s: p50", label, pod), "ms", p50, "")
		b.add(section, fmt.Sprintf("admission at 200 reviews/s, %s, %s: p99", label, pod), "ms", p99, "")
		b.add(section, fmt.Sprintf("admission at 200 reviews/s, %s, %s: registry requests per review", label, pod), "requests", perReview, "identical requests in flight are shared")
		b.add(section, fmt.Sprintf("admission at 200 reviews/s, %s, %s: most requests at the registry at once", label, pod), "requests", most, "")
	}
	return nil
}

// webhookServer serves the webhook for e over HTTPS on 127.0.0.1, with
// HTTP/2 as the API server speaks it: reviews share a few connections.
func webhookServer(e *verify.Engine) *httptest.Server {
	srv := httptest.NewUnstartedServer(admission.New(e).Handler())
	srv.EnableHTTP2 = true
	srv.StartTLS()
	return srv
}

// steady posts n reviews at rate per second (open loop, at most 256 in
// flight) and returns their latencies; it gives up after limit.
func steady(client *http.Client, url string, body []byte, rate, n int, limit time.Duration) ([]time.Duration, error) {
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 256
	client.Timeout = limit
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		if time.Since(start) > limit {
			return nil, fmt.Errorf("steady load: %d of %d reviews sent in %s", i, n, limit)
		}
		if wait := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); wait > 0 {
			time.Sleep(wait)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			lat[i], errs[i] = postReview(client, url, body)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return lat, nil
}

// postReview posts one review to /validate and times it; a refusal is an
// error (every image in the benchmark is signed).
func postReview(client *http.Client, url string, body []byte) (time.Duration, error) {
	t0 := time.Now()
	resp, err := client.Post(url+"/validate", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Response struct {
			Allowed bool `json:"allowed"`
			Status  struct {
				Message string `json:"message"`
			} `json:"status"`
		} `json:"response"`
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	io.Copy(io.Discard, resp.Body)
	took := time.Since(t0)
	switch {
	case err != nil:
		return 0, fmt.Errorf("reading the review's answer (HTTP %d): %w", resp.StatusCode, err)
	case !out.Response.Allowed:
		return 0, fmt.Errorf("the webhook refused a pod of signed images: %s", out.Response.Status.Message)
	}
	return took, nil
}

// podReview is an AdmissionReview creating a pod that runs images.
func podReview(images []string) []byte {
	var cs []map[string]any
	for i, img := range images {
		cs = append(cs, map[string]any{"name": fmt.Sprintf("c%d", i), "image": img})
	}
	pod, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "bench"}, "spec": map[string]any{"containers": cs}})
	b, _ := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"request": map[string]any{"uid": "bench", "kind": map[string]string{"group": "", "version": "v1", "kind": "Pod"},
			"resource": map[string]string{"resource": "pods"}, "operation": "CREATE", "object": json.RawMessage(pod)}})
	return b
}

// pct is the p-th percentile of lat, in ms.
func pct(lat []time.Duration, p int) float64 {
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)].Seconds() * 1000
}
