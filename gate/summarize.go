package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

func vsaResult(state string) string {
	switch state {
	case StatePassed:
		return "PASSED"
	case StateFailed, StateUnverified:
		return "FAILED"
	}
	return ""
}

// claimSummary decides, in the transaction that records r's verdict, whether
// job id writes the summary of result: when result has none yet and no
// other job claimed it, the claim is id's (mine); resumed says id claimed it
// before (a run of the same job that did not finish). A summary of another
// result still being written (claimed) will be newer than the one recorded,
// so a verdict of the recorded result then needs a summary again, dated
// after it: the claim passes to id, and the other job records nothing.
func (r *Record) claimSummary(id, result string, now time.Time) (mine, resumed bool) {
	switch {
	case result == "":
		return false, false
	case r.summary.result == result && r.summary.job == id:
		return true, true
	case r.summary.result == result && r.summary.job != "":
		return false, false // another job's: it writes it
	case result == r.VSAResult && r.summary.job == "":
		return false, false // recorded, and no other result's summary on its way
	}
	r.summary = summaryClaim{result: result, job: id, at: now}
	return true, false
}

// errNotAttached means a summary could not be attached (the registry
// refused it); its claim is released, for the job's next run to claim.
var errNotAttached = errors.New("the verification summary could not be attached")

// summarize signs and attaches the verification summary j claimed for rec
// and records it. A resumed claim first looks for the summary a run of the
// same job attached before it died (signed with the gate's key, same
// result, same time verified), so it is not attached twice. A summary that
// cannot be attached is released and the error is errNotAttached; one
// attached but not recorded is another error (the job is then run again
// once its lease ends).
func (g *Gate) summarize(ctx context.Context, j *job, rec Record, d *verify.Decision, resumed bool) error {
	c := rec.summary
	digest := ""
	if resumed {
		digest = g.attachedSummary(ctx, rec, c)
	}
	if digest == "" {
		stmt, err := Summary(g.cfg, rec, d, c.result, c.at)
		if err == nil {
			var out []attest.Attested
			if out, err = g.cfg.Attester.AttestImage(ctx, g.ref(rec.Repository, rec.Digest), attest.Request{Statement: stmt}); err == nil && len(out) > 0 {
				digest = out[0].Attached.Digest.String()
			}
		}
		if err != nil {
			g.cfg.Log.Error("attaching a verification summary", "image", rec.key(), "error", err.Error())
			if rerr := g.store.releaseSummary(ctx, j.ID); rerr != nil {
				g.cfg.Log.Error("releasing a summary's claim", "image", rec.key(), "error", rerr.Error())
			}
			return fmt.Errorf("%w: %w", errNotAttached, err)
		}
	}
	_, err := g.store.update(ctx, rec.Repository, rec.Digest, func(r *Record) {
		if r.summary.job == j.ID && r.summary.result == c.result {
			r.VSAResult, r.VSA, r.summary = c.result, digest, summaryClaim{}
		}
	})
	return err
}

// attachedSummary is the digest of the summary of c attached to rec's
// image, or "" when there is none (or the registry cannot say: then it is
// attached again). Only a summary signed with the gate's own key counts:
// anyone who can push to the image can attach one that looks like it, and
// recording that would leave the image without the gate's summary (a
// FAILED one that revokes an earlier PASSED, say).
func (g *Gate) attachedSummary(ctx context.Context, rec Record, c summaryClaim) string {
	if g.own == nil {
		return ""
	}
	res, _ := g.own.VerifyAttestations(ctx, g.ref(rec.Repository, rec.Digest), verify.AttestationRequest{
		PredicateType: policy.VSAPredicateType, TransparencyLog: verify.TlogSkip})
	if res == nil {
		return ""
	}
	for _, s := range res.Signatures {
		if !s.Verified {
			continue
		}
		var st struct {
			Predicate struct {
				Verifier           struct{ ID string } `json:"verifier"`
				TimeVerified       time.Time           `json:"timeVerified"`
				VerificationResult string              `json:"verificationResult"`
			} `json:"predicate"`
		}
		if json.Unmarshal(s.Statement, &st) != nil {
			continue
		}
		p := st.Predicate
		if p.Verifier.ID == g.cfg.VerifierID && p.VerificationResult == c.result && p.TimeVerified.Equal(c.at) {
			return s.Manifest
		}
	}
	return ""
}
