package verify_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/internal/rekorv1test"
	"github.com/signet-dev/signet/internal/sigstoretest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/verify"
)

// timeWorld signs attestations with one trusted key five ways — logged in
// Rekor v1 (a signed integrated time), timestamped by a TSA, logged in
// Rekor v2 (no signed time), neither — and keylessly with a TSA timestamp,
// and verifies them with a verifier trusting all of it.
type timeWorld struct {
	reg      *registrytest.Registry
	client   *oci.Client
	signers  map[string]*sign.Signer
	verifier *verify.Verifier
}

func newTimeWorld(t *testing.T) *timeWorld {
	t.Helper()
	w := &timeWorld{reg: registrytest.New(t, true), client: oci.New(), signers: map[string]*sign.Signer{}}
	rekor := rekorv1test.Start(t)
	v2log, v2url := startLog(t)
	ss := sigstoretest.Start(t)
	tsa := sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: ss.TSAURL})
	priv, _ := keys.Generate(keys.ECDSAP256)
	sv, _ := keys.SignerVerifier(priv)
	v1w, _ := tlog.Service{URL: rekor.URL, APIVersion: 1}.Writer(0)
	v2w, _ := tlog.Service{URL: v2url, APIVersion: 2}.Writer(0)
	var err error
	for name, opts := range map[string][]sign.Option{
		"rekor v1": {sign.WithTransparencyLog(v1w)}, "tsa": {sign.WithTimestampAuthority(tsa)},
		"rekor v2": {sign.WithTransparencyLog(v2w)}, "none": nil,
	} {
		if w.signers[name], err = sign.New(sv, w.client, opts...); err != nil {
			t.Fatal(err)
		}
	}
	fulcio := sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: ss.URL})
	if w.signers["keyless tsa"], err = sign.NewKeyless(w.client, fulcio, sigstoretest.Token("dev@example.com", "https://accounts.example.com"), sign.WithTimestampAuthority(tsa)); err != nil {
		t.Fatal(err)
	}
	logs, err := tlog.TrustedRoot(tlog.LogInfo{URL: rekor.URL, PublicKey: rekor.Key.Public(), APIVersion: 1},
		tlog.LogInfo{URL: v2url, PublicKey: v2log.PublicKey(), APIVersion: 2})
	if err != nil {
		t.Fatal(err)
	}
	authorities, err := ss.TrustedRoot()
	if err != nil {
		t.Fatal(err)
	}
	w.verifier, err = verify.New(w.client, []verify.Key{{Name: "scanner", PublicKey: priv.Public()}},
		verify.WithTrustedRoot(root.TrustedMaterialCollection{logs, authorities}),
		verify.WithIdentities(verify.Identity{Name: "ci", Subject: "dev@example.com", Issuer: "https://accounts.example.com"}))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// vulnStatement is a vulnerability-scan statement for digest that says it
// finished at scanned (no time at all when zero).
func vulnStatement(t testing.TB, digest string, scanned time.Time) []byte {
	t.Helper()
	pred := map[string]any{"scanner": map[string]any{"uri": "pkg:github/aquasecurity/trivy", "result": map[string]any{}}}
	if !scanned.IsZero() {
		pred["metadata"] = map[string]any{"scanStartedOn": scanned.UTC().Format(time.RFC3339), "scanFinishedOn": scanned.UTC().Format(time.RFC3339)}
	}
	return statementJSON(t, attest.PredicateVuln, pred, subjectOf("team/app", digest, nil))
}

// TestMaxAgeTrustsNoFutureTime: the age an attestation is checked against
// is measured from a time the verifier can trust — the transparency log's
// signed integrated time (Rekor v1), or an RFC 3161 timestamp — and the
// predicate's own time only bounds it further (the earlier of the two
// counts). Without a trusted time the predicate's time is used, but never
// one in the future beyond the clock-skew allowance; with one, a predicate
// claiming to have been made after it was signed is refused. Before this, a
// scan dated 2099 never grew old.
func TestMaxAgeTrustsNoFutureTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newTimeWorld(t)
	now := time.Now()
	far := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	// A genuine Rekor v1 entry, signed entry timestamp and all, for another
	// signature (of another image's scan).
	donor := parse(t, must3(w.signers["rekor v1"].SignStatement(ctx, vulnStatement(t, "sha256:"+hex64("ef"), now))))
	borrow := func(t *testing.T, b []byte) []byte {
		pb := parse(t, b)
		pb.VerificationMaterial.TlogEntries = donor.VerificationMaterial.TlogEntries
		return marshal(t, pb)
	}

	cases := []struct {
		name    string
		signer  string
		scanned time.Time     // the predicate's time (zero: none)
		clock   time.Duration // the verifier's clock, after now
		maxAge  time.Duration
		mode    verify.TlogMode
		mutate  func(t *testing.T, b []byte) []byte
		want    error  // nil: verifies
		says    string // in the maxAge check's detail or the refusal
	}{
		{"no trusted time, scan dated 2099", "none", far, 0, 24 * time.Hour, "", nil, verify.ErrFutureTime, "no trusted time in the bundle"},
		{"rekor v2 (no signed time), scan dated 2099", "rekor v2", far, 0, 24 * time.Hour, "", nil, verify.ErrFutureTime, "no trusted time in the bundle"},
		{"rekor v1, scan dated 2099", "rekor v1", far, 0, 24 * time.Hour, "", nil, verify.ErrFutureTime, "transparency log's integrated time"},
		{"tsa, scan dated 2099", "tsa", far, 0, 24 * time.Hour, "", nil, verify.ErrFutureTime, "timestamp authority"},
		{"keyless with tsa, scan dated 2099", "keyless tsa", far, 0, 24 * time.Hour, "", nil, verify.ErrFutureTime, "timestamp authority"},
		{"rekor v1, scan dated an hour after it was logged, checked later", "rekor v1", now.Add(time.Hour), 2 * time.Hour, 24 * time.Hour, "", nil, verify.ErrFutureTime, "after the transparency log's integrated time"},
		{"tsa, scan dated an hour after it was timestamped, checked later", "tsa", now.Add(time.Hour), 2 * time.Hour, 24 * time.Hour, "", nil, verify.ErrFutureTime, "after the timestamp authority's time"},
		{"no trusted time, scan 10 minutes ahead", "none", now.Add(10 * time.Minute), 0, 24 * time.Hour, "", nil, verify.ErrFutureTime, "clock skew"},
		{"rekor v1, logged over maxAge ago", "rekor v1", now.Add(2 * time.Minute), 2 * time.Hour, time.Hour, "", nil, verify.ErrTooOld, "transparency log's integrated time"},
		{"rekor v1, scanned long before it was logged", "rekor v1", now.Add(-2 * time.Hour), 0, time.Hour, "", nil, verify.ErrTooOld, "predicate's own time"},
		{"no trusted time, no time in the predicate", "none", time.Time{}, 0, time.Hour, "", nil, verify.ErrTooOld, "no time"},
		{"rekor v1 entry for another signature, log skipped, dated ahead", "none", far, 0, 24 * time.Hour, verify.TlogSkip, borrow, verify.ErrFutureTime, "no trusted time in the bundle"},
		{"rekor v1 entry for another signature, log optional", "none", now, 0, 24 * time.Hour, verify.TlogOptional, borrow, verify.ErrTransparencyLog, ""},
		{"rekor v1 entry without its signed timestamp, dated ahead", "rekor v1", far, 0, 24 * time.Hour, verify.TlogSkip, stripPromise, verify.ErrFutureTime, "no trusted time in the bundle"},

		{"rekor v1, fresh", "rekor v1", now.Add(3 * time.Minute), 30 * time.Minute, time.Hour, "", nil, nil, "by the transparency log's integrated time"},
		// A key signature logged or timestamped today may have been made
		// long before: without a time of its own, its age cannot be told.
		{"rekor v1, no time in the predicate", "rekor v1", time.Time{}, 10 * time.Minute, time.Hour, "", nil, verify.ErrTooOld, "says only that the signature existed by then"},
		{"tsa, no time in the predicate", "tsa", time.Time{}, 10 * time.Minute, time.Hour, "", nil, verify.ErrTooOld, "says only that the signature existed by then"},
		{"keyless with tsa, no time in the predicate", "keyless tsa", time.Time{}, 10 * time.Minute, time.Hour, "", nil, nil, "timestamp authority"},
		{"tsa, fresh", "tsa", now.Add(3 * time.Minute), 10 * time.Minute, time.Hour, "", nil, nil, "by the timestamp authority's time"},
		{"keyless with tsa, fresh", "keyless tsa", now, 10 * time.Minute, time.Hour, "", nil, nil, "timestamp authority"},
		{"no trusted time, fresh", "none", now.Add(-10 * time.Minute), 0, time.Hour, "", nil, nil, "by the predicate's own time (no trusted time in the bundle)"},
		{"no trusted time, within clock skew", "none", now.Add(3 * time.Minute), 0, time.Hour, "", nil, nil, "by the predicate's own time"},
		{"rekor v2, fresh", "rekor v2", now.Add(-10 * time.Minute), 0, time.Hour, "", nil, nil, "by the predicate's own time (no trusted time in the bundle)"},
	}

	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := w.reg.PushImage(t, fmt.Sprintf("team/app:age-%d", i))
			b, _, err := w.signers[tc.signer].SignStatement(ctx, vulnStatement(t, d.DigestStr(), tc.scanned))
			if err != nil {
				t.Fatal(err)
			}
			if tc.mutate != nil {
				b = tc.mutate(t, b)
			}
			target, _ := w.client.Resolve(ctx, d.String())
			if _, err := w.client.AttachBundle(ctx, target, b, sign.BundleAnnotations(attest.PredicateVuln, now)); err != nil {
				t.Fatal(err)
			}
			clock := func() time.Time { return now.Add(tc.clock) }
			res, err := w.verifier.VerifyAttestations(ctx, d.String(), verify.AttestationRequest{PredicateType: attest.PredicateVuln,
				MaxAge: tc.maxAge, Clock: clock, TransparencyLog: tc.mode})
			if res == nil || len(res.Signatures) != 1 {
				t.Fatalf("got %v, %+v", err, res)
			}
			s := res.Signatures[0]
			var detail string
			for _, c := range s.Checks {
				if c.Name == "maxAge" {
					detail = c.Detail
				}
			}
			if tc.want == nil {
				if err != nil {
					t.Fatalf("want verified, got %v", err)
				}
			} else if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if !strings.Contains(detail, tc.says) {
				t.Fatalf("maxAge check says %q, want it to say %q", detail, tc.says)
			}
		})
	}
}

func must3(b []byte, _ []sign.LogEntry, err error) []byte { return must(b, err) }

// stripPromise removes the Rekor v1 entry's signed entry timestamp and moves
// its (now unsigned) integrated time forward: nothing vouches for it.
func stripPromise(t *testing.T, b []byte) []byte {
	pb := parse(t, b)
	e := pb.VerificationMaterial.TlogEntries[0]
	e.InclusionPromise = nil
	e.IntegratedTime = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	return marshal(t, pb)
}

// TestFutureAttestationPolicyDenied: the policy engine refuses an
// attestation dated in the future as policy-denied, saying why.
func TestFutureAttestationPolicyDenied(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	img := w.reg.PushImage(t, "team/app:future")
	w.sign(t, "alice", img.String())
	w.attest(t, "alice", img.String(), "cyclonedx", "sbom.cdx.json")
	attachStatement(t, w.signers["bob"], w.client, img.String(), attest.PredicateVuln,
		[]byte(strings.Replace(string(vulnStatement(t, img.DigestStr(), time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))),
			`"result":{}`, `"result":{"summary":{"critical":0}}`, 1)))
	e := w.engine(t, strings.NewReplacer("CRIT", "1", "MAXAGE", "72h").Replace(attestPolicy))
	d := e.Decide(ctx, img.String())
	if d.Allowed || d.Class != verify.ClassPolicyDenied || !strings.Contains(d.Reason, "in the future") {
		t.Fatalf("got allowed=%v class=%q reason=%q", d.Allowed, d.Class, d.Reason)
	}
}
