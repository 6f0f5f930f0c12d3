package verify

import (
	"encoding/json"
	"time"

	"github.com/signet-dev/signet/attest"
)

// StatementTime finds when a statement's predicate says it was made, from
// the fields the common predicates carry (see attest.PredicateTime): a
// scan's finish time, an SBOM's creation time, a build's finish time, a
// verification summary's time. These are signed with the statement, but
// they are the signer's word: an attestation's age is measured from a
// trusted time when its bundle carries one (AttestationRequest.MaxAge).
func StatementTime(raw []byte) (time.Time, bool) {
	var st struct {
		Predicate json.RawMessage `json:"predicate"`
	}
	if json.Unmarshal(raw, &st) != nil {
		return time.Time{}, false
	}
	return attest.PredicateTime(st.Predicate)
}
