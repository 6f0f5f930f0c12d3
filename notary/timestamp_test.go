package notary

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/notaryproject/notation-core-go/revocation"
	"github.com/notaryproject/notation-core-go/revocation/result"
)

// The timestamped envelopes are notation-go's own test fixtures (signed in
// 2024 and countersigned by GlobalSign's TSA), read from the module cache:
// building an RFC 3161 responder in the test would cost more than it shows.

// knownGood is a revocation validator that finds every certificate good,
// so the tests need no network (the TSA certificates name OCSP servers).
type knownGood struct{ calls *int }

func (k knownGood) ValidateContext(_ context.Context, o revocation.ValidateContextOptions) ([]*result.CertRevocationResult, error) {
	*k.calls++
	var rs []*result.CertRevocationResult
	for range o.CertChain {
		rs = append(rs, &result.CertRevocationResult{Result: result.ResultOK})
	}
	return rs, nil
}

// revoked finds every certificate revoked.
type revoked struct{}

func (revoked) ValidateContext(_ context.Context, o revocation.ValidateContextOptions) ([]*result.CertRevocationResult, error) {
	var rs []*result.CertRevocationResult
	for range o.CertChain {
		rs = append(rs, &result.CertRevocationResult{Result: result.ResultRevoked})
	}
	return rs, nil
}

func notationTestdata(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/notaryproject/notation-go").Output()
	dir := filepath.Join(strings.TrimSpace(string(out)), "verifier", "testdata")
	if _, statErr := os.Stat(dir); err != nil || statErr != nil {
		t.Skipf("notation-go's test data is not in the module cache: %v %v", err, statErr)
	}
	return dir
}

func loadCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	c, err := x509.ParseCertificate(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTimestamp(t *testing.T) {
	dir := notationTestdata(t)
	tsaRoot := []*x509.Certificate{loadCert(t, filepath.Join(dir, "truststore/x509/tsa/test-timestamp/globalsignRoot.cer"))}
	untrustedTSA := []*x509.Certificate{loadCert(t, filepath.Join(dir, "truststore/x509/tsa/test-mismatch/DigiCertTSARootSHA384.cer"))}
	tests := []struct {
		name, file  string
		tsa         []*x509.Certificate
		mode        string
		want        string // refusal; empty: accepted
		wantTrusted bool   // Outcome.Timestamp set
		revokedTSA  bool   // the TSA's certificate is revoked
	}{
		{"expired chain, trusted TSA", "jwsExpiredWithTimestamp.sig", tsaRoot, "", "", true, false},
		{"expired chain, untrusted TSA", "jwsExpiredWithTimestamp.sig", untrustedTSA, "", "timestamp: the RFC 3161 timestamp does not verify against the principal's TSA roots", false, false},
		{"expired chain, no TSA", "jwsExpiredWithTimestamp.sig", nil, "", "certificate validity: verification time is after certificate", false, false},
		{"valid chain, trusted TSA", "jwsWithTimestamp.sig", tsaRoot, "", "", true, false},
		{"cose, trusted TSA", "coseWithTimestamp.sig", tsaRoot, "", "", true, false},
		{"valid chain, untrusted TSA", "jwsWithTimestamp.sig", untrustedTSA, "", "timestamp: the RFC 3161 timestamp does not verify", false, false},
		{"afterCertExpiry, trusted TSA", "jwsWithTimestamp.sig", tsaRoot, "afterCertExpiry", "", true, false},
		{"afterCertExpiry, untrusted TSA", "jwsWithTimestamp.sig", untrustedTSA, "afterCertExpiry", "", false, false},
		{"afterCertExpiry, revoked TSA", "jwsWithTimestamp.sig", tsaRoot, "afterCertExpiry", "", false, true},
		{"always, revoked TSA", "jwsWithTimestamp.sig", tsaRoot, "", "timestamp: timestamping certificate with subject", false, true},
		{"no timestamp, TSA required", "withoutTimestamp.sig", tsaRoot, "", "timestamp: the principal requires an RFC 3161 timestamp (verifyTimestamp always) and the signature has none", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := os.ReadFile(filepath.Join(dir, "timestamp", "sigEnv", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			mt := MediaTypeJWS
			if strings.HasPrefix(tt.file, "cose") {
				mt = MediaTypeCOSE
			}
			content, err := parse(env, mt, false)
			if err != nil {
				t.Fatal(err)
			}
			info, _ := describeContent(content, mt)
			chain := content.SignerInfo.CertificateChain
			calls := 0
			v, err := newVerifier([]Principal{{Name: "p", Certificates: chain[len(chain)-1:], TSA: tt.tsa, VerifyTimestamp: tt.mode}},
				func() (revocation.Validator, revocation.Validator, error) {
					if tt.revokedTSA {
						return knownGood{&calls}, revoked{}, nil
					}
					return knownGood{&calls}, knownGood{&calls}, nil
				})
			if err != nil {
				t.Fatal(err)
			}
			out, err := v.Verify(context.Background(), info.Target, "", env, mt)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), "\np: "+tt.want) {
					t.Fatalf("got %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := !out.Timestamp.IsZero(); got != tt.wantTrusted {
				t.Fatalf("timestamp %v, want trusted %v", out.Timestamp, tt.wantTrusted)
			}
			if tt.wantTrusted && (out.Timestamp.Before(info.SigningTime.Add(-time.Minute)) || out.Timestamp.After(info.SigningTime.Add(time.Hour))) {
				t.Errorf("timestamp %v far from signing time %v", out.Timestamp, info.SigningTime)
			}
		})
	}
}

// unknown finds every certificate's revocation status unknown (no answer).
type unknown struct{ calls *int }

func (u unknown) ValidateContext(_ context.Context, o revocation.ValidateContextOptions) ([]*result.CertRevocationResult, error) {
	*u.calls++
	var rs []*result.CertRevocationResult
	for range o.CertChain {
		rs = append(rs, &result.CertRevocationResult{Result: result.ResultUnknown})
	}
	return rs, nil
}

// TestRevocation: under enforce a chain whose status cannot be learned is
// refused; log accepts it; skip does not ask.
func TestRevocation(t *testing.T) {
	p := newPKI(t, "Acme CA", "Security")
	sig, mt, err := Sign(context.Background(), p.key, p.chain, target, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		mode      string
		want      string
		wantCalls bool
	}{
		{"", "revocation:", true},
		{"enforce", "revocation:", true},
		{"log", "", true},
		{"skip", "", false},
	} {
		t.Run(firstNonEmpty(tt.mode, "default"), func(t *testing.T) {
			calls := 0
			v, err := newVerifier([]Principal{{Name: "p", Certificates: []*x509.Certificate{p.ca}, Revocation: tt.mode}},
				func() (revocation.Validator, revocation.Validator, error) {
					return unknown{&calls}, unknown{&calls}, nil
				})
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(context.Background(), target, "", sig, mt)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), "\np: "+tt.want)):
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if (calls > 0) != tt.wantCalls {
				t.Errorf("revocation asked %d times", calls)
			}
		})
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestTimestampTrustedByEveryPrincipal: attack — a signature two
// principals accept, countersigned by a TSA only one of them trusts, must
// not carry that TSA's time as trusted: it may count for the other
// principal, and a recall check would then rest on a time that principal
// never trusted (say, to place a revoked key's signature before its
// revocation).
func TestTimestampTrustedByEveryPrincipal(t *testing.T) {
	dir := notationTestdata(t)
	tsaRoot := []*x509.Certificate{loadCert(t, filepath.Join(dir, "truststore/x509/tsa/test-timestamp/globalsignRoot.cer"))}
	untrustedTSA := []*x509.Certificate{loadCert(t, filepath.Join(dir, "truststore/x509/tsa/test-mismatch/DigiCertTSARootSHA384.cer"))}
	env, err := os.ReadFile(filepath.Join(dir, "timestamp", "sigEnv", "jwsWithTimestamp.sig"))
	if err != nil {
		t.Fatal(err)
	}
	content, err := parse(env, MediaTypeJWS, false)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := describeContent(content, MediaTypeJWS)
	root := content.SignerInfo.CertificateChain[len(content.SignerInfo.CertificateChain)-1:]
	trusting := Principal{Name: "trusting", Certificates: root, TSA: tsaRoot}
	other := Principal{Name: "other", Certificates: root, TSA: untrustedTSA, VerifyTimestamp: "afterCertExpiry"}
	noTSA := Principal{Name: "no-tsa", Certificates: root, VerifyTimestamp: "afterCertExpiry"}
	for _, tt := range []struct {
		name        string
		ps          []Principal
		wantTrusted bool
	}{
		{"one principal trusting the TSA", []Principal{trusting}, true},
		{"two principals trusting it", []Principal{trusting, {Name: "again", Certificates: root, TSA: tsaRoot}}, true},
		{"trusting, then another TSA", []Principal{trusting, other}, false},
		{"another TSA, then trusting", []Principal{other, trusting}, false},
		{"trusting, then no TSA", []Principal{trusting, noTSA}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			v, err := newVerifier(tt.ps, func() (revocation.Validator, revocation.Validator, error) {
				return knownGood{&calls}, knownGood{&calls}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			out, err := v.Verify(context.Background(), info.Target, "", env, MediaTypeJWS)
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Principals) != len(tt.ps) {
				t.Fatalf("verified for %v, want all of %d", out.Principals, len(tt.ps))
			}
			if got := !out.Timestamp.IsZero(); got != tt.wantTrusted {
				t.Fatalf("timestamp %v, want trusted %v", out.Timestamp, tt.wantTrusted)
			}
		})
	}
}

// TestExpires: a verification holds until the envelope expires and, with
// no trusted timestamp, until the first certificate of the chain expires.
func TestExpires(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2030, 1, 1, h, 0, 0, 0, time.UTC) }
	chain := []*x509.Certificate{{NotAfter: at(5)}, {NotAfter: at(9)}}
	for _, tt := range []struct {
		name              string
		expiry, timestamp time.Time
		want              time.Time
	}{
		{"no expiry, no timestamp: the leaf's end", time.Time{}, time.Time{}, at(5)},
		{"expiry before the chain's end", at(3), time.Time{}, at(3)},
		{"expiry after the chain's end", at(7), time.Time{}, at(5)},
		{"timestamped: the envelope's expiry alone", at(7), at(1), at(7)},
		{"timestamped, no expiry: never", time.Time{}, at(1), time.Time{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := expires(tt.expiry, tt.timestamp, chain); !got.Equal(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
