package attest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
)

// streamable reports whether a predicate of this kind can be checked and
// attached while streaming, without holding it in memory.
func streamable(kind string) bool { return kind == "cyclonedx" || kind == "uri" }

// checkFile checks a large predicate file while streaming it.
func checkFile(kind, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	if kind == "cyclonedx" {
		return CheckCycloneDX(r)
	}
	dec := json.NewDecoder(r)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return invalid(kind, "the predicate must be a JSON object")
	}
	for dec.More() {
		if _, err := dec.Token(); err != nil {
			return invalid(kind, "not JSON: %v", err)
		}
		if err := skipValue(dec); err != nil {
			return invalid(kind, "not JSON: %v", err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return invalid(kind, "not JSON: %v", err)
	}
	return nil
}

// attestLarge signs a statement whose predicate is the file at path, kept
// verbatim and streamed: the statement's JSON is prefix + file + suffix.
func (a *Attester) attestLarge(ctx context.Context, t *oci.Target, predicateType, path string, size int64) (*Attested, error) {
	st, err := NewStatement(t.Name(), t.Digest.DigestStr(), predicateType, json.RawMessage("null"))
	if err != nil {
		return nil, err
	}
	head, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	prefix, ok := bytes.CutSuffix(head, []byte("null}"))
	if !ok {
		return nil, fmt.Errorf("building statement: unexpected encoding")
	}
	suffix := []byte("}")
	payload := sign.LargePayload{
		Size: int64(len(prefix)) + size + int64(len(suffix)),
		Open: func() (io.ReadCloser, error) {
			f, err := os.Open(path)
			if err != nil {
				return nil, err
			}
			return struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(prefix), f, bytes.NewReader(suffix)), f}, nil
		},
	}
	tmp, err := os.CreateTemp("", "signet-bundle-*.json")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	bw := bufio.NewWriterSize(tmp, 1<<16)
	entries, err := a.signer.SignLargeStatement(ctx, payload, bw)
	if err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	att, err := a.client.AttachBundleFile(ctx, t, tmp.Name(), sign.BundleAnnotations(predicateType, a.now()))
	if err != nil {
		return nil, err
	}
	return &Attested{Digest: t.Digest.DigestStr(), Platform: t.Platform, PredicateType: predicateType, Attached: *att, Log: entries}, nil
}
