package main

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/url"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/tlog"
)

// logSource is where the transparency log that signing uses was named.
type logSource struct {
	url  string // the log's URL
	flag string // "--tlog-url" or "--signing-config"; "" for $SIGNET_HOME/signing_config.json
	path string // the signing config file, when one named the log
}

// logError is a failure of the log that signing used, told with where the
// log's URL came from and the ways out.
type logError struct {
	err error
	src logSource
}

func (e *logError) Error() string { return e.err.Error() + "\n" + e.src.explain() }

// Unwrap yields the cause and, for a log that did not answer, also
// oci.ErrRegistry, which the exit-code table maps to 5 ("registry or
// network error").
func (e *logError) Unwrap() []error {
	if errors.Is(e.err, tlog.ErrUnreachable) {
		return []error{e.err, oci.ErrRegistry}
	}
	return []error{e.err}
}

// explain says where the log's URL came from and how to go on, in lines
// indented under the error.
func (s logSource) explain() string {
	var from, ways string
	switch s.flag {
	case "--tlog-url":
		from = "The log's URL came from --tlog-url."
		ways = "Check the URL, or sign without a log: --no-tlog."
	case "--signing-config":
		from = fmt.Sprintf("The log's URL came from --signing-config %s.", s.path)
		ways = "Start that log, name another (--tlog-url URL, --signing-config FILE), or sign without a log: --no-tlog."
	default:
		from = fmt.Sprintf("The log's URL came from $SIGNET_HOME/%s (%s), %s.", signingConfigFile, s.path, writtenBy(s.path, []string{s.url}))
		ways = fmt.Sprintf("Start the log again (%s), sign without a log (--no-tlog), name another (--tlog-url URL), or stop logging by default: signet config unset signing-config.", s.serveCommand())
	}
	return "  " + from + "\n  " + ways
}

// serveCommand is the `signet log serve` that listens where the log was.
func (s logSource) serveCommand() string {
	u, err := url.Parse(s.url)
	if err != nil || u.Host == "" {
		return "signet log serve"
	}
	return "signet log serve --addr " + u.Host
}

// sourcedLog is a log client whose failures say where the log was named.
type sourcedLog struct {
	sgsign.Transparency
	src logSource
}

func (l sourcedLog) GetTransparencyLogEntry(ctx context.Context, pub []byte, b *protobundle.Bundle) error {
	if err := l.Transparency.GetTransparencyLogEntry(ctx, pub, b); err != nil {
		return &logError{err, l.src}
	}
	return nil
}

// sourcedDigestLog is sourcedLog for large statements, logged by digest.
type sourcedDigestLog struct {
	sign.DigestLog
	src logSource
}

func (l sourcedDigestLog) LogDigest(ctx context.Context, digest, sig []byte, pub crypto.PublicKey) (*rekorpb.TransparencyLogEntry, error) {
	e, err := l.DigestLog.LogDigest(ctx, digest, sig, pub)
	if err != nil {
		return nil, &logError{err, l.src}
	}
	return e, nil
}
