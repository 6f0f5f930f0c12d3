package tlog

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// Authorities are the certificate and timestamp authorities of a trusted root.
type Authorities struct {
	CAs  []root.CertificateAuthority
	TSAs []root.TimestampingAuthority
}

// ParseAuthoritySpec parses a --fulcio or --tsa value:
//
//	url=URL,certificate-chain=FILE[,start-time=RFC3339]
//
// The chain is PEM, leaf (TSA only) first and the root last.
func ParseAuthoritySpec(spec string) (url string, chain []*x509.Certificate, start time.Time, err error) {
	var path string
	for _, part := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return "", nil, time.Time{}, fmt.Errorf("%q: %q is not key=value", spec, part)
		}
		switch k {
		case "url":
			url = v
		case "certificate-chain":
			path = v
		case "start-time":
			if start, err = time.Parse(time.RFC3339, v); err != nil {
				return "", nil, time.Time{}, fmt.Errorf("%q: start-time: %w", spec, err)
			}
		default:
			return "", nil, time.Time{}, fmt.Errorf("%q: unknown key %q (want url, certificate-chain, start-time)", spec, k)
		}
	}
	if url == "" || path == "" {
		return "", nil, time.Time{}, fmt.Errorf("%q: url= and certificate-chain= are required", spec)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, time.Time{}, err
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return "", nil, time.Time{}, fmt.Errorf("%s: %w", path, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return "", nil, time.Time{}, fmt.Errorf("%s: no PEM certificates", path)
	}
	if start.IsZero() {
		start = chain[len(chain)-1].NotBefore
	}
	return url, chain, start, nil
}

// AddCA adds a Fulcio-style CA from a chain (intermediates..., root).
func (a *Authorities) AddCA(url string, chain []*x509.Certificate, start time.Time) {
	a.CAs = append(a.CAs, &root.FulcioCertificateAuthority{Root: chain[len(chain)-1], Intermediates: chain[:len(chain)-1], ValidityPeriodStart: start, URI: url})
}

// AddTSA adds a timestamp authority from a chain (leaf, intermediates..., root).
func (a *Authorities) AddTSA(url string, chain []*x509.Certificate, start time.Time) error {
	if len(chain) < 2 {
		return fmt.Errorf("TSA %s: the chain needs the signing certificate and the root", url)
	}
	a.TSAs = append(a.TSAs, &root.SigstoreTimestampingAuthority{Leaf: chain[0], Intermediates: chain[1 : len(chain)-1], Root: chain[len(chain)-1], ValidityPeriodStart: start, URI: url})
	return nil
}
