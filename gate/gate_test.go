package gate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/gate"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

const secret = "s3cret"

type env struct {
	t        *testing.T
	reg      *registrytest.Registry
	client   *oci.Client
	release  *sign.Signer
	gateKey  signature.SignerVerifier
	gatePub  []byte
	relPub   []byte
	dir      string
	eng      *verify.Engine
	policy   *policy.Compiled
	g        *gate.Gate
	srv      *httptest.Server
	cancel   context.CancelFunc
	done     chan error
	grace    time.Duration
	received int
	logs     lockedBuffer
	// statusToken is the gate's StatusToken ("": the shared secret).
	statusToken string
	// state is the gate's state ("": a directory in dir); lease its
	// Config.Lease (0: the default).
	state string
	lease time.Duration
}

// lockedBuffer collects the gate's log lines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newEnv(t *testing.T, grace time.Duration) *env {
	t.Helper()
	return newEnvOn(t, registrytest.New(t, true), grace)
}

// newEnvOn is newEnv on a given registry (one without the referrers API,
// say).
func newEnvOn(t *testing.T, reg *registrytest.Registry, grace time.Duration) *env {
	t.Helper()
	return newEnvOnWith(t, reg, grace, releasePolicy)
}

// releasePolicy requires the release key's signature on every image.
func releasePolicy(e *env) string {
	return fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nmetadata: {name: org}\nimages:\n  - pattern: %q\n    signers: [{name: release, publicKey: %q}]\n",
		e.reg.Host+"/**", string(e.relPub))
}

// newEnvSetup is newEnv with setup changing e before the gate starts.
func newEnvSetup(t *testing.T, grace time.Duration, setup ...func(e *env)) *env {
	t.Helper()
	return newEnvOnWith(t, registrytest.New(t, true), grace, releasePolicy, setup...)
}

// newEnvWith runs a gate under the policy document doc returns (key files
// relative to e.dir), once the registry and keys exist.
func newEnvWith(t *testing.T, grace time.Duration, doc func(e *env) string) *env {
	t.Helper()
	return newEnvOnWith(t, registrytest.New(t, true), grace, doc)
}

// newEnvOnWith is newEnvWith on a given registry; setup changes e before
// the gate starts.
func newEnvOnWith(t *testing.T, reg *registrytest.Registry, grace time.Duration, doc func(e *env) string, setup ...func(e *env)) *env {
	t.Helper()
	e := &env{t: t, reg: reg, client: oci.New(), dir: t.TempDir(), grace: grace}
	rel, _ := keys.Generate(keys.ECDSAP256)
	e.relPub, _ = keys.PublicKeyPEM(rel.Public())
	sv, _ := keys.SignerVerifier(rel)
	e.release, _ = sign.New(sv, e.client)
	gk, _ := keys.Generate(keys.ECDSAP256)
	e.gatePub, _ = keys.PublicKeyPEM(gk.Public())
	e.gateKey, _ = keys.SignerVerifier(gk)
	var err error
	if e.policy, err = policy.Compile([]byte(doc(e)), e.dir, keys.Loader{}); err != nil {
		t.Fatal(err)
	}
	// As signet gate serve runs it: receipts never stand in for the gate's own checks.
	if e.eng, err = verify.NewEngine(e.client, e.policy, verify.WithoutReceipts()); err != nil {
		t.Fatal(err)
	}
	for _, f := range setup {
		f(e)
	}
	e.start()
	return e
}

// start runs a gate on the state directory (again, after stop: a restart).
func (e *env) start() {
	e.t.Helper()
	e.startWith(e.eng)
}

// startWith runs a gate that decides with dec.
func (e *env) startWith(dec gate.Decider) {
	e.t.Helper()
	g, err := gate.New(e.config(dec))
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.g, e.cancel, e.done = g, cancel, make(chan error, 1)
	go func() { e.done <- g.Run(ctx) }()
	e.srv = httptest.NewServer(g.Handler())
	e.t.Cleanup(e.stop)
}

// config is the configuration of e's gates, deciding with dec.
func (e *env) config(dec gate.Decider) gate.Config {
	gs, _ := sign.New(e.gateKey, e.client)
	return gate.Config{Registry: e.reg.Host, Client: e.client, Decider: dec, Attester: attest.New(gs, e.client),
		Secret: secret, StatusToken: e.statusToken, State: e.stateOrDir(), Grace: e.grace, Recheck: 100 * time.Millisecond, Lease: e.lease, Poll: 200 * time.Millisecond,
		PolicyName: e.policy.Source.Metadata.Name, PolicyHash: e.policy.Hash, Metrics: gate.NewMetrics(), Log: slog.New(slog.NewTextHandler(&e.logs, nil))}
}

// stateOrDir is the gate's state: e.state, or a directory in e.dir.
func (e *env) stateOrDir() string {
	if e.state != "" {
		return e.state
	}
	return filepath.Join(e.dir, "state")
}

func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.srv.Close()
	e.cancel()
	if err := <-e.done; err != nil {
		e.t.Error(err)
	}
	e.cancel = nil
}

type ev struct{ repo, digest, tag, mediaType string }

// notify posts events as the registry would.
func (e *env) notify(events ...ev) int {
	e.t.Helper()
	var list []map[string]any
	for _, x := range events {
		e.received++
		mt := x.mediaType
		if mt == "" {
			mt = "application/vnd.oci.image.manifest.v1+json"
		}
		list = append(list, map[string]any{"id": fmt.Sprintf("ev-%s-%s-%s", x.repo, x.digest, x.tag), "timestamp": time.Now(), "action": "push",
			"target": map[string]any{"mediaType": mt, "digest": x.digest, "size": 100, "repository": x.repo, "tag": x.tag}})
	}
	body, _ := json.Marshal(map[string]any{"events": list})
	return e.post(body, "Bearer "+secret)
}

// envelope is the registry's notification of events.
func envelope(events ...ev) []byte {
	var list []map[string]any
	for _, x := range events {
		mt := x.mediaType
		if mt == "" {
			mt = "application/vnd.oci.image.manifest.v1+json"
		}
		list = append(list, map[string]any{"id": fmt.Sprintf("ev-%s-%s-%s", x.repo, x.digest, x.tag), "timestamp": time.Now(), "action": "push",
			"target": map[string]any{"mediaType": mt, "digest": x.digest, "size": 100, "repository": x.repo, "tag": x.tag}})
	}
	body, _ := json.Marshal(map[string]any{"events": list})
	return body
}

func (e *env) post(body []byte, auth string) int {
	e.t.Helper()
	return postTo(e.t, e.srv.URL, body, auth)
}

// postTo posts a notification to the gate at url.
func postTo(t *testing.T, url string, body []byte, auth string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/vnd.docker.distribution.events.v2+json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// push pushes repo:tag and notifies the gate.
func (e *env) push(repo, tag string) name.Digest {
	d := e.reg.PushImage(e.t, repo+":"+tag)
	if code := e.notify(ev{repo, d.DigestStr(), tag, ""}); code != http.StatusOK {
		e.t.Fatalf("notify: %d", code)
	}
	return d
}

// signAndNotify signs d and notifies the gate of the referrer pushed.
func (e *env) signAndNotify(d name.Digest) {
	e.t.Helper()
	res, err := e.release.SignImage(context.Background(), d.String(), sign.Request{})
	if err != nil {
		e.t.Fatal(err)
	}
	repo := strings.TrimPrefix(d.Context().Name(), e.reg.Host+"/")
	for _, s := range res.Signed {
		for _, a := range s.Attached {
			e.notify(ev{repo, a.Digest.String(), "", ""})
		}
	}
}

func (e *env) record(d name.Digest) (gate.Record, bool) {
	for _, r := range mustStatus(e.g, "").Records {
		if r.Digest == d.DigestStr() {
			return r, true
		}
	}
	return gate.Record{}, false
}

func (e *env) waitState(d name.Digest, state string) gate.Record {
	e.t.Helper()
	return e.waitStateT(e.t, d, state)
}

// waitStateT is waitState failing t (a subtest).
func (e *env) waitStateT(t *testing.T, d name.Digest, state string) gate.Record {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		want := map[string]string{gate.StatePassed: "PASSED", gate.StateUnverified: "FAILED", gate.StateFailed: "FAILED"}[state]
		if r, ok := e.record(d); ok && r.State == state && r.VSAResult == want {
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
	r, _ := e.record(d)
	t.Fatalf("%s never reached %s: %+v", d, state, r)
	return r
}

// receiptEngine trusts the gate's key for receipts and the release key for
// signatures; clock shifts its time; extra goes into the receipts section.
func (e *env) receiptEngine(gatePub []byte, clock time.Duration, extra string) *verify.Engine {
	e.t.Helper()
	doc := fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    signers: [{name: release, publicKey: %q}]\nreceipts:\n  gates: [{name: push-gate, publicKey: %q}]\n  maxAge: 24h\n  verifierId: https://signet.dev/gate\n%s",
		e.reg.Host+"/**", string(e.relPub), string(gatePub), extra)
	c, err := policy.Compile([]byte(doc), ".", keys.Loader{})
	if err != nil {
		e.t.Fatal(err)
	}
	eng, err := verify.NewEngine(e.client, c, verify.WithEngineClock(func() time.Time { return time.Now().Add(clock) }))
	if err != nil {
		e.t.Fatal(err)
	}
	return eng
}

// TestGateFlow: a signed push passes and gets a PASSED summary; an unsigned
// one is unverified after the grace period (FAILED summary); signing it
// later re-verifies it to PASSED. The admission side then accepts the
// gate's summary as a receipt.
func TestGateFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second)
	signed := e.reg.PushImage(t, "team/app:v1")
	if _, err := e.release.SignImage(context.Background(), signed.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	e.notify(ev{"team/app", signed.DigestStr(), "v1", ""})
	r := e.waitState(signed, gate.StatePassed)
	if r.VSAResult != "PASSED" || r.VSA == "" {
		t.Fatalf("signed: %+v", r)
	}

	unsigned := e.push("team/app", "v2")
	if r, _ := e.record(unsigned); r.State != gate.StatePending && r.State != "" {
		t.Fatalf("unsigned, within grace: %+v", r)
	}
	r = e.waitState(unsigned, gate.StateUnverified)
	if r.VSAResult != "FAILED" || !strings.Contains(r.Reason, "no signatures found") {
		t.Fatalf("unsigned after grace: %+v", r)
	}
	e.signAndNotify(unsigned)
	r = e.waitState(unsigned, gate.StatePassed)
	if r.VSAResult != "PASSED" || r.Checks < 2 {
		t.Fatalf("signed later: %+v", r)
	}

	// The summaries are on the image, as statements a verifier can read.
	found, err := attest.Statements(context.Background(), e.client, unsigned.String(), policy.VSAPredicateType)
	if err != nil || len(found) != 2 {
		t.Fatalf("summaries on the image: %d %v", len(found), err)
	}
	var st struct {
		Predicate struct {
			VerificationResult string `json:"verificationResult"`
			ResourceURI        string `json:"resourceUri"`
			Policy             struct {
				URI    string            `json:"uri"`
				Digest map[string]string `json:"digest"`
			} `json:"policy"`
		} `json:"predicate"`
	}
	json.Unmarshal(found[0].Statement, &st)
	if st.Predicate.ResourceURI != "oci://"+unsigned.String() || st.Predicate.Policy.Digest["sha256"] != e.policy.Hash ||
		st.Predicate.Policy.URI != "signet-policy:org#/images/0" {
		t.Fatalf("summary: %s", found[0].Statement)
	}
}

// TestReceipts: the policy engine takes a gate's PASSED summary instead of
// verifying when the gate's policy is its own or listed in policyDigests,
// and refuses one decided under a policy it does not list, one from an
// untrusted key, one about another digest, and one too old.
func TestReceipts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 50*time.Millisecond)
	// The gate passes an image signed by the release key...
	img := e.reg.PushImage(t, "team/app:v1")
	if _, err := e.release.SignImage(context.Background(), img.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	e.notify(ev{"team/app", img.DigestStr(), "v1", ""})
	e.waitState(img, gate.StatePassed)
	// ...and the same key signs PASSED for an image with no signature,
	// under a lenient gate policy.
	bare := e.reg.PushImage(t, "team/bare:v1")
	gs, _ := sign.New(e.gateKey, e.client)
	cfg := gate.Config{Registry: e.reg.Host, VerifierID: "https://signet.dev/gate", PolicyName: "lenient", PolicyHash: strings.Repeat("0", 64)}
	attach := func(subject name.Digest, about gate.Record, signer *sign.Signer, at time.Time) {
		t.Helper()
		stmt, err := gate.Summary(cfg, about, &verify.Decision{Rule: "**", RuleIndex: 0}, "PASSED", at)
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := signer.SignStatement(context.Background(), stmt)
		if err != nil {
			t.Fatal(err)
		}
		tg, _ := e.client.Resolve(context.Background(), subject.String())
		if _, err := e.client.AttachBundle(context.Background(), tg, b, sign.BundleAnnotations(policy.VSAPredicateType, at)); err != nil {
			t.Fatal(err)
		}
	}
	attach(bare, gate.Record{Repository: "team/bare", Digest: bare.DigestStr()}, gs, time.Now())

	decide := func(eng *verify.Engine, d name.Digest) *verify.Decision {
		return eng.Decide(context.Background(), d.String())
	}
	listing := "  policyDigests: [" + e.policy.Hash + "]\n"
	trusting := e.receiptEngine(e.gatePub, 0, listing)
	if d := decide(trusting, img); !d.Allowed || receiptOf(d).Outcome != verify.Pass || !strings.Contains(receiptMsg(d), "listed in receipts.policyDigests") {
		t.Fatalf("the gate's own summary, its policy listed: %s / %s", receiptMsg(d), d.Reason)
	}
	if d := decide(e.receiptEngine(e.gatePub, 0, ""), img); receiptOf(d).Outcome == verify.Pass || !strings.Contains(receiptMsg(d), "decided under policy "+e.policy.Hash[:12]) {
		t.Fatalf("the gate's own summary, its policy not listed: %s / %s", receiptMsg(d), d.Reason)
	}
	if d := decide(trusting, bare); d.Allowed || !strings.Contains(receiptMsg(d), "decided under policy 000000000000") {
		t.Fatalf("a lenient policy's receipt: %s / %s", receiptMsg(d), d.Reason)
	}

	other, _ := keys.Generate(keys.ECDSAP256)
	otherPub, _ := keys.PublicKeyPEM(other.Public())
	if d := decide(e.receiptEngine(otherPub, 0, listing), img); receiptOf(d).Outcome == verify.Pass || !strings.Contains(receiptMsg(d), "no valid receipt") ||
		!strings.Contains(receiptMsg(d), "does not verify with any trusted key") {
		t.Fatalf("an untrusted gate key: %s / %s", receiptMsg(d), d.Reason)
	}

	// A summary about another digest, attached here.
	moved := e.reg.PushImage(t, "team/moved:v1")
	attach(moved, gate.Record{Repository: "team/bare", Digest: bare.DigestStr()}, gs, time.Now())
	if d := decide(trusting, moved); d.Allowed || !strings.Contains(receiptMsg(d), "no valid receipt") {
		t.Fatalf("a receipt for another digest: %s / %s", receiptMsg(d), d.Reason)
	}

	// Two days on, with a 24h maximum age.
	if d := decide(e.receiptEngine(e.gatePub, 48*time.Hour, listing), img); receiptOf(d).Outcome == verify.Pass || !strings.Contains(receiptMsg(d), "too old") {
		t.Fatalf("an old receipt: %s / %s", receiptMsg(d), d.Reason)
	}
}

func receiptMsg(d *verify.Decision) string {
	for _, c := range d.Checks {
		if c.Name == "receipt" {
			return c.Message
		}
	}
	return ""
}

// TestBadNotifications: a forged notification, a malformed one, and one
// about a digest that does not exist are refused or reported, and the gate
// keeps working.
func TestBadNotifications(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 50*time.Millisecond)
	good, _ := json.Marshal(map[string]any{"events": []any{}})
	if code := e.post(good, "Bearer wrong"); code != http.StatusUnauthorized {
		t.Fatalf("bad secret: %d", code)
	}
	if code := e.post(good, ""); code != http.StatusUnauthorized {
		t.Fatalf("no secret: %d", code)
	}
	for _, body := range []string{`{"events": [`, `[]`, `{"nothing": 1}`, strings.Repeat("x", 5<<20)} {
		if code := e.post([]byte(body), "Bearer "+secret); code != http.StatusBadRequest && code != http.StatusRequestEntityTooLarge {
			t.Fatalf("malformed %.20q: %d", body, code)
		}
	}
	if code := e.notify(ev{"team/app", "sha256:nothex", "v1", ""}, ev{"UPPER/Case", "sha256:" + strings.Repeat("a", 64), "v1", ""},
		ev{"team/../app", "sha256:" + strings.Repeat("a", 64), "v1", ""}); code != http.StatusOK {
		t.Fatalf("events with bad fields: %d", code)
	}
	if logs := e.logs.String(); !strings.Contains(logs, `repository \"team/../app\" is not a repository name: segment \"..\"`) {
		t.Fatalf("the refusal of a repository with a .. segment is not logged with its reason:\n%s", logs)
	}
	ghost, _ := name.NewDigest(e.reg.Host + "/team/ghost@sha256:" + strings.Repeat("ab", 32))
	e.notify(ev{"team/ghost", ghost.DigestStr(), "v1", ""})
	r := e.waitState(ghost, gate.StateError)
	if !strings.Contains(r.Reason, "not found") && !strings.Contains(r.Reason, "MANIFEST_UNKNOWN") {
		t.Fatalf("ghost: %+v", r)
	}
	// Still working.
	d := e.reg.PushImage(t, "team/app:v1")
	e.release.SignImage(context.Background(), d.String(), sign.Request{})
	e.notify(ev{"team/app", d.DigestStr(), "v1", ""})
	e.waitState(d, gate.StatePassed)
}

// TestBurstAndRestart: 200 pushes notified in a burst are all verified, and
// stopping the gate in the middle loses none: the next run finishes them.
func TestBurstAndRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Minute)
	var digests []name.Digest
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range 200 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			d := e.reg.PushImage(t, fmt.Sprintf("burst/app%d:v1", i%10))
			if _, err := e.release.SignImage(context.Background(), d.String(), sign.Request{}); err != nil {
				t.Error(err)
			}
			mu.Lock()
			digests = append(digests, d)
			mu.Unlock()
		}()
	}
	wg.Wait()
	// The registry sends events one envelope at a time; batches of 10.
	for i := 0; i < len(digests); i += 10 {
		var batch []ev
		for _, d := range digests[i:min(i+10, len(digests))] {
			batch = append(batch, ev{strings.TrimPrefix(d.Context().Name(), e.reg.Host+"/"), d.DigestStr(), "v1", ""})
		}
		if code := e.notify(batch...); code != http.StatusOK {
			t.Fatalf("burst batch %d: %d", i/10, code)
		}
		if i == 100 {
			// Restart mid-burst: everything accepted so far must survive.
			e.stop()
			e.start()
			before := len(mustStatus(e.g, "passed").Records)
			t.Logf("restarted after %d events accepted, %d verified", i+10, before)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		st := mustStatus(e.g, "")
		if st.Counts[gate.StatePassed] == 200 && st.Queue == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	st := mustStatus(e.g, "")
	t.Fatalf("after the burst: %v, queue %d", st.Counts, st.Queue)
}

// blockingDecider holds every decision until released.
type blockingDecider struct {
	release chan struct{}
	inner   gate.Decider
}

func (b *blockingDecider) Decide(ctx context.Context, image string) *verify.Decision {
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return b.inner.Decide(ctx, image)
}

// TestBackPressure: with the queue full the gate answers 503 with
// Retry-After, accepts nothing it cannot keep, and takes the same events
// once there is room; nothing is lost or doubled.
func TestBackPressure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Minute)
	e.stop()
	block := &blockingDecider{release: make(chan struct{}), inner: e.eng}
	gs, _ := sign.New(e.gateKey, e.client)
	g, err := gate.New(gate.Config{Registry: e.reg.Host, Client: e.client, Decider: block, Attester: attest.New(gs, e.client),
		Secret: secret, State: t.TempDir(), Workers: 1, MaxQueue: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	defer func() { cancel(); <-done }()
	e.srv = httptest.NewServer(g.Handler())
	defer e.srv.Close()

	var events []ev
	for i := range 5 {
		d := e.reg.PushImage(t, fmt.Sprintf("bp/app:v%d", i))
		e.release.SignImage(context.Background(), d.String(), sign.Request{})
		events = append(events, ev{"bp/app", d.DigestStr(), fmt.Sprintf("v%d", i), ""})
	}
	if code := e.notify(events...); code != http.StatusServiceUnavailable {
		t.Fatalf("a full queue answered %d, want 503", code)
	}
	if q := mustStatus(g, "").Queue; q != 3 {
		t.Fatalf("queue %d, want 3", q)
	}
	close(block.release)
	// The registry sends the envelope again; what was queued is not doubled.
	deadline := time.Now().Add(20 * time.Second)
	for e.notify(events...) != http.StatusOK && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	for time.Now().Before(deadline) {
		st := mustStatus(g, "")
		if st.Counts[gate.StatePassed] == 5 && st.Queue == 0 {
			for _, r := range st.Records {
				if r.Checks != 1 {
					t.Fatalf("verified %d times: %+v", r.Checks, r)
				}
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("after back-pressure: %+v", mustStatus(g, ""))
}

// statusOver fetches GET /status over HTTP, as an operator would.
func (e *env) statusOver(auth string) (gate.Status, int) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/status", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st gate.Status
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			e.t.Fatal(err)
		}
	}
	return st, resp.StatusCode
}

// drained waits until every accepted event has been processed.
func (e *env) drained() {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if mustStatus(e.g, "").Queue == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("the queue never drained: %+v", mustStatus(e.g, ""))
}

// descriptor reads d's descriptor from the registry.
func (e *env) descriptor(ref string) v1.Descriptor {
	e.t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		e.t.Fatal(err)
	}
	desc, err := remote.Get(r)
	if err != nil {
		e.t.Fatal(err)
	}
	return desc.Descriptor
}

// TestEveryTaggedImageIsJudged: a runnable image pushed under a tag gets a
// verdict whatever it carries (a subject field) and whatever its tag looks
// like (a signature's sha256-<hex> tags): it is recorded, judged unverified
// when unsigned, and reported in /status.
func TestEveryTaggedImageIsJudged(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 50*time.Millisecond)
	base := e.push("team/app", "base")
	e.waitState(base, gate.StateUnverified)
	hex := strings.TrimPrefix(base.DigestStr(), "sha256:")
	withSubject := func(t *testing.T) (name.Digest, string) {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		sub := e.descriptor(base.String())
		img = mutate.Subject(img, v1.Descriptor{MediaType: sub.MediaType, Digest: sub.Digest, Size: sub.Size}).(v1.Image)
		return e.reg.Push(t, "team/app:with-subject", img), "with-subject"
	}
	underTag := func(tag string) func(t *testing.T) (name.Digest, string) {
		return func(t *testing.T) (name.Digest, string) { return e.reg.PushImage(t, "team/app:"+tag), tag }
	}
	for _, tc := range []struct {
		name string
		push func(t *testing.T) (name.Digest, string)
	}{
		{"an image with a subject field", withSubject},
		{"an image under a referrers fallback tag", underTag("sha256-" + hex)},
		{"an image under a legacy signature tag", underTag("sha256-" + hex + ".sig")},
		{"an image under a legacy attestation tag", underTag("sha256-" + hex + ".att")},
		{"an image under a fallback tag of no image", underTag("sha256-" + strings.Repeat("c", 64))},
		{"an index of images under a fallback tag", func(t *testing.T) (name.Digest, string) {
			return e.reg.PushIndex(t, "team/app:sha256-"+strings.Repeat("d", 64)), "sha256-" + strings.Repeat("d", 64)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, tag := tc.push(t)
			mt := string(e.descriptor(d.String()).MediaType)
			if code := e.notify(ev{"team/app", d.DigestStr(), tag, mt}); code != http.StatusOK {
				t.Fatalf("notify: %d", code)
			}
			r := e.waitStateT(t, d, gate.StateUnverified)
			if !strings.Contains(r.Reason, "no signatures found") {
				t.Fatalf("want unverified for want of signatures, got %+v", r)
			}
			if tag != "" && !slices.Contains(r.Tags, tag) {
				t.Fatalf("the record does not show the tag %s it was pushed under: %+v", tag, r.Tags)
			}
			st, code := e.statusOver("Bearer " + secret)
			if code != http.StatusOK || !slices.ContainsFunc(st.Records, func(r gate.Record) bool { return r.Digest == d.DigestStr() }) {
				t.Fatalf("/status (%d) does not report %s: %+v", code, d, st)
			}
		})
	}
}

// TestSignaturesTriggerRechecks: what is about an image — a signature
// through the referrers fallback tag, a legacy .sig tag, the gate's own
// verification summary — re-checks its subject and is never judged as an
// image itself.
func TestSignaturesTriggerRechecks(t *testing.T) {
	t.Parallel()
	e := newEnvOn(t, registrytest.New(t, false), time.Minute)
	ctx := context.Background()
	noRecord := func(t *testing.T, what, digest string) {
		t.Helper()
		e.drained()
		for _, r := range mustStatus(e.g, "").Records {
			if r.Digest == digest {
				t.Fatalf("%s was judged as an image: %+v", what, r)
			}
		}
	}

	t.Run("a signature in the referrers fallback index", func(t *testing.T) {
		d := e.push("team/app", "v1")
		if _, err := e.release.SignImage(ctx, d.String(), sign.Request{}); err != nil {
			t.Fatal(err)
		}
		idx := e.descriptor(oci.FallbackTag(d).String())
		if idx.MediaType != types.OCIImageIndex {
			t.Fatalf("the fallback tag holds %s", idx.MediaType)
		}
		// Only the index's push is notified: it alone must re-check.
		e.notify(ev{"team/app", idx.Digest.String(), oci.FallbackTag(d).TagStr(), string(idx.MediaType)})
		r := e.waitStateT(t, d, gate.StatePassed)
		noRecord(t, "the fallback index", idx.Digest.String())

		// The gate's own summary, and the fallback index that lists it, pushed
		// untagged and (as a stray) under a tag.
		after := e.descriptor(oci.FallbackTag(d).String())
		e.notify(ev{"team/app", r.VSA, "", ""}, ev{"team/app", r.VSA, "summary", ""},
			ev{"team/app", after.Digest.String(), oci.FallbackTag(d).TagStr(), string(after.MediaType)})
		noRecord(t, "the gate's summary", r.VSA)
		noRecord(t, "the fallback index listing the summary", after.Digest.String())
	})

	t.Run("a legacy .sig signature", func(t *testing.T) {
		d := e.push("team/app", "v2")
		res, err := e.release.SignImage(ctx, d.String(), sign.Request{Layout: sign.LayoutLegacy})
		if err != nil {
			t.Fatal(err)
		}
		a := res.Signed[0].Attached[0]
		e.notify(ev{"team/app", a.Digest.String(), oci.LegacySignatureTag(d).TagStr(), ""})
		e.waitStateT(t, d, gate.StatePassed)
		noRecord(t, "the legacy signature", a.Digest.String())
	})
}

// get sends GET path with auth (if any) and returns the status code.
func (e *env) get(path, auth string) int {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestStatusNeedsToken: /status and /metrics list what was pushed where, so
// they answer only with the status token (by default the shared secret);
// /healthz stays open; a separate status token does not open /events.
func TestStatusNeedsToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Minute)
	e.push("team/app", "v1")
	for _, path := range []string{"/status", "/status?state=pending", "/metrics"} {
		for _, tc := range []struct {
			auth string
			want int
		}{
			{"", http.StatusUnauthorized},
			{"Bearer wrong", http.StatusUnauthorized},
			{secret, http.StatusUnauthorized},
			{"Basic " + secret, http.StatusUnauthorized},
			{"Bearer " + secret, http.StatusOK},
		} {
			if got := e.get(path, tc.auth); got != tc.want {
				t.Errorf("GET %s with %q: %d, want %d", path, tc.auth, got, tc.want)
			}
		}
	}
	if got := e.get("/healthz", ""); got != http.StatusOK {
		t.Errorf("GET /healthz without a token: %d, want 200", got)
	}

	// A separate status token: it alone opens /status, and never /events.
	e.stop()
	e.statusToken = "read-only-token"
	e.start()
	for path, want := range map[string]map[string]int{
		"/status":  {"Bearer read-only-token": http.StatusOK, "Bearer " + secret: http.StatusUnauthorized, "": http.StatusUnauthorized},
		"/metrics": {"Bearer read-only-token": http.StatusOK, "Bearer " + secret: http.StatusUnauthorized},
	} {
		for auth, code := range want {
			if got := e.get(path, auth); got != code {
				t.Errorf("GET %s with %q (status token set): %d, want %d", path, auth, got, code)
			}
		}
	}
	body, _ := json.Marshal(map[string]any{"events": []any{}})
	if code := e.post(body, "Bearer read-only-token"); code != http.StatusUnauthorized {
		t.Errorf("POST /events with the status token: %d, want 401", code)
	}
	if code := e.post(body, "Bearer "+secret); code != http.StatusOK {
		t.Errorf("POST /events with the shared secret: %d, want 200", code)
	}
}

// mustStatus is g's first page of records in state (all states for ""); it
// panics when the gate cannot read its state.
func mustStatus(g *gate.Gate, state string) gate.Status {
	st, err := g.Status(context.Background(), gate.Query{State: state})
	if err != nil {
		panic(fmt.Sprintf("reading the gate's status: %v", err))
	}
	return st
}

// heldDecider decides the first image at once but holds that verdict until
// released: a signature pushed meanwhile arrives while the image's first
// decision, made without it, is in flight.
type heldDecider struct {
	inner            gate.Decider
	once             sync.Once
	decided, release chan struct{}
}

func (h *heldDecider) Decide(ctx context.Context, image string) *verify.Decision {
	d := h.inner.Decide(ctx, image)
	first := false
	h.once.Do(func() { first = true })
	if first {
		close(h.decided)
		select {
		case <-h.release:
		case <-ctx.Done():
		}
	}
	return d
}

// TestSignatureDuringFirstVerdict: a signature whose event arrives while
// its image's first verdict (made before it) is in flight and not yet
// recorded is not dropped: the image is checked again once the verdict has
// landed, and passes. (CI saw the event dropped and the image left pending.)
func TestSignatureDuringFirstVerdict(t *testing.T) {
	t.Parallel()
	e := newEnvOn(t, registrytest.New(t, false), time.Minute)
	e.stop()
	held := &heldDecider{inner: e.eng, decided: make(chan struct{}), release: make(chan struct{})}
	e.startWith(held)
	d := e.push("team/app", "v1")
	select {
	case <-held.decided:
	case <-time.After(20 * time.Second):
		t.Fatal("the image was never decided")
	}
	res, err := e.release.SignImage(context.Background(), d.String(), sign.Request{Layout: sign.LayoutLegacy})
	if err != nil {
		t.Fatal(err)
	}
	e.notify(ev{"team/app", res.Signed[0].Attached[0].Digest.String(), oci.LegacySignatureTag(d).TagStr(), ""})
	// Let the signature's event be handled while the first verdict is held.
	time.Sleep(500 * time.Millisecond)
	close(held.release)
	e.waitStateT(t, d, gate.StatePassed)
}
