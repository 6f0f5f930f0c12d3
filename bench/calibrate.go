package main

// Machines of one kind (bench/baseline.json keys baselines by CPU model,
// cores, OS and Go) are not equally fast: two "AMD EPYC, 2 cores" machines
// here started a Go program in 1.5 ms and in 8 ms, a page fault costing
// 0.5 µs on one and 12 µs on the other. The quick check would call every
// start-up figure of the slower one a regression. So each quick run also
// measures the machine itself, with work that is not Signet's, and a
// figure is judged after taking out how much slower than the baseline's
// the machine measured (never credited for a faster one): start-up figures
// by crane's start-up, the others by calibrate's fixed in-process work.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

const (
	// craneStartKey is the start-up step's reference: crane's start-up CPU.
	craneStartKey = "start-up: crane version, CPU (user+sys)"
	// machineWorkKey is calibrate's figure.
	machineWorkKey = "calibration: fixed in-process work (ECDSA P-256 verifications, SHA-256, loopback HTTP requests; 2 goroutines)"
)

// referenceFor names the figure whose slowdown against the baseline
// excuses f's, "" for none: a reference figure is the machine's, a ratio
// (×) or a count of requests does not depend on the machine's speed, and a
// start-up figure is measured against crane's start-up, the rest against
// the fixed in-process work.
func referenceFor(key, unit string) string {
	switch {
	case key == craneStartKey || key == machineWorkKey:
		return ""
	case unit == "×" || unit == "requests":
		return ""
	case strings.HasPrefix(key, "start-up: "):
		return craneStartKey
	}
	return machineWorkKey
}

// isReference reports whether the figure measures the machine, not
// Signet: the check shows it and never fails on it.
func isReference(key string) bool { return key == craneStartKey || key == machineWorkKey }

// calibrate measures the fixed in-process work (machineWork) a few times.
func (b *bench) calibrate() error {
	body := strings.Repeat("x", 1024)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, body) }))
	defer srv.Close()
	url := srv.URL + "/"
	machineWork(url) // warm: the connection pool, the curve tables
	var runs []float64
	for range max(5, b.runs) {
		t0 := time.Now()
		if err := machineWork(url); err != nil {
			return err
		}
		runs = append(runs, ms(time.Since(t0)))
	}
	b.add("calibration", strings.TrimPrefix(machineWorkKey, "calibration: "), "ms", runs,
		"not Signet's code: how fast this machine is, which the quick check takes out of the other in-process figures")
	return nil
}

// machineWork is what the in-process steps spend their time on, in fixed
// amounts, on two goroutines: 200 ECDSA P-256 verifications, 200 loopback
// HTTP requests and 4 SHA-256 digests of 4 MiB each.
func machineWork(url string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	digest := sha256.Sum256([]byte("calibration"))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return err
	}
	data := make([]byte, 4<<20)
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
					errs <- fmt.Errorf("calibration: a good signature did not verify")
					return
				}
				resp, err := http.Get(url)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if i%50 == 0 {
					sha256.Sum256(data)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
