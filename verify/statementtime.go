package verify

import (
	"encoding/json"
	"time"
)

// StatementTime finds when a statement's predicate says it was made, from
// the fields the common predicates carry: a scan's finish time, an SBOM's
// creation time, a build's finish time, a verification summary's time. These are signed with the statement.
func StatementTime(raw []byte) (time.Time, bool) {
	var st struct {
		Predicate struct {
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
		} `json:"predicate"`
	}
	if json.Unmarshal(raw, &st) != nil {
		return time.Time{}, false
	}
	p := st.Predicate
	for _, s := range []string{p.Metadata.ScanFinishedOn, p.Metadata.Timestamp, p.CreationInfo.Created,
		p.RunDetails.Metadata.FinishedOn, p.RunDetails.Metadata.StartedOn, p.Timestamp, p.TimeVerified} {
		if t, err := time.Parse(time.RFC3339, s); err == nil && s != "" {
			return t, true
		}
	}
	return time.Time{}, false
}
