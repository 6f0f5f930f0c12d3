package attest

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrFutureTime means a predicate says it was made in the future. Nothing
// was signed.
var ErrFutureTime = errors.New("predicate dated in the future")

// clockSkew is how far past this machine's clock a predicate's time may lie;
// verifiers allow the same before they refuse it.
const clockSkew = 5 * time.Minute

// PredicateTime finds when a predicate says it was made, from the fields the
// common predicates carry: a scan's finish time, an SBOM's creation time, a
// build's finish (or start) time, a verification summary's time, cosign's
// custom predicate's timestamp. Verifiers check an attestation's age
// against it (see verify.StatementTime), so it is what Attester checks too.
func PredicateTime(predicate []byte) (time.Time, bool) {
	var p struct {
		Metadata struct {
			ScanFinishedOn string `json:"scanFinishedOn"`
			Timestamp      string `json:"timestamp"`
		} `json:"metadata"`
		CreationInfo struct {
			Created string `json:"created"`
		} `json:"creationInfo"`
		RunDetails struct {
			Metadata struct {
				FinishedOn string `json:"finishedOn"`
				StartedOn  string `json:"startedOn"`
			} `json:"metadata"`
		} `json:"runDetails"`
		Timestamp    string `json:"timestamp"`
		TimeVerified string `json:"timeVerified"`
	}
	if json.Unmarshal(predicate, &p) != nil {
		return time.Time{}, false
	}
	for _, s := range []string{p.Metadata.ScanFinishedOn, p.Metadata.Timestamp, p.CreationInfo.Created,
		p.RunDetails.Metadata.FinishedOn, p.RunDetails.Metadata.StartedOn, p.Timestamp, p.TimeVerified} {
		if t, err := time.Parse(time.RFC3339, s); err == nil && s != "" {
			return t, true
		}
	}
	return time.Time{}, false
}

// checkNotFuture refuses a predicate whose time lies past now by more than
// clockSkew: a verifier measuring its age from that time would find it
// never grows old, and refuses it.
func checkNotFuture(predicate []byte, now time.Time) error {
	at, ok := PredicateTime(predicate)
	if !ok || !at.After(now.Add(clockSkew)) {
		return nil
	}
	return fmt.Errorf("%w: it says it was made %s, after this machine's clock (%s) by more than the %s allowed for clock skew, "+
		"and verifiers checking its age would refuse it; correct the report's date (Trivy: CreatedAt, Grype: descriptor.timestamp, "+
		"SBOM: metadata.timestamp or creationInfo.created) or this machine's clock, and attest again",
		ErrFutureTime, at.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), clockSkew)
}
