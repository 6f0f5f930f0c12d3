package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	pb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signet-dev/signet/internal/dbtest"
)

// TestLogServeMySQLFrontEnds runs two `log serve` front-ends with one key
// and one public URL (as behind a load balancer) on one MariaDB database, the password only in $SIGNET_LOG_STORAGE: entries
// posted to either land in one tree served by both, and no output shows
// the password.
func TestLogServeMySQLFrontEnds(t *testing.T) {
	srv := dbtest.MariaDB(t)
	srv.NewDatabase(t, "tlog")
	srv.Exec(t, "", "CREATE USER 'tlog'@'127.0.0.1' IDENTIFIED BY 's3cret-pw'; GRANT ALL PRIVILEGES ON tlog.* TO 'tlog'@'127.0.0.1';")
	t.Setenv("SIGNET_HOME", t.TempDir())
	t.Setenv("SIGNET_LOG_STORAGE", fmt.Sprintf("mysql://tlog:s3cret-pw@127.0.0.1:%d/tlog", srv.Port))
	keyDir := t.TempDir()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var outs [2]*syncBuffer
	var urls [2]string
	codes := make([]int, 2)
	addrs := [2]string{freeAddr(t), freeAddr(t)}
	for i, addr := range addrs {
		urls[i] = "http://" + addr
		outs[i] = &syncBuffer{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = run(ctx, []string{"log", "serve", "--dir", keyDir, "--addr", addr, "--url", "http://" + addrs[0]}, strings.NewReader(""), outs[i], outs[i])
		}()
		waitHealthy(t, urls[i], outs[i])
	}
	defer func() { cancel(); wg.Wait() }()

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	seen := map[int64]bool{}
	var bodies [][]byte
	for i := range 6 {
		bodies = append(bodies, entryRequest(t, key, fmt.Sprintf("front-end entry %d", i)))
		idx := postEntry(t, urls[i%2], bodies[i])
		if seen[idx] {
			t.Fatalf("index %d given twice", idx)
		}
		seen[idx] = true
	}
	// Entry 0 went to the first front-end five checkpoints (5s) ago: the
	// shared de-duplication index (following every 50ms) has it.
	if again := postEntry(t, urls[1], bodies[0]); again != 0 {
		t.Fatalf("entry 0 resubmitted through the other front-end got index %d, want 0", again)
	}
	for _, u := range urls {
		cp := get(t, u+"/checkpoint")
		if lines := strings.Split(cp, "\n"); len(lines) < 2 || lines[1] != "6" {
			t.Fatalf("%s/checkpoint: %q, want a tree of 6", u, cp)
		}
	}
	// log info has no checkpoint file in --dir: it asks the running log.
	info, stderr, code := signet(t, "log", "info", "--dir", keyDir, "-o", "json")
	if code != exitOK || !strings.Contains(info, `"size": 6`) {
		t.Fatalf("log info: %d %s %s", code, info, stderr)
	}
	cancel()
	wg.Wait()
	for i, out := range outs {
		if codes[i] != exitOK {
			t.Errorf("front-end %d exited %d:\n%s", i, codes[i], out)
		}
		if !strings.Contains(out.String(), fmt.Sprintf("tree in mysql tlog@127.0.0.1:%d/tlog", srv.Port)) {
			t.Errorf("front-end %d does not say where the tree is:\n%s", i, out)
		}
		if strings.Contains(out.String(), "s3cret-pw") {
			t.Errorf("front-end %d shows the password:\n%s", i, out)
		}
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHealthy waits up to 20s for url/healthz; out is what the server said.
func waitHealthy(t *testing.T, url string, out fmt.Stringer) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("%s did not become healthy:\n%s", url, out)
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// entryRequest is a hashedrekord v0.0.2 request for message, as JSON.
func entryRequest(t *testing.T, key *ecdsa.PrivateKey, message string) []byte {
	t.Helper()
	digest := sha256.Sum256([]byte(message))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(key.Public())
	body, _ := protojson.Marshal(&pb.CreateEntryRequest{Spec: &pb.CreateEntryRequest_HashedRekordRequestV002{HashedRekordRequestV002: &pb.HashedRekordRequestV002{
		Digest: digest[:],
		Signature: &pb.Signature{Content: sig, Verifier: &pb.Verifier{
			Verifier:   &pb.Verifier_PublicKey{PublicKey: &pb.PublicKey{RawBytes: der}},
			KeyDetails: protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
		}},
	}}})
	return body
}

// postEntry posts an entry request to the write API and returns the index logged.
func postEntry(t *testing.T, url string, body []byte) int64 {
	t.Helper()
	resp, err := http.Post(url+"/api/v2/log/entries", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST to %s: %d %s", url, resp.StatusCode, out)
	}
	var tle rekorpb.TransparencyLogEntry
	if err := protojson.Unmarshal(out, &tle); err != nil {
		t.Fatal(err)
	}
	return tle.LogIndex
}
