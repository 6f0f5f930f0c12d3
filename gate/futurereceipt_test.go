package gate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/gate"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
)

// TestFutureReceipt: a receipt is a shortcut, so it must be at most as
// permissive as what it replaces. One whose timeVerified lies in 2099 would
// never grow older than the policy's maxAge; it is not honoured, and the
// image (unsigned) is verified in full and denied.
func TestFutureReceipt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 50*time.Millisecond)
	bare := e.reg.PushImage(t, "team/future:v1")
	gs, _ := sign.New(e.gateKey, e.client)
	cfg := gate.Config{Registry: e.reg.Host, VerifierID: "https://signet.dev/gate", PolicyName: "lenient", PolicyHash: strings.Repeat("0", 64)}
	at := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	stmt, err := gate.Summary(cfg, gate.Record{Repository: "team/future", Digest: bare.DigestStr()}, nil, "PASSED", at)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := gs.SignStatement(context.Background(), stmt)
	if err != nil {
		t.Fatal(err)
	}
	tg, _ := e.client.Resolve(context.Background(), bare.String())
	if _, err := e.client.AttachBundle(context.Background(), tg, b, sign.BundleAnnotations(policy.VSAPredicateType, time.Now())); err != nil {
		t.Fatal(err)
	}
	d := e.receiptEngine(e.gatePub, 0).Decide(context.Background(), bare.String())
	if d.Allowed || !strings.Contains(receiptMsg(d), "no valid receipt") || !strings.Contains(receiptMsg(d), "in the future") {
		t.Fatalf("a receipt dated 2099: allowed=%v receipt check %q; reason %q", d.Allowed, receiptMsg(d), d.Reason)
	}
}
