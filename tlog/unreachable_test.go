package tlog_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/signet-dev/signet/tlog"
)

// deadURL is the URL of a port nothing listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	return url
}

// TestUnreachableLogIsErrUnreachable: a log that does not answer is told
// apart (ErrUnreachable, with the log's URL) from one that answers and
// refuses, for every way Signet talks to a log.
func TestUnreachableLogIsErrUnreachable(t *testing.T) {
	t.Parallel()
	dead := deadURL(t)
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusBadRequest)
	}))
	defer refusing.Close()
	untrusted := httptest.NewUnstartedServer(http.NotFoundHandler())
	untrusted.Config.ErrorLog = log.New(io.Discard, "", 0)
	untrusted.StartTLS()
	defer untrusted.Close()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		url         string
		version     uint32
		ctx         context.Context
		unreachable bool
	}{
		{"rekor v2, nothing listening", dead, 2, ctx, true},
		{"rekor v1, nothing listening", dead, 1, ctx, true},
		{"rekor v2, answers 400", refusing.URL, 2, ctx, false},
		{"rekor v2, certificate not trusted", untrusted.URL, 2, ctx, false},
		{"rekor v2, signing cancelled", dead, 2, cancelled, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := tlog.Service{URL: tc.url, APIVersion: tc.version}.Writer(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_, err = sgsign.Bundle(&sgsign.DSSEData{Data: []byte("{}"), PayloadType: "application/vnd.in-toto+json"}, kp,
				sgsign.BundleOptions{Context: tc.ctx, TransparencyLogs: []sgsign.Transparency{w}})
			if err == nil {
				t.Fatal("logged to a log that is not there")
			}
			if got := errors.Is(err, tlog.ErrUnreachable); got != tc.unreachable {
				t.Fatalf("errors.Is(%v, ErrUnreachable) = %v, want %v", err, got, tc.unreachable)
			}
		})
	}
	digest := sha256.Sum256([]byte("x"))
	signingKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (tlog.Service{URL: dead, APIVersion: 2}).LogDigest(ctx, digest[:], []byte("sig"), signingKey.Public()); !errors.Is(err, tlog.ErrUnreachable) {
		t.Errorf("LogDigest to %s: %v, want ErrUnreachable", dead, err)
	}
	if _, err := tlog.DetectAPIVersion(ctx, http.DefaultClient, dead); !errors.Is(err, tlog.ErrUnreachable) {
		t.Errorf("DetectAPIVersion of %s: %v, want ErrUnreachable", dead, err)
	}
}
