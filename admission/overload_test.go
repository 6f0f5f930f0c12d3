package admission_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// TestOverload drives the webhook at ten times what it can verify at once
// (4 slots, a registry that stalls every verification to the 1s budget):
// every review is answered within its budget — the excess shed at once by
// the failure mode with a clear denial — and once the load and the stall
// stop, reviews verify again. Bounded: 40 concurrent reviews, 3 rounds.
func TestOverload(t *testing.T) {
	reg := newStallable(t)
	priv, _ := keys.Generate(keys.ECDSAP256)
	pub, _ := keys.PublicKeyPEM(priv.Public())
	sv, _ := keys.SignerVerifier(priv)
	s, _ := sign.New(sv, oci.New())
	d := reg.PushImage(t, "team/app:v1")
	if _, err := s.SignImage(context.Background(), d.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	doc := fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    signers: [{name: release, publicKey: %q}]\n", reg.Host+"/**", string(pub))
	c, _ := policy.Compile([]byte(doc), ".", keys.Loader{})
	eng, _ := verify.NewEngine(oci.New(), c)
	m := admission.NewMetrics(nil)
	const budget, slots, load = time.Second, 4, 40
	srv := httptest.NewTLSServer(admission.New(eng, admission.WithBudget(budget), admission.WithMaxInFlight(slots), admission.WithMetrics(m)).Handler())
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = load
	body := review("Pod", workload("Pod", d.String()))
	post := func() (time.Duration, *admissionv1.AdmissionResponse) {
		t0 := time.Now()
		resp, err := client.Post(srv.URL+"/validate", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Error(err)
			return 0, nil
		}
		defer resp.Body.Close()
		var out admissionv1.AdmissionReview
		json.NewDecoder(resp.Body).Decode(&out)
		io.Copy(io.Discard, resp.Body)
		return time.Since(t0), out.Response
	}
	goroutines := runtime.NumGoroutine()
	reg.stall.Store(true)
	var lat []time.Duration
	shed, timedOut := 0, 0
	var mu sync.Mutex
	for range 3 {
		var wg sync.WaitGroup
		for range load {
			wg.Add(1)
			go func() {
				defer wg.Done()
				took, resp := post()
				if resp == nil {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				lat = append(lat, took)
				switch {
				case resp.Allowed:
					t.Errorf("allowed while nothing could be verified")
				case strings.Contains(resp.Result.Message, "overloaded"):
					shed++
				case strings.Contains(resp.Result.Message, "did not finish within"):
					timedOut++
				default:
					t.Errorf("unexpected answer: %s", resp.Result.Message)
				}
			}()
		}
		wg.Wait()
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p99 := lat[len(lat)*99/100]
	t.Logf("overload: %d reviews at %dx the %d verification slots: %d shed at once, %d denied at the budget; p50 %s, p99 %s, max %s",
		len(lat), load/slots, slots, shed, timedOut, lat[len(lat)/2].Round(time.Millisecond), p99.Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	if lat[len(lat)-1] > budget+time.Second {
		t.Fatalf("a review took %s with a %s budget", lat[len(lat)-1], budget)
	}
	if shed < load*3/2 || timedOut == 0 {
		t.Fatalf("shed %d, timed out %d", shed, timedOut)
	}
	// Recovery: the stall and the load stop; reviews verify again.
	reg.stall.Store(false)
	if _, resp := post(); resp == nil || !resp.Allowed {
		t.Fatalf("after the overload: %+v", resp)
	}
	// Bounded: no goroutines left behind by the shed or timed-out reviews
	// (idle keep-alive connections aside).
	client.CloseIdleConnections()
	remote.DefaultTransport.(*http.Transport).CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines+20 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines+20 {
		t.Fatalf("%d goroutines after the overload, %d before", n, goroutines)
	}
}
