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

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/internal/rekorv1test"
	"github.com/signet-dev/signet/internal/sigstoretest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/verify"
)

// keyTimeWorld signs image signatures with one key four ways (logged in
// Rekor v1 with a signed integrated time, timestamped by a TSA, logged in
// Rekor v2 without a signed time, neither) and has the trust to verify them.
type keyTimeWorld struct {
	reg     *registrytest.Registry
	client  *oci.Client
	signers map[string]*sign.Signer
	pub     []byte
	trust   root.TrustedMaterial
}

func newKeyTimeWorld(t *testing.T) *keyTimeWorld {
	t.Helper()
	w := &keyTimeWorld{reg: registrytest.New(t, true), client: oci.New(), signers: map[string]*sign.Signer{}}
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
	logs, err := tlog.TrustedRoot(tlog.LogInfo{URL: rekor.URL, PublicKey: rekor.Key.Public(), APIVersion: 1},
		tlog.LogInfo{URL: v2url, PublicKey: v2log.PublicKey(), APIVersion: 2})
	if err != nil {
		t.Fatal(err)
	}
	authorities, err := ss.TrustedRoot()
	if err != nil {
		t.Fatal(err)
	}
	w.trust = root.TrustedMaterialCollection{logs, authorities}
	w.pub, _ = keys.PublicKeyPEM(priv.Public())
	return w
}

// signed pushes an image and attaches an image signature by signer how
// (changed by mutate, if given; annotations signed with it).
func (w *keyTimeWorld) signed(t *testing.T, repoTag, how string, annotations map[string]any, mutate func(*testing.T, []byte) []byte) string {
	t.Helper()
	ctx := context.Background()
	d := w.reg.PushImage(t, repoTag)
	b, _, err := w.signers[how].SignStatement(ctx, statementJSON(t, oci.CosignSignPredicateType, map[string]any{}, subjectOf("team/app", d.DigestStr(), annotations)))
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		b = mutate(t, b)
	}
	target, _ := w.client.Resolve(ctx, d.String())
	if _, err := w.client.AttachBundle(ctx, target, b, sign.BundleAnnotations(oci.CosignSignPredicateType, time.Now())); err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func (w *keyTimeWorld) recalls(t *testing.T, doc string) *policy.Recalls {
	t.Helper()
	r, err := policy.ParseRecalls([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestKeyWindowsAndRevocations: a key's window and a recall list's
// revocation judge a signature by a trusted time only — a verified Rekor v1
// integrated time or a TSA's timestamp — never by a time the signer wrote
// (in the signed document, in an unverified log entry) or none at all.
func TestKeyWindowsAndRevocations(t *testing.T) {
	t.Parallel()
	w := newKeyTimeWorld(t)
	now := time.Now()
	hour := time.Hour
	rfc := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
	revoked := func(from time.Duration) string {
		return fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: 1\nkeys:\n  - publicKey: |\n%s    revokedFrom: %s\n    reason: key leaked in incident 42\n",
			"      "+strings.ReplaceAll(strings.TrimSpace(string(w.pub)), "\n", "\n      ")+"\n", rfc(from))
	}
	// An entry whose signed timestamp is gone, its integrated time moved
	// into the window: nothing vouches for it.
	unverified := func(t *testing.T, b []byte) []byte {
		pb := parse(t, b)
		e := pb.VerificationMaterial.TlogEntries[0]
		e.InclusionPromise, e.IntegratedTime = nil, now.Add(-2*hour).Unix()
		return marshal(t, pb)
	}
	cases := []struct {
		name        string
		how         string
		from, until time.Duration // key window relative to now; 0: unbounded
		revokedFrom *time.Duration
		mode        verify.TlogMode
		annotations map[string]any
		mutate      func(*testing.T, []byte) []byte
		want        error // nil: verifies
		says        string
	}{
		{name: "inside the window, by the log's time", how: "rekor v1", from: -hour, until: hour, says: "while key"},
		{name: "inside the window, by the TSA's time", how: "tsa", from: -hour, until: hour, says: "timestamp authority"},
		{name: "before validFrom", how: "rekor v1", from: hour, want: verify.ErrKeyWindow, says: "before that"},
		{name: "after validUntil (retired key, new signature)", how: "tsa", until: -hour, want: verify.ErrKeyWindow, says: "a retired key's new signatures do not count"},
		{name: "retired later, old signature still counts", how: "rekor v1", until: hour, says: "while key"},
		{name: "no trusted time", how: "none", until: hour, want: verify.ErrKeyWindow, says: "carries no trusted time"},
		{name: "rekor v2 entry (no signed time)", how: "rekor v2", until: hour, want: verify.ErrKeyWindow, says: "carries no trusted time"},
		{name: "unverified log entry dated inside the window", how: "rekor v1", until: -hour, mode: verify.TlogSkip, mutate: unverified, want: verify.ErrKeyWindow, says: "carries no trusted time"},
		{name: "the signed document's own time", how: "none", until: hour, annotations: map[string]any{"signedAt": rfc(-2 * hour)}, want: verify.ErrKeyWindow, says: "time in the signed document"},

		{name: "revoked after it was logged", how: "rekor v1", revokedFrom: ptr(hour), says: "before that"},
		{name: "revoked before it was logged", how: "rekor v1", revokedFrom: ptr(-hour), want: verify.ErrKeyRevoked, says: "key leaked in incident 42"},
		{name: "revoked before it was timestamped", how: "tsa", revokedFrom: ptr(-hour), want: verify.ErrKeyRevoked, says: "after the revocation"},
		{name: "revoked, no trusted time", how: "none", revokedFrom: ptr(hour), want: verify.ErrKeyRevoked, says: "no trusted time to show it was made before then"},
		{name: "revoked, unverified entry dated before", how: "rekor v1", revokedFrom: ptr(-hour), mode: verify.TlogSkip, mutate: unverified, want: verify.ErrKeyRevoked, says: "no trusted time"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			image := w.signed(t, fmt.Sprintf("team/app:kt-%d", i), tc.how, tc.annotations, tc.mutate)
			pub, _ := keys.ParsePublicKey(w.pub)
			k := verify.Key{Name: "release", PublicKey: pub}
			if tc.from != 0 {
				k.ValidFrom = now.Add(tc.from)
			}
			if tc.until != 0 {
				k.ValidUntil = now.Add(tc.until)
			}
			opts := []verify.Option{verify.WithTrustedRoot(w.trust)}
			if tc.revokedFrom != nil {
				opts = append(opts, verify.WithRecalls(w.recalls(t, revoked(*tc.revokedFrom))))
			}
			v, err := verify.New(w.client, []verify.Key{k}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(context.Background(), image, verify.Request{TransparencyLog: tc.mode})
			if res == nil || len(res.Signatures) != 1 {
				t.Fatalf("want one signature, got %v, %+v", err, res)
			}
			s := res.Signatures[0]
			said := s.Error
			for _, c := range s.Checks {
				said += " | " + c.Detail
			}
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("want verified, got %v", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("got %v, want %v", err, tc.want)
			case !strings.Contains(said, tc.says):
				t.Fatalf("the signature's report does not say %q:\n%s", tc.says, said)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestBlobKeyRevocation: verify-blob applies a recall list's revocation by
// the bundle's trusted time, as image verification does.
func TestBlobKeyRevocation(t *testing.T) {
	t.Parallel()
	w := newKeyTimeWorld(t)
	now := time.Now()
	data := []byte("a release tarball\n")
	pub, _ := keys.ParsePublicKey(w.pub)
	id, _ := keys.ID(pub)
	list := func(from time.Time) *policy.Recalls {
		return w.recalls(t, "apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: 1\nkeys:\n  - {keyId: \""+id+"\", revokedFrom: "+
			from.UTC().Format(time.RFC3339)+", reason: build key leaked}\n")
	}
	cases := []struct {
		name string
		how  string
		from time.Time
		want error
	}{
		{"logged before the revocation", "rekor v1", now.Add(time.Hour), nil},
		{"logged after the revocation", "rekor v1", now.Add(-time.Hour), verify.ErrKeyRevoked},
		{"no trusted time", "none", now.Add(time.Hour), verify.ErrKeyRevoked},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, _, err := w.signers[tc.how].SignBlob(context.Background(), data)
			if err != nil {
				t.Fatal(err)
			}
			v, err := verify.New(w.client, []verify.Key{{Name: "build", PublicKey: pub}}, verify.WithTrustedRoot(w.trust), verify.WithRecalls(list(tc.from)))
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.VerifyBlob(b, verify.Blob{Content: strings.NewReader(string(data))})
			if tc.want == nil && err != nil || tc.want != nil && (!errors.Is(err, tc.want) || !strings.Contains(err.Error(), "build key leaked")) {
				t.Fatalf("got %v, want %v with the recall's reason", err, tc.want)
			}
		})
	}
}
